import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { loadStack } from "../../src/config/index.ts";
import { appLogFiles, envLayout, localDown, localRebuild, localStatus, localUp } from "../../src/local/index.ts";
import { httpStatus } from "../../src/local/health.ts";
import { inHost } from "../../src/local/host.ts";
import { readState } from "../../src/local/state.ts";
import { machineSnapshot, requireRoot, type MachineSnapshot } from "./machine.ts";

const ROOT = join(import.meta.dirname, "../..");
const dev = loadStack(ROOT, "dev");
const staging = loadStack(ROOT, "staging");
const quiet = () => {};

/** GET through the environment's HAProxy on 127.0.0.1 with an app's local host name. */
async function viaLoadBalancer(stack: string, app: string, path = "/") {
  const port = readState(envLayout(stack).state)!.port;
  const r = await httpStatus("127.0.0.1", port, path, `${app}.${stack}.localhost`, 5000);
  return { status: r.status, json: r.status === 200 && r.body.startsWith("{") ? (JSON.parse(r.body) as Record<string, unknown>) : undefined, body: r.body };
}

function hostInit(stack: string, host: string): number {
  return readState(envLayout(stack).state)!.hosts[host]!.init!;
}

/** `local rebuild` of staging-web-2 while a file of shop's pinned artifact is replaced; the file is put back after. */
async function rebuildWithArtifact(ext: "sha256" | "tar.gz", replace: (good: Buffer) => string | Buffer) {
  const file = join(envLayout("staging").artifacts, "shop", `${staging.knobs.releases.shop}.${ext}`);
  const good = readFileSync(file);
  writeFileSync(file, replace(good));
  try {
    return await localRebuild(staging, { host: "staging-web-2" }, quiet);
  } finally {
    writeFileSync(file, good);
  }
}

let before: MachineSnapshot;

beforeAll(async () => {
  requireRoot();
  await localDown(envLayout("dev"));
  await localDown(envLayout("staging"));
  before = await machineSnapshot();
  let out = "";
  const code = await main(["build", "--all"], { out: (t) => (out += t), err: quiet, cwd: ROOT });
  if (code !== 0) throw new Error(`fawkes build --all failed (exit ${code}):\n${out}`);
}, 600_000);

afterAll(async () => {
  if (process.getuid?.() !== 0) return;
  await localDown(envLayout("dev"));
  await localDown(envLayout("staging"));
});

describe.sequential("the local target, end to end", () => {
  it("dev up: every app answers through HAProxy with its name and release id, and status agrees", async () => {
    const r = await localUp(dev, { progress: quiet });
    expect(r.failed).toEqual([]);
    for (const app of ["shop", "blog"]) {
      const res = await viaLoadBalancer("dev", app);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ app, release: dev.knobs.releases[app] });
    }
    const status = await localStatus("dev");
    expect(status.hosts.map((h) => [h.name, h.role, h.healthy, h.running])).toEqual([
      ["dev-web-1", "web", true, true],
      ["dev-worker-1", "worker", true, true],
    ]);
    expect(status.hosts[0]!.rotation).toEqual({ shop: "UP", blog: "UP" });
    expect(status.hosts[0]!.releases).toEqual({ shop: dev.knobs.releases.shop, blog: dev.knobs.releases.blog });
    // The boot gate (pid 1's record and cloud-init's result.json) agrees with cloud-init itself.
    for (const h of ["dev-web-1", "dev-worker-1"]) expect((await inHost(hostInit("dev", h), ["cloud-init", "status", "--wait"])).stdout).toMatch(/^status: done$/m);
    // Unknown host names get the load balancer's 404, like the ALB's default action.
    const port = readState(envLayout("dev").state)!.port;
    expect((await httpStatus("127.0.0.1", port, "/", "nobody.dev.localhost")).status).toBe(404);
  });

  it("answers each app's health path asked as the ALB asks, Host = the host's address, which the Django blog's FAWKES_HOSTS ends with", async () => {
    const { planEnvironment } = await import("../../src/model/index.ts");
    const ip = readState(envLayout("dev").state)!.hosts["dev-web-1"]!.ip;
    for (const app of planEnvironment(dev).hosts.find((h) => h.role === "web")!.apps) {
      const asAlb = await httpStatus(ip, app.port, app.health.path, `${ip}:${app.port}`, 5000);
      expect(asAlb.status, `${app.name}: ${asAlb.body}`).toBe(200);
    }
    // The blog is a stock Django app, ALLOWED_HOSTS from FAWKES_HOSTS: its names and the host's own
    // address (the bootstrap wrote it at boot) on any path, 400 to any other Host.
    const blog = planEnvironment(dev).hosts.find((h) => h.role === "web")!.apps.find((a) => a.name === "blog")!;
    expect((await httpStatus(ip, blog.port, "/", `${ip}:${blog.port}`, 5000)).status).toBe(200);
    expect((await httpStatus(ip, blog.port, "/", blog.hostnames[0]!, 5000)).status).toBe(200);
    expect((await httpStatus(ip, blog.port, "/", blog.localHostnames[0]!, 5000)).status).toBe(200);
    expect((await httpStatus(ip, blog.port, "/", "blog.evil.test", 5000)).status).toBe(400);
  });

  it("boots from exactly the user-data bytes the launch template carries, and the bundle it names, fetched from the store", async () => {
    // As local up rendered them: with the sums of the releases in the machine's store.
    const { envOf } = await import("../../src/local/fleet.ts");
    const { images } = await envOf(dev);
    for (const img of images) {
      const seed = readFileSync(join(envLayout("dev").hostsDir, `dev-${img.role}-1`, "upper/var/lib/cloud/seed/nocloud/user-data"));
      expect(Buffer.compare(seed, Buffer.from(img.userDataBytes))).toBe(0);
      // Stage 1 fetched the bundle through the local store adapter, from where the machine stored it.
      expect(Buffer.compare(readFileSync(join(envLayout("dev").artifacts, img.bundle.key)), Buffer.from(img.bundle.bytes))).toBe(0);
      const log = (await inHost(hostInit("dev", `dev-${img.role}-1`), ["cat", "/var/log/fawkes/bootstrap.log"])).stdout;
      expect(log).toContain(`bundle ${img.bundle.key} verified and unpacked (the local store)`);
    }
  });

  it("gives hosts an address on the environment's bridge and no route anywhere else", async () => {
    const init = hostInit("dev", "dev-web-1");
    const routes = (await inHost(init, ["ip", "-o", "route", "show"])).stdout.trim().split("\n");
    const subnet = readState(envLayout("dev").state)!.subnet;
    expect(routes).toEqual([expect.stringMatching(new RegExp(`^${subnet.replace(/\./g, "\\.")} dev eth0 `))]);
    expect((await inHost(init, ["ip", "-o", "route", "get", "192.0.2.1"])).exitCode).not.toBe(0);
    expect((await inHost(init, ["hostname"])).stdout.trim()).toBe("dev-web-1");
  });

  it("a second up changes nothing that is healthy", async () => {
    const initBefore = hostInit("dev", "dev-web-1");
    const r = await localUp(dev, { progress: quiet });
    expect(r.replaced).toEqual([]);
    expect(r.unchanged.sort()).toEqual(["dev-web-1", "dev-worker-1"]);
    expect(hostInit("dev", "dev-web-1")).toBe(initBefore);
  });

  it("isolates apps: library v1 and v2 side by side; no app user reads another's files or secrets", async () => {
    const shop = await viaLoadBalancer("dev", "shop", "/version");
    const blog = await viaLoadBalancer("dev", "blog", "/version");
    expect(String(shop.json?.version)).toMatch(/^1\./);
    expect(String(blog.json?.version)).toMatch(/^2\./);
    const init = hostInit("dev", "dev-web-1");
    const rel = dev.knobs.releases;
    for (const [user, other] of [["shop", "blog"], ["blog", "shop"]] as const) {
      // Also the machine's store and unpacked releases, mounted into every host for its bootstrap.
      const sum = readFileSync(join(envLayout("dev").artifacts, other, `${rel[other]}.sha256`), "utf8").trim();
      for (const path of [
        `/srv/apps/${other}/releases/${rel[other]}/manifest.json`,
        `/srv/apps/${other}/shared`,
        `/etc/fawkes/apps/${other}/secrets.env`,
        `/var/lib/fawkes/store/${other}/${rel[other]}.tar.gz`,
        `/var/lib/fawkes/unpacked/${sum}/manifest.json`,
      ]) {
        const r = await inHost(init, ["runuser", "-u", user, "--", "cat", path]);
        expect(r.exitCode, `${user} must not read ${path}`).not.toBe(0);
      }
      for (const path of [`/etc/fawkes/apps/${user}/secrets.env`, `/srv/apps/${user}/releases/${rel[user]}/manifest.json`]) {
        expect((await inHost(init, ["runuser", "-u", user, "--", "cat", path])).exitCode, `${user} reads ${path}`).toBe(0);
      }
    }
  });

  it("local logs --follow prints an app's new log lines as requests arrive", async () => {
    const follow = execa("node", [join(ROOT, "bin/fawkes.mjs"), "local", "logs", "shop", "--follow"], { cwd: ROOT, reject: false, timeout: 20_000 });
    let out = "";
    let err = "";
    follow.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    follow.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    try {
      // Bounded: at most 40 rounds of 250 ms until the marked request shows up.
      for (let i = 0; i < 40 && !out.includes("/follow-check-"); i++) {
        await viaLoadBalancer("dev", "shop", `/follow-check-${i}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      follow.kill("SIGTERM");
      await follow;
    }
    expect(out, err).toMatch(/"GET \/follow-check-\d+ HTTP\/1\.[01]" 404 /);
  });

  it("heals itself: a killed gunicorn master is restarted by supervisord and the app answers again", async () => {
    const init = hostInit("dev", "dev-web-1");
    const pid = (await inHost(init, ["supervisorctl", "pid", "shop-web"])).stdout.trim();
    expect(pid).toMatch(/^\d+$/);
    await inHost(init, ["kill", "-KILL", pid]);
    let answered = false;
    for (let i = 0; i < 60 && !answered; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const now = (await inHost(init, ["supervisorctl", "pid", "shop-web"])).stdout.trim();
      answered = now !== pid && /^\d+$/.test(now) && now !== "0" && (await viaLoadBalancer("dev", "shop", "/healthz")).status === 200;
    }
    expect(answered).toBe(true);
  });

  it("keeps shared data across rebuild --all: new hosts beside the old, then the old ones stopped", async () => {
    const put = await httpStatusPost("dev", "shop", "/files/e2e", "written before the rebuild");
    expect(put).toBe(201);
    const before = readState(envLayout("dev").state)!.hosts;
    const entry = await localRebuild(dev, { all: true }, quiet);
    expect(entry).toMatchObject({ kind: "rebuild", result: "succeeded", stack: "dev" });
    expect(entry.hostsReplaced.sort()).toEqual(Object.keys(before).sort());
    const after = readState(envLayout("dev").state)!.hosts;
    // Phoenix: every host is new (another slot, another pid 1); none of the old ones runs.
    expect(Object.keys(after).sort()).toEqual(["dev-web-2", "dev-worker-2"]);
    for (const h of Object.values(before)) expect(existsSync(`/proc/${h.init}`)).toBe(false);
    const read = await viaLoadBalancer("dev", "shop", "/files/e2e");
    expect(read.status).toBe(200);
    expect(read.body).toContain("written before the rebuild");
    expect(appLogFiles("dev", "shop").files.length).toBeGreaterThan(0);
  });

  it("staging up beside dev; a host with a bad artifact checksum stays out of rotation and status names the step", async () => {
    const r = await localUp(staging, { progress: quiet });
    expect(r.failed).toEqual([]);
    expect((await viaLoadBalancer("dev", "shop")).status).toBe(200);
    expect((await viaLoadBalancer("staging", "shop")).status).toBe(200);
    const entry = await rebuildWithArtifact("sha256", () => `${"0".repeat(64)}\n`);
    expect(entry.result).toBe("failed");
    expect(entry.failure).toContain("shop/fetch");
    const status = await localStatus("staging");
    const broken = status.hosts.find((h) => h.failedStep === "shop/fetch")!;
    expect(broken.name).toBe("staging-web-3");
    expect(broken.healthy).toBe(false);
    expect(broken.rotation.shop).toBe("MAINT");
    // The host it was to replace still serves.
    expect(status.hosts.find((h) => h.name === "staging-web-2")).toMatchObject({ healthy: true, running: true, rotation: { shop: "UP", blog: "UP" } });
    for (let i = 0; i < 10; i++) expect((await viaLoadBalancer("staging", "shop")).status).toBe(200);
  });

  it("a tarball damaged under its good .sha256 fails its host at fetch, although the machine had unpacked it before", async () => {
    const entry = await rebuildWithArtifact("tar.gz", (good) => Buffer.concat([good, Buffer.from("damaged")]));
    expect(entry.result).toBe("failed");
    const broken = (await localStatus("staging")).hosts.find((h) => h.failedStep === "shop/fetch" && h.name !== "staging-web-2")!;
    expect(broken.detail).toContain("does not match");
    expect((await localStatus("staging")).hosts.find((h) => h.name === "staging-web-2")).toMatchObject({ healthy: true, running: true });
    // Mended, the tarball is verified again and the next host mounts the machine's copy.
    expect((await localRebuild(staging, { host: "staging-web-2" }, quiet)).result).toBe("succeeded");
    const fresh = (await localStatus("staging")).hosts.find((h) => h.healthy && h.running && h.name !== "staging-web-1")!;
    const log = await inHost(hostInit("staging", fresh.name), ["cat", "/var/log/fawkes/bootstrap.log"]);
    expect(log.stdout).toMatch(/\[shop\/fetch\] release \S+: the machine's copy verified against [0-9a-f]{64}, mounted at \/srv\/apps\/shop\/releases\//);
    for (let i = 0; i < 5; i++) expect((await viaLoadBalancer("staging", "shop")).status).toBe(200);
  });

  it("down of one environment leaves the other serving", async () => {
    await localDown(envLayout("staging"));
    expect(existsSync(envLayout("staging").dir)).toBe(false);
    expect((await viaLoadBalancer("dev", "blog")).status).toBe(200);
  });

  it("down leaves nothing: mounts, namespaces, interfaces and processes as before up", async () => {
    await localDown(envLayout("dev"));
    const after = await machineSnapshot();
    expect(after).toEqual(before);
    const ps = readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .map((e) => {
        try {
          return readFileSync(`/proc/${e}/cmdline`, "utf8").replace(/\0/g, " ");
        } catch {
          return "";
        }
      })
      .join("\n");
    expect(ps).not.toContain(envLayout("dev").dir);
    expect(ps).not.toContain("fawkes-local/init");
  });
});

function httpStatusPost(stack: string, app: string, path: string, body: string): Promise<number> {
  const port = readState(envLayout(stack).state)!.port;
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "PUT", headers: { Host: `${app}.${stack}.localhost`, "Content-Type": "text/plain" }, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}
