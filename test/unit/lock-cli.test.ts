// `fawkes lock status|break` on both targets: the file on this machine (local), and the `deploy`
// item of the stack's DynamoDB lock table (aws), which another machine holds here through a lock
// instance of its own against the table in memory (test/helpers/lock-table.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { loadStack } from "../../src/config/index.ts";
import { DEPLOY_LOCK_ITEM, LOCK_KEY, storesOf } from "../../src/model/index.ts";
import { acquireDeployLock, dynamoDeployLock, lockFile, readDeployLock } from "../../src/release/index.ts";
import { lockTable } from "../helpers/lock-table.ts";
import { repoProjectCopy } from "../helpers/recipe.ts";

let home = "";
let root = "";
let savedHome: string | undefined;
let locks: ReturnType<typeof lockTable>;
let table = "";

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-lock-cli-home-"));
  savedHome = process.env.FAWKES_HOME;
  process.env.FAWKES_HOME = home;
  root = repoProjectCopy("fawkes-lock-cli-");
  table = storesOf(loadStack(root, "staging")).lockTable;
  locks = lockTable(table, LOCK_KEY);
});
afterAll(() => {
  locks.restore();
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  locks.install();
  locks.items.clear();
});

async function fawkes(...argv: string[]) {
  let out = "";
  let err = "";
  const code = await main([...argv, "--project", root], { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
  return { code, out, err };
}

/** Another machine, whose clock is `skewSeconds` behind: its lease has run out when that is past the lease. */
const otherMachine = (skewSeconds = 0) =>
  dynamoDeployLock({ client: new DynamoDBClient({ region: "eu-west-1" }), table, stack: "staging", now: () => Date.now() - skewSeconds * 1000, holder: { who: "bo@ci-runner", machine: "ci-runner", pid: 7 } });

describe("fawkes lock, local target (the file on this machine)", () => {
  it("status names the holder and the file; break needs --force while the holder lives", async () => {
    expect(await fawkes("lock", "status", "--stack", "dev")).toMatchObject({ code: 0, out: "dev: not locked\n" });
    const held = acquireDeployLock("dev", "fawkes release shop r2 --stack dev", home);
    const status = await fawkes("lock", "status", "--stack", "dev");
    expect(status.code).toBe(1);
    expect(status.out).toBe(`dev: locked by ${held.lock.who} (pid ${process.pid} on ${held.lock.machine}) since ${held.lock.since}: fawkes release shop r2 --stack dev\n  (${lockFile("dev", home)})\n`);
    const refused = await fawkes("lock", "break", "--stack", "dev");
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("dev is locked by a live command:");
    expect(refused.err).toContain("stop it first, or pass --force");
    expect(readDeployLock("dev", home)?.lock).toEqual(held.lock);
    expect(await fawkes("lock", "break", "--stack", "dev", "--force")).toMatchObject({ code: 0, out: `dev: removed the lock of "fawkes release shop r2 --stack dev" by ${held.lock.who} since ${held.lock.since}\n` });
    expect(readDeployLock("dev", home)).toBeUndefined();
    held.release();
  });

  it("--target must be local, aws or twin", async () => {
    expect((await fawkes("lock", "status", "--stack", "dev", "--target", "gcp")).code).toBe(2);
  });
});

describe("fawkes lock --target aws (the item of the stack's DynamoDB lock table)", () => {
  it("status shows who holds it, since when, doing what, and until when the lease holds; --json too", async () => {
    expect(await fawkes("lock", "status", "--stack", "staging", "--target", "aws")).toMatchObject({ code: 0, out: "staging: not locked\n" });
    const held = await otherMachine().acquire("fawkes release blog r2 --stack staging --target aws");
    const status = await fawkes("lock", "status", "--stack", "staging", "--target", "aws");
    expect(status.code).toBe(1);
    expect(status.out).toBe(
      `staging: locked by bo@ci-runner (pid 7 on ci-runner) since ${held.lock.since}: fawkes release blog r2 --stack staging --target aws; lease until ${held.lock.expiresAt}\n  (DynamoDB table ${table}, item ${LOCK_KEY}=${DEPLOY_LOCK_ITEM})\n`,
    );
    const json = await fawkes("lock", "status", "--stack", "staging", "--target", "aws", "--json");
    expect(JSON.parse(json.out)).toEqual({ lock: held.lock, stale: false });
    // This machine's file lock of the same stack is another thing: untouched.
    expect(readDeployLock("staging", home)).toBeUndefined();
    await held.release();
  });

  it("break refuses a lease still renewed unless --force, and removes it with --force", async () => {
    const held = await otherMachine().acquire("fawkes release blog r2 --stack staging --target aws");
    const refused = await fawkes("lock", "break", "--stack", "staging", "--target", "aws");
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(`error: staging is locked by a live command: bo@ci-runner (pid 7 on ci-runner) since ${held.lock.since}: fawkes release blog r2 --stack staging --target aws; lease until ${held.lock.expiresAt}; stop it first, or pass --force\n`);
    expect(locks.items.get(DEPLOY_LOCK_ITEM)?.Owner?.S).toBe(held.lock.token);
    expect(await fawkes("lock", "break", "--stack", "staging", "--target", "aws", "--force")).toMatchObject({ code: 0, out: `staging: removed the lock of "fawkes release blog r2 --stack staging --target aws" by bo@ci-runner since ${held.lock.since}\n` });
    expect(locks.items.size).toBe(0);
    await held.release();
  });

  it("a lease that ran out is shown as such, and broken without --force", async () => {
    const crashed = await otherMachine(400).acquire("fawkes release blog r2 --stack staging --target aws");
    const status = await fawkes("lock", "status", "--stack", "staging", "--target", "aws");
    expect(status.out).toContain("[LEASE RAN OUT: the next command takes it over]");
    expect(await fawkes("lock", "break", "--stack", "staging", "--target", "aws")).toMatchObject({ code: 0 });
    expect(locks.items.size).toBe(0);
    await crashed.release();
  });

  it("no table: said plainly with its name, exit 1", async () => {
    locks.state.exists = false;
    const r = await fawkes("lock", "status", "--stack", "staging", "--target", "aws");
    locks.state.exists = true;
    expect(r.code).toBe(1);
    expect(r.err).toBe(`error: the deploy lock of stack staging is an item of DynamoDB table ${table} (region eu-west-1), which does not exist: the stack makes it (pulumi up --stack staging), or the region or endpoint is not the stack's\n`);
  });
});
