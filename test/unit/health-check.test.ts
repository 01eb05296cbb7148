// One health path that works the same everywhere (issue 16, finding 8): the ALB checks a target
// with Host = its address and port, so the bootstrap's own wait asks exactly that, from the host's
// main address, never loopback nor the metadata service's link-local one, with the catalogue's
// method and statuses (issue 19) and the checkers' User-Agent. The bootstrap's functions run here in
// bash as rendered, with `ip` and `curl` stand-ins on PATH.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { renderHaproxyConfig, renderServerAddresses, serverAddressFile } from "../../src/local/haproxy-config.ts";
import { haproxyPaths, runtimeCommand, serverStats, writeHaproxyFiles } from "../../src/local/haproxy.ts";
import { envLayout, hostSlots } from "../../src/local/layout.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { renderHostImage } from "../../src/render/index.ts";
import { testSumsOfHost } from "../helpers/release-sums.ts";
import { freePort } from "../helpers/serve.ts";

const ROOT = join(import.meta.dirname, "../..");
const dev = loadStack(ROOT, "dev");
const plan = planEnvironment(dev);
const web = plan.hosts.find((h) => h.role === "web")!;
const bootstrap = renderHostImage(web, testSumsOfHost(web)).files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content;
const dir = mkdtempSync(join(tmpdir(), "fawkes-health-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A shell function of the rendered bootstrap, as rendered. */
function fn(name: string): string {
  const m = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?\\n\\}\\n`, "m").exec(bootstrap);
  if (!m) throw new Error(`the bootstrap has no function ${name}`);
  return m[0];
}

/** Runs `body` under the bootstrap's shell options with `ip -4 -o addr show` printing `listing`; curl records its argv and answers `status`. */
async function run(body: string, listing: string, status = "200") {
  const bin = join(dir, `bin-${Math.random().toString(36).slice(2)}`);
  await execa("mkdir", ["-p", bin]);
  writeFileSync(join(bin, "listing"), listing);
  writeFileSync(join(bin, "ip"), `#!/bin/sh\ncat '${bin}/listing'\n`);
  writeFileSync(join(bin, "curl"), `#!/bin/sh\nprintf '%s\\n' "$@" >'${bin}/curl.argv'\nprintf '${status}'\n`);
  chmodSync(join(bin, "ip"), 0o755);
  chmodSync(join(bin, "curl"), 0o755);
  const script = ["set -euo pipefail", 'log() { printf "%s\\n" "$*"; }', 'die() { printf "die: %s\\n" "$*"; exit 1; }', ...["host_addresses", "host_address", "write_host_env", "status_accepted", "check_health"].map(fn), "HEALTH_USER_AGENT=fawkes-health/1", body].join("\n");
  const r = await execa("bash", ["--norc", "--noprofile", "-c", script], { env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir }, extendEnv: false, reject: false, all: true, stdin: "ignore" });
  const argv = (() => {
    try {
      return readFileSync(join(bin, "curl.argv"), "utf8").trim().split("\n");
    } catch {
      return [];
    }
  })();
  return { code: r.exitCode, out: r.all ?? "", curl: argv };
}

/** The blog's health settings as load_app sets them on a web host. */
const BLOG = "APP=blog PORT=8002 HEALTH_PATH=/healthz/ HEALTH_METHOD=GET HEALTH_STATUSES=200-399";

const line = (i: number, dev: string, cidr: string, scope = "global") => `${i}: ${dev}    inet ${cidr} brd 0.0.0.0 scope ${scope} ${dev}\\       valid_lft forever preferred_lft forever`;
// A twin host: the metadata service's address inside the host's own namespace, listed first.
const twin = [line(1, "lo", "127.0.0.1/8", "host"), line(2, "imds0", "169.254.169.254/32", "link"), line(3, "eth0", "10.231.7.11/24")].join("\n");

describe("the bootstrap's health wait", () => {
  it("finds the host's main address, skipping loopback and the metadata service's link-local one", async () => {
    expect((await run("host_address", twin)).out.trim()).toBe("10.231.7.11");
    expect((await run("host_address", [line(1, "lo", "127.0.0.1/8", "host"), line(2, "eth0", "172.31.5.9/20"), line(3, "eth1", "10.0.0.4/24")].join("\n"))).out.trim()).toBe("172.31.5.9");
  });

  it("reads all of ip's output: a long listing never ends it by SIGPIPE under pipefail", async () => {
    const long = [twin, ...Array.from({ length: 20000 }, (_, i) => line(4 + i, `veth${i}`, `10.${(i >> 8) & 255}.${i & 255}.1/24`))].join("\n");
    const r = await run('a=$(host_address); echo "got $a"', long);
    expect(r).toMatchObject({ code: 0 });
    expect(r.out.trim()).toBe("got 10.231.7.11");
  });

  it("asks http://<address>:<port><path> with no Host of its own, as the ALB does, and a checker's User-Agent", async () => {
    const r = await run(`${BLOG} HEALTH_WAIT_SECONDS=5 LOGS=/var/log/fawkes/blog; check_health`, twin);
    expect(r.code, r.out).toBe(0);
    expect(r.curl.at(-1)).toBe("http://10.231.7.11:8002/healthz/");
    expect(r.curl.join(" ")).not.toMatch(/Host|-H/);
    expect(r.curl).toEqual(expect.arrayContaining(["-A", "fawkes-health/1"]));
    expect(r.curl).not.toContain("--head");
    expect(r.out).toContain("blog: GET http://10.231.7.11:8002/healthz/ answered 200");
  });

  it("fails with the URL it asked and the last status, or when the host has no address to be reached at", async () => {
    const bad = await run(`${BLOG} HEALTH_WAIT_SECONDS=1 LOGS=/var/log/fawkes/blog; check_health`, twin, "400");
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("die: blog: GET http://10.231.7.11:8002/healthz/ did not answer 200-399 within 1s, last status 400");
    const none = await run(`${BLOG} HEALTH_WAIT_SECONDS=1 LOGS=/x; check_health`, [line(1, "lo", "127.0.0.1/8", "host"), line(2, "imds0", "169.254.169.254/32", "link")].join("\n"));
    expect(none.code).toBe(1);
    expect(none.out).toContain("no IPv4 address besides loopback and link-local");
  });

  it("counts a 302 healthy under the default statuses (200-399) and unhealthy under statuses \"200\"", async () => {
    expect(web.apps.find((a) => a.name === "blog")!.health.statuses).toBe("200-399");
    expect(bootstrap).toContain("HEALTH_METHOD=GET HEALTH_STATUSES=200-399");
    const healthy = await run(`${BLOG} HEALTH_WAIT_SECONDS=1 LOGS=/x; check_health`, twin, "302");
    expect(healthy.code, healthy.out).toBe(0);
    expect(healthy.out).toContain("answered 302");
    const strict = await run(`${BLOG} HEALTH_STATUSES=200 HEALTH_WAIT_SECONDS=1 LOGS=/x; check_health`, twin, "302");
    expect(strict.code).toBe(1);
    expect(strict.out).toContain("did not answer 200 within 1s, last status 302");
  });

  it("reads statuses as the ALB's matcher does: a list of codes or one range, and no answer (000) never counts", async () => {
    const accepted = async (code: string, statuses: string) => (await run(`status_accepted ${code} ${statuses} && echo yes || echo no`, twin)).out.trim();
    expect(await accepted("204", "200,204")).toBe("yes");
    expect(await accepted("202", "200,204")).toBe("no");
    expect(await accepted("399", "200-399")).toBe("yes");
    expect(await accepted("400", "200-399")).toBe("no");
    expect(await accepted("000", "200-399")).toBe("no");
    expect(await accepted("200", "200")).toBe("yes");
  });

  it("asks HEAD as curl's --head when the catalogue says HEAD", async () => {
    const r = await run(`${BLOG} HEALTH_METHOD=HEAD HEALTH_WAIT_SECONDS=1 LOGS=/x; check_health`, twin);
    expect(r.code, r.out).toBe(0);
    expect(r.curl).toContain("--head");
    expect(r.out).toContain("blog: HEAD http://10.231.7.11:8002/healthz/ answered 200");
  });

  it("writes every address of the host at boot for fawkes-exec, on the twin (the AWS path) and on a local host alike", async () => {
    const twinFile = join(dir, "twin-host.env");
    const r = await run(`HOST_ENV=${twinFile}; write_host_env; cat "$HOST_ENV"`, [twin, line(4, "eth1", "10.231.8.3/24")].join("\n"));
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(twinFile, "utf8")).toBe("FAWKES_HOST_ADDRESSES=10.231.7.11\\,10.231.8.3\n");
    const localFile = join(dir, "local-host.env");
    const local = await run(`HOST_ENV=${localFile}; write_host_env`, [line(1, "lo", "127.0.0.1/8", "host"), line(2, "eth0", "10.231.9.21/24")].join("\n"));
    expect(local.code, local.out).toBe(0);
    expect(readFileSync(localFile, "utf8")).toBe("FAWKES_HOST_ADDRESSES=10.231.9.21\n");
    expect(bootstrap).toMatch(/step host-env\n\s*write_host_env\n[\s\S]*step "\$APP\/hooks"/);
  });

  it("carries no Host of the app's name into the bootstrap any more", () => {
    expect(bootstrap).not.toMatch(/HEALTH_HOST|-H "Host/);
  });
});

describe("HAProxy's health checks, the local stand-in for the ALB's", () => {
  it("reach a server with Host = its address and port, as the ALB's do", async () => {
    const hp = haproxyPaths(join(dir, "haproxy"));
    const blog = web.apps.find((a) => a.name === "blog")!;
    // An address of lo no one else uses, on the app's own port: nothing leaves 127/8.
    const slot = { ...hostSlots(envLayout("dev", "/var/lib/fawkes"), "10.231.9.0/24", plan.hosts, dev.knobs.rollout).find((s) => s.role === "web")!, ip: "127.0.0.77" };
    const hosts: string[] = [];
    const server = createServer((req, res) => {
      hosts.push(req.headers.host ?? "");
      // Like a stock Django app: 400 to a Host it does not know.
      res.writeHead(req.headers.host === `127.0.0.77:${blog.port}` && req.url === blog.health.path ? 200 : 400).end();
    });
    await new Promise<void>((resolve) => server.listen(blog.port, "127.0.0.77", resolve));
    const addresses = serverAddressFile(hp.dir);
    const cfg = renderHaproxyConfig({ plan, slots: [slot], port: await freePort(), socket: hp.socket, addresses });
    writeHaproxyFiles({ [addresses]: renderServerAddresses([slot]), [hp.config]: cfg });
    const haproxy = execa("haproxy", ["-db", "-f", hp.config], { reject: false, all: true, stdin: "ignore", timeout: 30_000 });
    try {
      let status = "";
      for (let i = 0; i < 60 && status !== "UP"; i++) {
        await sleep(100);
        const up = await runtimeCommand(hp.socket, `set server app_blog/${slot.name} state ready`, 500).then(() => true, () => false);
        if (up) status = (await serverStats(hp.socket)).find((r) => r.backend === "app_blog" && r.server === slot.name)?.status ?? "";
      }
      expect(status).toBe("UP");
      expect(new Set(hosts)).toEqual(new Set([`127.0.0.77:${blog.port}`]));
    } finally {
      haproxy.kill("SIGTERM");
      await haproxy;
      server.close();
    }
  });
});
