// Releases and rollouts on the local target, end to end, as root: a project of its own (a git
// repo made from this one's committed files plus commits for v2 and a broken release), a stack
// `roll` of 3 web hosts and 1 worker, and load on every app through HAProxy during each rollout.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { envLayout, fawkesHome, localDown, localStatus, localUp } from "../../src/local/index.ts";
import { startLoad, type LoadReport, type LoadSample } from "../../src/local/load.ts";
import { readState } from "../../src/local/state.ts";
import { historyFile, lockFile, readDeployLock, readHistory, type HistoryEntry } from "../../src/release/index.ts";
import { makeRolloutProject, type RolloutProject } from "../helpers/rollout-project.ts";
import { appSql } from "../helpers/app-database.ts";
import { downAfterAll, requireRoot } from "./machine.ts";

const STACK = "roll";
const quiet = () => {};
let project: RolloutProject;
let ids: RolloutProject["ids"];
let work = "";
const fawkes = (...argv: string[]) => project.fawkes(...argv);
/** A rollout with a broken canary waits out the health grace (60 s) before it rolls back. */
const ROLLOUT_MS = 300_000;

function port(): number {
  return readState(envLayout(STACK).state)!.port;
}

function load() {
  return startLoad({
    port: port(),
    targets: [
      { name: "shop", host: `shop.${STACK}.localhost`, path: "/" },
      { name: "blog", host: `blog.${STACK}.localhost`, path: "/" },
    ],
    concurrency: 4,
    maxRequests: 200_000,
    maxSeconds: 240,
  });
}

const releaseOf = (s: LoadSample) => (s.status === 200 ? (JSON.parse(s.body) as { release?: string }).release : undefined);

function lastEntry(): HistoryEntry {
  return readHistory(STACK).at(-1)!;
}

function failures(r: LoadReport): string {
  return r.samples
    .filter((s) => s.status === 0 || s.status >= 500)
    .slice(0, 5)
    .map((s) => `${s.target} at ${Math.round(s.at)} ms: ${s.status} ${s.body.slice(0, 80)}`)
    .join("; ");
}

function http(method: string, app: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: port(), path, method, headers: { Host: `${app}.${STACK}.localhost` }, timeout: 5000 }, (res) => {
      let b = "";
      res.on("data", (d) => (b += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function serving(app: string): Promise<string | undefined> {
  const r = await http("GET", app, "/");
  return r.status === 200 ? (JSON.parse(r.body) as { release: string }).release : undefined;
}

/** The blog's database is PostgreSQL on the stack's db host. */
const blogSql = (sql: string) => appSql(STACK, "blog", sql);

beforeAll(async () => {
  requireRoot();
  await localDown(envLayout(STACK));
  rmSync(historyFile(STACK), { force: true });
  rmSync(lockFile(STACK), { force: true });
  project = await makeRolloutProject();
  ids = project.ids;
  work = project.root;
  // 3 web hosts: canary 1, then a batch of 2, new hosts beside the old (maxHealthyPercent 200).
  project.writeStack(STACK, { web: 3, worker: 1 }, { canaryPercent: 30, batchPercent: 70, minHealthyPercent: 100, maxHealthyPercent: 200, warmupSeconds: 2, checkpointDelaySeconds: 1 });
  const up = await localUp(loadStack(work, STACK), { progress: quiet });
  expect(up.failed).toEqual([]);
}, 900_000);

downAfterAll(STACK, () => project);

describe.sequential("releases and rollouts on the local target", () => {
  it("rolls shop v1 -> v2 over 3 web hosts under load with zero failed requests; a second release meanwhile is refused; shared data stays", async () => {
    expect((await http("PUT", "shop", "/files/rollout-e2e", "written under v1")).status).toBe(201);
    const before = readState(envLayout(STACK).state)!.hosts;
    const traffic = load();
    await sleep(500);
    const rollout = fawkes("release", "shop", ids.shop2, "--stack", STACK);
    for (let i = 0; i < 100 && !readDeployLock(STACK); i++) await sleep(100);
    const second = await fawkes("release", "blog", ids.blog2, "--stack", STACK);
    const r = await rollout;
    await sleep(500);
    const report = await traffic.stop();

    expect(r.code, r.err).toBe(0);
    expect(second.code).toBe(3);
    expect(second.err).toMatch(/locked by another rollout: "fawkes release shop .*" by \S+ \(pid \d+ on \S+\) since \d{4}-/);
    expect(report.failed, failures(report)).toBe(0);
    expect(report.byTarget.shop!.requests).toBeGreaterThan(50);
    expect(report.byTarget.blog!.requests).toBeGreaterThan(50);
    const shop = report.samples.filter((s) => s.target === "shop").map(releaseOf);
    expect(shop[0]).toBe(ids.shop1);
    expect(shop.slice(-10)).toEqual(Array(10).fill(ids.shop2));
    // Once every web host runs v2, no v1 answer comes back.
    const lastV1 = shop.lastIndexOf(ids.shop1);
    expect(shop.slice(lastV1 + 1).every((x) => x === ids.shop2)).toBe(true);

    const e = lastEntry();
    expect(e).toMatchObject({ kind: "release", app: "shop", from: ids.shop1, to: ids.shop2, result: "succeeded", target: "local" });
    // Every host runs the shop (web) or its mailer (worker): all four replaced, none patched.
    expect(e.hostsReplaced.sort()).toEqual(Object.keys(before).sort());
    expect(existsSync(join(e.logs, "rollout.log"))).toBe(true);
    expect(readFileSync(join(e.logs, "rollout.log"), "utf8")).toMatch(/web canary: replacing roll-web-\d/);
    expect(readFileSync(join(work, "stacks/Pulumi.roll.yaml"), "utf8")).toContain(`shop: ${ids.shop2}`);
    const status = await localStatus(STACK);
    const running = status.hosts.filter((h) => h.running);
    expect(running).toHaveLength(4);
    for (const h of running) expect(h).toMatchObject({ healthy: true, releases: { shop: ids.shop2 } });
    for (const old of Object.values(before)) expect(existsSync(`/proc/${old.init}`)).toBe(false);
    const file = await http("GET", "shop", "/files/rollout-e2e");
    expect(file).toMatchObject({ status: 200, body: "written under v1" });
  }, ROLLOUT_MS);

  it("a broken release never gets traffic: its canary fails the health gate, the rollout rolls back, zero failed requests, exit 1", async () => {
    const traffic = load();
    await sleep(300);
    const r = await fawkes("release", "blog", ids.blogBroken, "--stack", STACK);
    await sleep(300);
    const report = await traffic.stop();

    expect(r.code).toBe(1);
    expect(r.out).toContain("ROLLED-BACK");
    expect(r.out).toMatch(/what failed: web canary: new host roll-web-\d+ failed at step blog\/health/);
    expect(report.failed, failures(report)).toBe(0);
    expect(new Set(report.samples.filter((s) => s.target === "blog").map(releaseOf))).toEqual(new Set([ids.blog1]));
    const e = lastEntry();
    expect(e).toMatchObject({ kind: "release", app: "blog", from: ids.blog1, to: ids.blogBroken, result: "rolled-back" });
    // The failed host's own logs are kept with the rollout's.
    const kept = readdirSync(e.logs).filter((f) => f.startsWith(`${STACK}-web-`));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(e.logs, kept[0]!, "bootstrap.log"), "utf8")).toContain("FAILED");
    expect(readFileSync(join(work, "stacks/Pulumi.roll.yaml"), "utf8")).toContain(`blog: ${ids.blog1}`);
    expect(await serving("blog")).toBe(ids.blog1);
    const status = await localStatus(STACK);
    expect(status.hosts.filter((h) => h.running && h.role === "web")).toHaveLength(3);
    for (const h of status.hosts.filter((x) => x.running && x.role === "web")) expect(h).toMatchObject({ healthy: true, releases: { blog: ids.blog1 } });
  }, ROLLOUT_MS);

  it("a failing release hook (a migration that raises) stops the rollout before any new host serves; its output is kept", async () => {
    const traffic = load();
    const r = await fawkes("release", "blog", ids.blogBadHook, "--stack", STACK);
    await sleep(300);
    const report = await traffic.stop();
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/what failed: web canary: new host roll-web-\d+ failed at step blog\/hooks/);
    expect(report.failed, failures(report)).toBe(0);
    expect(new Set(report.samples.filter((s) => s.target === "blog").map(releaseOf))).toEqual(new Set([ids.blog1]));
    const e = lastEntry();
    expect(e).toMatchObject({ app: "blog", to: ids.blogBadHook, result: "rolled-back" });
    expect(readFileSync(join(e.logs, `hooks-blog-${ids.blogBadHook}.log`), "utf8")).toContain("RuntimeError: this migration fails on purpose");
    // Not marked done: a fixed release of the same id would run its hooks again.
    expect(existsSync(join(envLayout(STACK).sharedDir, "blog", ".fawkes", `hooks-${ids.blogBadHook}.done`))).toBe(false);
    expect(await serving("blog")).toBe(ids.blog1);
  }, ROLLOUT_MS);

  it("runs the migration exactly once across 3 hosts booting the new release at once, before any of them serves", async () => {
    writeFileSync(join(work, "stacks/Pulumi.roll.yaml"), readFileSync(join(work, "stacks/Pulumi.roll.yaml"), "utf8").replace("canaryPercent: 30", "canaryPercent: 100"));
    const traffic = load();
    const r = await fawkes("release", "blog", ids.blog2, "--stack", STACK);
    await sleep(300);
    const report = await traffic.stop();
    expect(r.code, r.err).toBe(0);
    expect(report.failed, failures(report)).toBe(0);
    expect(r.err).toMatch(/web batch 1\/1: replacing roll-web-\d+, roll-web-\d+, roll-web-\d+/);

    expect(await blogSql("SELECT count(*) FROM fawkes_migration_runs")).toBe("1");
    expect(await blogSql("SELECT count(*) FROM django_migrations WHERE app = 'posts' AND name = '0002_release_runs'")).toBe("1");
    const ranAt = Number(await blogSql("SELECT at FROM fawkes_migration_runs")) * 1000;
    const firstV2 = report.samples.find((s) => s.target === "blog" && releaseOf(s) === ids.blog2);
    expect(firstV2).toBeDefined();
    const loadStarted = Date.now() - report.seconds * 1000;
    expect(ranAt).toBeLessThan(loadStarted + firstV2!.at);
    // The hooks' output is kept: on shared storage, and with the rollout's logs.
    const e = lastEntry();
    expect(readFileSync(join(e.logs, `hooks-blog-${ids.blog2}.log`), "utf8")).toMatch(/python manage\.py migrate --noinput[\s\S]*Applying posts\.0002_release_runs/);
  }, ROLLOUT_MS);

  it("rollback --to a named release serves it; rollback without --to goes back to the previous one", async () => {
    const toV1 = await fawkes("rollback", "shop", "--to", ids.shop1, "--stack", STACK);
    expect(toV1.code, toV1.err).toBe(0);
    expect(await serving("shop")).toBe(ids.shop1);
    const back = await fawkes("rollback", "blog", "--stack", STACK);
    expect(back.code, back.err).toBe(0);
    expect(await serving("blog")).toBe(ids.blog1);
    const kinds = readHistory(STACK).map((e) => `${e.kind} ${e.app} ${e.to} ${e.result}`);
    expect(kinds).toEqual([
      `release shop ${ids.shop2} succeeded`,
      `release blog ${ids.blogBroken} rolled-back`,
      `release blog ${ids.blogBadHook} rolled-back`,
      `release blog ${ids.blog2} succeeded`,
      `rollback shop ${ids.shop1} succeeded`,
      `rollback blog ${ids.blog1} succeeded`,
    ]);
    const h = await fawkes("history", "--stack", STACK, "--app", "blog", "--json");
    expect((JSON.parse(h.out) as HistoryEntry[]).map((e) => e.to)).toEqual([ids.blogBroken, ids.blogBadHook, ids.blog2, ids.blog1]);
    expect(existsSync(join(fawkesHome(), "history", `${STACK}.jsonl`))).toBe(true);
  }, ROLLOUT_MS);
});
