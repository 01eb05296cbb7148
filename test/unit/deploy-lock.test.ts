import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  acquireDeployLock,
  breakDeployLock,
  DeployLockedError,
  lockFile,
  readDeployLock,
  withDeployLock,
  type DeployLock,
  deployLockOf,
} from "../../src/release/deploy-lock.ts";
import { holdDeployLock } from "../../src/release/deploy-lock-store.ts";

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-lock-"));
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

/** A pid that no process has: one that just exited. */
function deadPid(): number {
  const pid = spawnSync("true").pid;
  if (!pid) throw new Error("could not spawn true");
  return pid;
}

function writeLock(lock: Partial<DeployLock>): DeployLock {
  const full: DeployLock = { stack: "dev", who: "bo@elsewhere", pid: process.ppid, machine: hostname(), since: "2025-01-01T00:00:00.000Z", command: "fawkes release", token: "t0", ...lock };
  mkdirSync(dirname(lockFile("dev", home)), { recursive: true });
  writeFileSync(lockFile("dev", home), JSON.stringify(full));
  return full;
}

function lockedError(fn: () => unknown): DeployLockedError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DeployLockedError) return e;
    throw e;
  }
  throw new Error("expected DeployLockedError, got none");
}

describe("deploy lock", () => {
  it("writes who, pid, machine, since and command", () => {
    const before = Date.now();
    const held = acquireDeployLock("dev", "fawkes release --stack dev", home);
    const onDisk = JSON.parse(readFileSync(lockFile("dev", home), "utf8")) as DeployLock;
    expect(onDisk).toEqual(held.lock);
    expect(onDisk).toMatchObject({ stack: "dev", pid: process.pid, machine: hostname(), command: "fawkes release --stack dev" });
    expect(onDisk.who).toMatch(/.@./);
    expect(Date.parse(onDisk.since)).toBeGreaterThanOrEqual(before - 1000);
    expect(readDeployLock("dev", home)).toEqual({ lock: held.lock, stale: false });
    held.release();
    expect(existsSync(lockFile("dev", home))).toBe(false);
  });

  it("refuses a second rollout, naming the holder, since when, and how to break it", () => {
    const held = acquireDeployLock("dev", "fawkes release", home);
    const e = lockedError(() => acquireDeployLock("dev", "fawkes rollback", home));
    expect(e.stale).toBe(false);
    expect(e.lock).toEqual(held.lock);
    expect(e.message).toContain(held.lock.who);
    expect(e.message).toContain(`since ${held.lock.since}`);
    expect(e.message).toContain('"fawkes release"');
    expect(e.message).toContain("fawkes lock break --stack dev");
    // Other stacks are not held.
    acquireDeployLock("prod", "fawkes release", home).release();
    held.release();
  });

  it("reports a lock whose process is gone as stale, and still refuses it", () => {
    const dead = writeLock({ pid: deadPid() });
    expect(readDeployLock("dev", home)).toEqual({ lock: dead, stale: true });
    const e = lockedError(() => acquireDeployLock("dev", "fawkes release", home));
    expect(e.stale).toBe(true);
    expect(e.message).toContain("bo@elsewhere");
    expect(e.message).toContain("since 2025-01-01T00:00:00.000Z");
    expect(e.message).toContain("the lock is stale");
    expect(e.message).toContain("fawkes lock break --stack dev");
    expect(existsSync(lockFile("dev", home))).toBe(true);
  });

  it("cannot judge a lock held on another machine stale", () => {
    writeLock({ pid: deadPid(), machine: "not-this-machine" });
    expect(readDeployLock("dev", home)?.stale).toBe(false);
  });

  it("reads an unreadable lock file as a stale lock of unknown holder", () => {
    mkdirSync(dirname(lockFile("dev", home)), { recursive: true });
    writeFileSync(lockFile("dev", home), '{"stack":');
    expect(readDeployLock("dev", home)).toMatchObject({ lock: { who: "unknown", pid: 0 }, stale: true });
    expect(lockedError(() => acquireDeployLock("dev", "fawkes release", home)).stale).toBe(true);
  });

  it("breaks a lock on purpose, returning what it removed", () => {
    const dead = writeLock({ pid: deadPid() });
    expect(breakDeployLock("dev", home)).toEqual(dead);
    expect(existsSync(lockFile("dev", home))).toBe(false);
    expect(breakDeployLock("dev", home)).toBeUndefined();
    acquireDeployLock("dev", "fawkes release", home).release();
  });

  it("release() removes only its own lock, once", () => {
    const mine = acquireDeployLock("dev", "fawkes release", home);
    breakDeployLock("dev", home);
    const theirs = writeLock({ since: "2030-01-01T00:00:00.000Z" });
    mine.release();
    expect(readDeployLock("dev", home)?.lock).toEqual(theirs);
    // Same pid as ours, another acquisition: still not ours to remove.
    const again = writeLock({ pid: process.pid });
    mine.release();
    expect(readDeployLock("dev", home)?.lock).toEqual(again);
  });

  it("withDeployLock holds the lock while fn runs and releases it when fn throws", async () => {
    await expect(
      withDeployLock(
        "dev",
        "fawkes release",
        async (lock) => {
          expect(readDeployLock("dev", home)?.lock).toEqual(lock);
          throw new Error("rollout failed");
        },
        home,
      ),
    ).rejects.toThrow("rollout failed");
    expect(existsSync(lockFile("dev", home))).toBe(false);
  });

  it("is the local target's lock behind the one interface: the same file, refused twice, never lost, given back", async () => {
    const lock = deployLockOf({ target: "local", stack: "dev", home });
    expect(lock.where).toBe(lockFile("dev", home));
    const lease = await lock.acquire("fawkes release shop r2 --stack dev");
    expect(readDeployLock("dev", home)?.lock).toEqual(lease.lock);
    await expect(deployLockOf({ target: "local", stack: "dev", home }).acquire("fawkes rollback shop --stack dev")).rejects.toBeInstanceOf(DeployLockedError);
    expect(await lock.read()).toEqual({ lock: lease.lock, stale: false });
    expect(lease.lost.aborted).toBe(false);
    await lease.release();
    expect(existsSync(lockFile("dev", home))).toBe(false);
    // break(seen) removes the holder it was shown, not a later one.
    const first = await lock.acquire("fawkes release shop r2 --stack dev");
    const seen = (await lock.read())!.lock;
    await first.release();
    const second = await lock.acquire("fawkes release shop r3 --stack dev");
    expect(await lock.break(seen)).toBeUndefined();
    expect(await lock.break((await lock.read())!.lock)).toEqual(second.lock);
    expect(await holdDeployLock(lock, "fawkes local up --stack dev", async (l) => l.lock.command)).toBe("fawkes local up --stack dev");
    expect(existsSync(lockFile("dev", home))).toBe(false);
  });
});
