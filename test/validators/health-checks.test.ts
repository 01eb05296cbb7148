// Health checks as the real programs take them (issue 19): the catalogue's statuses decide what is
// healthy for HAProxy (the local ALB) and the local fleet's own probe alike, and a checker's request
// (its User-Agent) leaves no line in HAProxy's log, nginx's access log or gunicorn's, while anyone
// else's request to the same path does. nginx and gunicorn are the golden image's (the hosts'
// versions), each in a throw-away overlay of it, with the blog's site and gunicorn.conf.py as rendered
// (only the socket, the port and the log files moved into a temp dir); HAProxy is this machine's.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type ResultPromise } from "execa";
import { afterAll, describe, expect, test } from "vitest";
import { HEALTH_CHECK_USER_AGENT, loadStack, type Health } from "../../src/config/index.ts";
import { renderHaproxyConfig, renderServerAddresses, serverAddressFile } from "../../src/local/haproxy-config.ts";
import { haproxyPaths, runtimeCommand, serverStats, writeHaproxyFiles } from "../../src/local/haproxy.ts";
import { healthCheck, httpStatus } from "../../src/local/health.ts";
import { envLayout, hostSlots } from "../../src/local/layout.ts";
import { planEnvironment, type EnvironmentPlan } from "../../src/model/index.ts";
import { appEnvironment, gunicornConfFile, nginxSiteFile } from "../../src/render/app-files.ts";
import { goldenImage, inImageRoot, requireImageTools } from "../helpers/image-root.ts";
import { ROOT, scratchDir } from "../helpers/rendered-hosts.ts";
import { freePort } from "../helpers/serve.ts";
import { BASE_ENV, TOOLS } from "../helpers/tools.ts";

const scratch = scratchDir("health-checks");
afterAll(() => scratch.remove());

const dev = loadStack(ROOT, "dev");
const plan = planEnvironment(dev);
const web = plan.hosts.find((h) => h.role === "web")!;
const shop = web.apps.find((a) => a.name === "shop")!;
const blog = web.apps.find((a) => a.name === "blog")!;
const ELB = "ELB-HealthChecker/2.0";

/** The plan with the shop's health changed on every host, as a catalogue saying so would plan it. */
const shopHealth = (change: Partial<Health>): EnvironmentPlan => ({ ...plan, hosts: plan.hosts.map((h) => ({ ...h, apps: h.apps.map((a) => (a.name === "shop" ? { ...a, health: { ...a.health, ...change } } : a)) })) });

/** A stand-in for the shop on `ip`:<its port>: its health path answers 302 (a login redirect, say), anything else 200. */
async function redirectingShop(ip: string): Promise<{ server: Server; seen: Array<{ method: string; ua: string }> }> {
  const seen: Array<{ method: string; ua: string }> = [];
  const server = createServer((req, res) => {
    if (req.url === shop.health.path) seen.push({ method: req.method ?? "", ua: req.headers["user-agent"] ?? "" });
    res.writeHead(req.url === shop.health.path ? 302 : 200, req.url === shop.health.path ? { Location: "/" } : {}).end("ok\n");
  });
  await new Promise<void>((resolve) => server.listen(shop.port, ip, resolve));
  return { server, seen };
}

/** HAProxy with `p`'s config for one web server at `ip`, the shop's server put in rotation; resolves its status once settled. */
async function haproxyWith(p: EnvironmentPlan, ip: string, dir: string) {
  const hp = haproxyPaths(join(dir, "haproxy"));
  const slot = { ...hostSlots(envLayout("dev", dir), "10.231.9.0/24", p.hosts, dev.knobs.rollout).find((s) => s.role === "web")!, ip };
  const addresses = serverAddressFile(hp.dir);
  const port = await freePort();
  writeHaproxyFiles({ [addresses]: renderServerAddresses([slot]), [hp.config]: renderHaproxyConfig({ plan: p, slots: [slot], port, socket: hp.socket, addresses }) });
  const proc = execa("haproxy", ["-db", "-f", hp.config], { reject: false, all: true, stdin: "ignore", timeout: 30_000 });
  let log = "";
  proc.all?.on("data", (d: Buffer) => (log += d.toString()));
  let ready = false;
  for (let i = 0; i < 50 && !ready; i++) {
    await sleep(100);
    ready = await runtimeCommand(hp.socket, `set server app_shop/${slot.name} state ready`, 500).then(() => true, () => false);
  }
  expect(ready, log).toBe(true);
  /** The server's status once its checks had time to rise or fall (200 ms apart, rise 2 / fall 3). */
  const status = async () => {
    await sleep(1500);
    return (await serverStats(hp.socket)).find((r) => r.backend === "app_shop" && r.server === slot.name);
  };
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc;
  };
  return { port, status, log: () => log, stop };
}

describe("a 302 from the health path", () => {
  test("is healthy to HAProxy under the default statuses (200-399), and DOWN under statuses \"200\"; its checks send GET and fawkes' User-Agent", async () => {
    expect(shop.health.statuses).toBe("200-399");
    const ip = "127.0.0.78";
    const app = await redirectingShop(ip);
    try {
      for (const [p, want, check] of [[plan, "UP", "L7OK"], [shopHealth({ statuses: "200" }), "DOWN", "L7STS"]] as const) {
        const h = await haproxyWith(p, ip, scratch.sub(`haproxy-${want}`));
        try {
          const s = await h.status();
          expect(s?.status, h.log()).toBe(want);
          expect(s?.checkStatus).toBe(check);
        } finally {
          await h.stop();
        }
      }
      expect(app.seen.length).toBeGreaterThan(0);
      expect(new Set(app.seen.map((s) => `${s.method} ${s.ua}`))).toEqual(new Set([`GET ${HEALTH_CHECK_USER_AGENT}`]));
    } finally {
      app.server.close();
    }
  });

  test("asks HEAD when the catalogue says so", async () => {
    const ip = "127.0.0.79";
    const app = await redirectingShop(ip);
    try {
      const h = await haproxyWith(shopHealth({ method: "HEAD" }), ip, scratch.sub("haproxy-head"));
      try {
        expect((await h.status())?.status, h.log()).toBe("UP");
      } finally {
        await h.stop();
      }
      expect(new Set(app.seen.map((s) => s.method))).toEqual(new Set(["HEAD"]));
    } finally {
      app.server.close();
    }
  });

  test("is healthy to the local fleet's own probe under the default statuses, and not under statuses \"200\"", async () => {
    const ip = "127.0.0.80";
    const app = await redirectingShop(ip);
    try {
      expect(await healthCheck(ip, shop.port, shop.health)).toEqual({ healthy: true, status: 302 });
      expect(await healthCheck(ip, shop.port, { ...shop.health, statuses: "200" })).toEqual({ healthy: false, status: 302 });
      expect(await healthCheck(ip, shop.port, { ...shop.health, method: "HEAD" })).toEqual({ healthy: true, status: 302 });
      expect(app.seen).toEqual([{ method: "GET", ua: HEALTH_CHECK_USER_AGENT }, { method: "GET", ua: HEALTH_CHECK_USER_AGENT }, { method: "HEAD", ua: HEALTH_CHECK_USER_AGENT }]);
    } finally {
      app.server.close();
    }
  });
});

describe("HAProxy's log", () => {
  test("has no line for its own checks nor for a checker's request to the health path, and one for anyone else's", async () => {
    const ip = "127.0.0.81";
    const app = await redirectingShop(ip);
    try {
      const h = await haproxyWith(plan, ip, scratch.sub("haproxy-log"));
      try {
        expect((await h.status())?.status, h.log()).toBe("UP");
        const front = (ua: string, path = shop.health.path) => httpStatus("127.0.0.1", h.port, path, "shop.dev.localhost", 2000, { headers: { "User-Agent": ua } });
        expect((await front(HEALTH_CHECK_USER_AGENT)).status).toBe(302);
        expect((await front(ELB)).status).toBe(302);
        expect((await front("curl/8.0 (a person)")).status).toBe(302);
        expect((await front(HEALTH_CHECK_USER_AGENT, "/")).status).toBe(200);
        await sleep(300);
        const requests = h.log().split("\n").filter((l) => /"(GET|HEAD) /.test(l));
        // Checks ran all along (the server is UP), yet the only health path line is the person's.
        expect(requests.filter((l) => l.includes(`"GET ${shop.health.path} `)), h.log()).toHaveLength(1);
        // A checker's User-Agent on another path is an ordinary request: logged.
        expect(requests.filter((l) => l.includes('"GET / '))).toHaveLength(1);
        expect(requests).toHaveLength(2);
      } finally {
        await h.stop();
      }
    } finally {
      app.server.close();
    }
  });
});

describe("nginx's and gunicorn's access logs", () => {
  test("have no line for a checker's request to the health path, and one for anyone else's request there", async () => {
    const image = await goldenImage();
    requireImageTools(image, TOOLS.nginx, TOOLS.gunicorn);
    const dir = scratch.sub("access-logs");
    const sock = join(dir, "gunicorn.sock");
    const accessLog = join(dir, "nginx-access.log");
    const port = await freePort();
    const site = nginxSiteFile(web, blog)!.content
      .replace(`unix:${blog.gunicorn!.socket}`, `unix:${sock}`)
      .replace(new RegExp(`^(\\s*)listen ${blog.port};$`, "m"), `$1listen 127.0.0.1:${port};`)
      .replaceAll(`${blog.paths.logs}/nginx-access.log`, accessLog)
      .replaceAll(`${blog.paths.logs}/nginx-error.log`, join(dir, "nginx-error.log"));
    expect(site).toContain(`access_log ${accessLog} combined if=$fawkes_blog_loggable;`);
    writeFileSync(join(dir, "blog.conf"), site);
    writeFileSync(join(dir, "nginx.conf"), [`user root;`, `pid ${dir}/nginx.pid;`, `error_log ${dir}/nginx-error.log;`, "events {}", "http {", "    include /etc/nginx/mime.types;", `    include ${dir}/blog.conf;`, "}", ""].join("\n"));
    // The rendered gunicorn.conf.py as is; only the socket moves (the command line wins over the file).
    const conf = join(dir, "gunicorn.conf.py");
    writeFileSync(conf, gunicornConfFile(web, blog)!.content);
    const source = join(ROOT, "examples/django-blog");
    mkdirSync(join(dir, "db"));
    const env = {
      ...BASE_ENV,
      ...Object.fromEntries(appEnvironment(web, blog).map((v) => [v.name, v.value])),
      DJANGO_SECRET_KEY: "validator-dummy-key", BLOG_DB_DIR: join(dir, "db"), BLOG_STATIC_ROOT: join(dir, "static"), BLOG_MEDIA_ROOT: join(dir, "media"),
    };
    const started = (argv: string[], scratchName: string): ResultPromise => {
      const [cmd, ...args] = inImageRoot(image, join(dir, scratchName), [dir, source], argv);
      return execa(cmd!, args, { env, extendEnv: false, reject: false, all: true, stdin: "ignore", timeout: 60_000 });
    };
    const gunicorn = started([TOOLS.gunicorn.path, "-c", conf, "--bind", `unix:${sock}`, "--workers", "1", "--chdir", source, blog.gunicorn!.wsgi], "image-gunicorn");
    let gunicornOut = "";
    gunicorn.all?.on("data", (d: Buffer) => (gunicornOut += d.toString()));
    const nginx = started([TOOLS.nginx.path, "-c", join(dir, "nginx.conf"), "-p", `${dir}/`, "-e", join(dir, "nginx-error.log"), "-g", "daemon off;"], "image-nginx");
    try {
      const ask = (ua: string, host: string) => httpStatus("127.0.0.1", port, blog.health.path, host, 2000, { headers: { "User-Agent": ua } });
      const address = `10.231.7.11:${blog.port}`;
      let first = 0;
      for (let i = 0; i < 100 && first !== 200; i++) {
        await sleep(100);
        first = existsSync(sock) ? (await ask(HEALTH_CHECK_USER_AGENT, address)).status : 0;
      }
      expect(first, `${nginx.all ?? ""}\n${gunicornOut}`).toBe(200);
      // The checkers as they ask: the ALB's and fawkes' own, by the host's address.
      expect((await ask(ELB, address)).status).toBe(200);
      expect((await ask(HEALTH_CHECK_USER_AGENT, address)).status).toBe(200);
      // A person asking the same path, under the app's name.
      expect((await ask("curl/8.0 (a person)", blog.hostnames[0]!)).status).toBe(200);
      await sleep(300);
      const nginxLines = readFileSync(accessLog, "utf8").split("\n").filter(Boolean);
      expect(nginxLines, readFileSync(accessLog, "utf8")).toHaveLength(1);
      expect(nginxLines[0]).toContain(`"GET ${blog.health.path} HTTP/1.1" 200`);
      expect(nginxLines[0]).toContain('"curl/8.0 (a person)"');
      const gunicornLines = gunicornOut.split("\n").filter((l) => l.includes(`"GET ${blog.health.path} `));
      expect(gunicornLines, gunicornOut).toHaveLength(1);
      expect(gunicornLines[0]).toContain('"curl/8.0 (a person)"');
      expect(gunicornOut).not.toContain(HEALTH_CHECK_USER_AGENT);
      expect(gunicornOut).not.toContain(ELB);
    } finally {
      nginx.kill("SIGTERM");
      gunicorn.kill("SIGTERM");
      await Promise.all([nginx, gunicorn]);
    }
  });
});
