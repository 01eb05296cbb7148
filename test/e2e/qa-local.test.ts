// QA environments per branch on the local target, end to end, as root: a project of its own (this
// repository's committed files as a git repository) with branches feature/a and feature/b whose
// shop differs, each brought up as its own QA stack beside the other, listed, brought down, and
// garbage-collected by TTL (feature/b's head is committed 10 days in the past).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { envLayout, localDown } from "../../src/local/index.ts";
import { readState } from "../../src/local/state.ts";
import { qaStackName } from "../../src/names/index.ts";
import { readRecord, recordFile, removeRecord, type QaListRow, type QaRecord } from "../../src/qa/index.ts";
import { requireRoot } from "./machine.ts";

const REPO = join(import.meta.dirname, "../..");
const A = "feature/a";
const B = "feature/b";
const STACK_A = qaStackName(A);
const STACK_B = qaStackName(B);
/** A QA up builds the shop (venv in the golden image) and boots 2 hosts: well under this. */
const STEP_MS = 300_000;
/** Seconds precision: what git keeps of a committer date. */
const TEN_DAYS_AGO = new Date(Date.now() - 10 * 86400_000).toISOString().replace(/\.\d+Z$/, "Z");

let root = "";

async function fawkes(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main([...argv, "--project", root], { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
  return { code, out, err };
}

/** GET / of an app through its stack's HAProxy, on the port from the environment's state.json. */
function get(app: string, stack: string): Promise<{ status: number; body: string }> {
  const port = readState(envLayout(stack).state)?.port;
  if (port === undefined) return Promise.resolve({ status: 0, body: `${stack} has no state.json` });
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", headers: { Host: `${app}.${stack}.localhost` }, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", (e) => resolve({ status: 0, body: e.message }));
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.end();
  });
}

async function servedRelease(app: string, stack: string): Promise<string | undefined> {
  const r = await get(app, stack);
  return r.status === 200 ? (JSON.parse(r.body) as { release?: string }).release : `HTTP ${r.status}: ${r.body.slice(0, 120)}`;
}

async function cleanUp(): Promise<void> {
  for (const stack of [STACK_A, STACK_B]) {
    await localDown(envLayout(stack));
    removeRecord(stack);
  }
}

async function makeProject(): Promise<void> {
  root = mkdtempSync(join(tmpdir(), "fawkes-qa-"));
  const git = (args: string[], env: Record<string, string> = {}) => execa("git", ["-c", "user.name=fawkes tests", "-c", "user.email=tests@fawkes.test", "-C", root, ...args], { env });
  const shop = join(root, "examples/flask-shop/shop/app.py");
  await execa("sh", ["-c", `git -C '${REPO}' archive HEAD | tar -x -C '${root}'`]);
  await git(["init", "-q", "-b", "master"]);
  await git(["add", "-A"]);
  await git(["commit", "-q", "-m", "base"]);
  for (const [branch, env] of [
    [A, {}],
    [B, { GIT_COMMITTER_DATE: TEN_DAYS_AGO, GIT_AUTHOR_DATE: TEN_DAYS_AGO }],
  ] as const) {
    await git(["checkout", "-q", "-b", branch, "master"]);
    writeFileSync(shop, `${readFileSync(shop, "utf8")}\n# the shop of ${branch}\n`);
    await git(["commit", "-q", "-am", `shop of ${branch}`], env);
  }
  await git(["checkout", "-q", "master"]);
}

beforeAll(async () => {
  requireRoot();
  await cleanUp();
  await makeProject();
}, 120_000);

afterAll(async () => {
  if (process.getuid?.() !== 0) return;
  await cleanUp();
  // The stack files live in the scratch project: removing it removes them.
  if (root) rmSync(root, { recursive: true, force: true });
}, 120_000);

describe.sequential("QA environments per branch on the local target", () => {
  let recordA: QaRecord;
  let recordB: QaRecord;

  it("qa up --branch feature/a --local builds its releases, pins them in its own stack and serves them through its own HAProxy", async () => {
    const r = await fawkes("qa", "up", "--branch", A, "--local");
    expect(r.code, r.err).toBe(0);
    recordA = readRecord(STACK_A)!;
    expect(recordA).toMatchObject({ branch: A, stack: STACK_A, target: "local", ttl: "3d", createdStackFile: true, project: root });
    expect(r.out).toContain(`${STACK_A} (branch ${A} at `);
    expect(r.out).toContain(`shop: http://shop.${STACK_A}.localhost:${readState(envLayout(STACK_A).state)!.port}/ (release ${recordA.releases.shop})`);
    const head = (await execa("git", ["-C", root, "log", "-1", "--format=%cI", A])).stdout;
    expect(Date.parse(recordA.lastPush)).toBe(Date.parse(head));
    expect(readFileSync(join(root, `stacks/Pulumi.${STACK_A}.yaml`), "utf8")).toContain(`shop: ${recordA.releases.shop}`);
    expect(await servedRelease("shop", STACK_A)).toBe(recordA.releases.shop);
    expect(await servedRelease("blog", STACK_A)).toBe(recordA.releases.blog);
  }, STEP_MS);

  it("qa up --branch feature/b --local beside it: a different shop release, each stack serving its own", async () => {
    const r = await fawkes("qa", "up", "--branch", B, "--local");
    expect(r.code, r.err).toBe(0);
    recordB = readRecord(STACK_B)!;
    expect(recordB.releases.shop).not.toBe(recordA.releases.shop);
    expect(recordB.releases.blog).toBe(recordA.releases.blog);
    expect(Date.parse(recordB.lastPush)).toBe(Date.parse(TEN_DAYS_AGO));
    expect(readState(envLayout(STACK_B).state)!.port).not.toBe(readState(envLayout(STACK_A).state)!.port);
    expect(await servedRelease("shop", STACK_B)).toBe(recordB.releases.shop);
    expect(await servedRelease("shop", STACK_A)).toBe(recordA.releases.shop);
  }, STEP_MS);

  it("a second qa up with the same head changes nothing", async () => {
    const files = () => [readFileSync(recordFile(STACK_A), "utf8"), readFileSync(join(root, `stacks/Pulumi.${STACK_A}.yaml`), "utf8"), readFileSync(envLayout(STACK_A).state, "utf8")];
    const before = files();
    const r = await fawkes("qa", "up", "--branch", A, "--local");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(": 0 hosts booted, 2 unchanged, 0 failed");
    expect(files()).toEqual(before);
  }, STEP_MS);

  it("qa list --json shows both, up, with their URLs; feature/b's TTL is spent", async () => {
    const r = await fawkes("qa", "list", "--local", "--json");
    expect(r.code, r.err).toBe(0);
    const rows = (JSON.parse(r.out) as QaListRow[]).filter((x) => x.stack === STACK_A || x.stack === STACK_B);
    expect(rows.map((x) => x.branch).sort()).toEqual([A, B]);
    const a = rows.find((x) => x.branch === A)!;
    const b = rows.find((x) => x.branch === B)!;
    expect(a).toMatchObject({ target: "local", up: true, state: "up", expired: false, urls: recordA.urls });
    expect(a.ttlLeftSeconds).toBeGreaterThan(3 * 86400 - 3600);
    expect(b).toMatchObject({ up: true, expired: true, urls: recordB.urls });
    expect(b.ttlLeftSeconds).toBeLessThan(-6 * 86400);
    const text = await fawkes("qa", "list", "--local");
    // AGE is one or two units ("4m" or "4m 12s"), so it is matched as one or two words.
    expect(text.out).toMatch(new RegExp(`${B.replace("/", "\\/")}\\s+${STACK_B}\\s+local\\s+\\S+(?: \\S+)?\\s+1w 3d ago\\s+-1w \\(expired\\)\\s+up`));
  });

  it("qa down --branch feature/a removes it (hosts, record, stack file) and leaves feature/b serving", async () => {
    const r = await fawkes("qa", "down", "--branch", A, "--local");
    expect(r.code, r.err).toBe(0);
    expect(existsSync(envLayout(STACK_A).dir)).toBe(false);
    expect(readRecord(STACK_A)).toBeUndefined();
    expect(existsSync(join(root, `stacks/Pulumi.${STACK_A}.yaml`))).toBe(false);
    expect(existsSync(join(root, "stacks/Pulumi.qa.yaml"))).toBe(true);
    expect(await servedRelease("shop", STACK_B)).toBe(recordB.releases.shop);
    const again = await fawkes("qa", "down", "--branch", A, "--local");
    expect(again.code).toBe(1);
    expect(again.err).toContain(`no QA environment for branch "${A}"`);
  }, STEP_MS);

  it("qa gc: --dry-run changes nothing; then only the expired feature/b is removed, never the fresh feature/a", async () => {
    const up = await fawkes("qa", "up", "--branch", A, "--local");
    expect(up.code, up.err).toBe(0);
    const records = () => [readFileSync(recordFile(STACK_A), "utf8"), readFileSync(recordFile(STACK_B), "utf8")];
    const before = records();

    const dry = await fawkes("qa", "gc", "--local", "--dry-run", "--ttl", "5d");
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain(`would remove ${STACK_B} (branch ${B})`);
    expect(dry.out).not.toContain(STACK_A);
    expect(records()).toEqual(before);
    expect(await servedRelease("shop", STACK_B)).toBe(recordB.releases.shop);

    const gc = await fawkes("qa", "gc", "--local", "--ttl", "5d", "--json");
    expect(gc.code, gc.err).toBe(0);
    const result = JSON.parse(gc.out) as { expired: QaListRow[]; kept: QaListRow[]; failed: unknown[] };
    expect(result.expired.map((x) => x.stack)).toContain(STACK_B);
    expect(result.expired.map((x) => x.stack)).not.toContain(STACK_A);
    expect(result.failed).toEqual([]);
    expect(readRecord(STACK_B)).toBeUndefined();
    expect(existsSync(envLayout(STACK_B).dir)).toBe(false);
    expect(existsSync(join(root, `stacks/Pulumi.${STACK_B}.yaml`))).toBe(false);
    expect(readRecord(STACK_A)).toBeDefined();
    expect(await servedRelease("shop", STACK_A)).toBe(recordA.releases.shop);
    for (const stack of ["dev", "qa", "staging", "production"]) expect(existsSync(join(root, `stacks/Pulumi.${stack}.yaml`))).toBe(true);
  }, STEP_MS);
});
