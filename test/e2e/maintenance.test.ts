// Maintenance mode on the local target, end to end, as root: a stack of its own (`maint`, one web
// host) in a project of its own; shop put in maintenance answers its 503 page through HAProxy
// while blog serves and shop's host keeps running and passing HAProxy's checks; the state
// survives a rebuild of the web host and an idempotent up; `off` brings shop back.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { loadStack } from "../../src/config/index.ts";
import { envLayout, localDown, localStatus } from "../../src/local/index.ts";
import { httpStatus } from "../../src/local/health.ts";
import { haproxyPaths, runtimeCommand, serverStats } from "../../src/local/haproxy.ts";
import { readState } from "../../src/local/state.ts";
import { maintenancePage } from "../../src/maintenance/index.ts";
import { readHistory } from "../../src/release/index.ts";
import { requireRoot } from "./machine.ts";

const REPO = join(import.meta.dirname, "../..");
const STACK = "maint";
const quiet = () => {};
let root = "";
/** The history outlives the stack: only this run's entries count. */
const since = new Date().toISOString();

async function fawkes(...argv: string[]) {
  let out = "";
  let err = "";
  const code = await main([...argv, "--project", root], { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
  return { code, out, err };
}

const port = () => readState(envLayout(STACK).state)!.port;

/** One GET through the stack's HAProxy on 127.0.0.1 with a Host header: status, headers, body. */
function get(host: string, path = "/"): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: port(), path, method: "GET", headers: { Host: host }, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${host}${path}: no answer within 5 s`)));
    req.on("error", reject);
    req.end();
  });
}

const appOf = (body: string) => (JSON.parse(body) as { app?: string }).app;

/** Shop's web host: running, healthy by fawkes, UP in both backends, answering shop directly. */
async function expectShopHostServing(): Promise<string> {
  const status = await localStatus(STACK);
  const web = status.hosts.filter((h) => h.role === "web");
  expect(web).toHaveLength(1);
  const host = web[0]!;
  expect([host.running, host.healthy]).toEqual([true, true]);
  expect(host.rotation).toEqual({ shop: "UP", blog: "UP" });
  // HAProxy's own checks still pass: the server's last check is an L7 OK.
  const rows = (await serverStats(haproxyPaths(envLayout(STACK).haproxyDir).socket)).filter((s) => s.server === host.name);
  for (const r of rows) expect([r.backend, r.status, r.checkStatus]).toEqual([r.backend, "UP", "L7OK"]);
  // The host itself serves shop: only the load balancer answers the page.
  const spec = loadStack(root, STACK);
  const shop = spec.catalogue.apps.find((a) => a.name === "shop")!;
  expect((await httpStatus(host.ip, shop.port, "/", `shop.${spec.knobs.domain}`, 5000)).status).toBe(200);
  return host.name;
}

async function expectShopInMaintenance(): Promise<void> {
  for (const name of [`shop.${STACK}.localhost`, `shop.${STACK}.fawkes.test`]) {
    const r = await get(name);
    expect(r.status, name).toBe(503);
    expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(r.headers["retry-after"]).toBe("300");
    expect(r.body).toBe(maintenancePage("shop"));
  }
  const blog = await get(`blog.${STACK}.localhost`);
  expect(blog.status).toBe(200);
  expect(appOf(blog.body)).toBe("blog");
}

beforeAll(async () => {
  requireRoot();
  await localDown(envLayout(STACK));
  let out = "";
  const code = await main(["build", "--all"], { out: (t) => (out += t), err: quiet, cwd: REPO });
  if (code !== 0) throw new Error(`fawkes build --all failed (exit ${code}):\n${out}`);
  // A project of its own: this repository's catalogue and a stack `maint` with dev's pins.
  root = mkdtempSync(join(tmpdir(), "fawkes-maint-e2e-"));
  cpSync(join(REPO, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
  cpSync(join(REPO, "image"), join(root, "image"), { recursive: true });
  cpSync(join(REPO, "examples"), join(root, "examples"), { recursive: true });
  mkdirSync(join(root, "stacks"));
  const pins = loadStack(REPO, "dev").knobs.releases;
  writeFileSync(
    join(root, "stacks", `Pulumi.${STACK}.yaml`),
    `# ${STACK}: the maintenance tests' stack. Only knobs.
config:
  aws:region: eu-west-1
  fawkes:domain: ${STACK}.fawkes.test
  fawkes:fleet:
    web: { min: 1, max: 2, desired: 1 }
    worker: { min: 0, max: 1, desired: 0 }
  fawkes:releases:
    shop: ${pins.shop}
    blog: ${pins.blog}
  fawkes:rollout:
    warmupSeconds: 0
    checkpointDelaySeconds: 0
`,
  );
}, 600_000);

afterAll(async () => {
  if (process.getuid?.() !== 0) return;
  await localDown(envLayout(STACK));
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.sequential("maintenance mode on the local target", () => {
  it("up: both apps serve", async () => {
    const r = await fawkes("local", "up", "--stack", STACK);
    expect(r.code, r.err).toBe(0);
    for (const app of ["shop", "blog"]) {
      const res = await get(`${app}.${STACK}.localhost`);
      expect(res.status).toBe(200);
      expect(appOf(res.body)).toBe(app);
    }
  }, 600_000);

  it("on: shop answers its 503 page on every name, blog serves, shop's host keeps running and passing checks", async () => {
    const r = await fawkes("maintenance", "on", "shop", "--stack", STACK);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`${STACK}: shop is in maintenance: the local load balancer answers its maintenance page (503); its hosts keep running`);
    await expectShopInMaintenance();
    // A few of HAProxy's check intervals (500 ms) later, the host is still UP: checks go on.
    await sleep(2000);
    await expectShopHostServing();
    expect(readHistory(STACK).at(-1)).toMatchObject({ kind: "maintenance", target: "local", app: "shop", command: `fawkes maintenance on shop --stack ${STACK}`, result: "succeeded", hostsReplaced: [] });
    const s = await fawkes("maintenance", "status", "--stack", STACK, "--json");
    expect(JSON.parse(s.out)).toEqual({ stack: STACK, apps: ["shop"], local: { up: true, apps: ["shop"] } });
    const again = await fawkes("maintenance", "on", "shop", "--stack", STACK);
    expect([again.code, again.out]).toEqual([0, `${STACK}: shop already is in maintenance; the local load balancer agrees\n`]);
  }, 60_000);

  it("survives a rebuild of the web host and an up (which reloads nothing), still only for shop", async () => {
    const before = (await localStatus(STACK)).hosts.find((h) => h.role === "web")!.name;
    const r = await fawkes("local", "rebuild", "--host", before, "--stack", STACK);
    expect(r.code, r.err).toBe(0);
    const after = await expectShopHostServing();
    expect(after).not.toBe(before);
    await expectShopInMaintenance();
    const worker = async () => /^Pid: (\d+)$/m.exec(await runtimeCommand(haproxyPaths(envLayout(STACK).haproxyDir).socket, "show info"))?.[1];
    const pid = await worker();
    const up = await fawkes("local", "up", "--stack", STACK);
    expect(up.code, up.err).toBe(0);
    expect(await worker()).toBe(pid);
    await expectShopInMaintenance();
  }, 300_000);

  it("off: shop serves again from its hosts, blog still serves", async () => {
    const r = await fawkes("maintenance", "off", "shop", "--stack", STACK);
    expect(r.code, r.err).toBe(0);
    for (const app of ["shop", "blog"]) {
      const res = await get(`${app}.${STACK}.localhost`);
      expect(res.status).toBe(200);
      expect(appOf(res.body)).toBe(app);
    }
    expect(loadStack(root, STACK).knobs.maintenance).toEqual([]);
    expect(readHistory(STACK).filter((e) => e.kind === "maintenance" && e.startedAt >= since).map((e) => e.command)).toEqual([`fawkes maintenance on shop --stack ${STACK}`, `fawkes maintenance off shop --stack ${STACK}`]);
  }, 60_000);
});
