import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { fawkesHome } from "../local/image.ts";
import { alive } from "../local/proc.ts";
import { whoAmI } from "./history.ts";

/** Who holds an environment's deploy lock, since when, doing what. */
export interface DeployLock {
  stack: string;
  who: string;
  /** The holder's process on `machine`: a lock whose process is gone is stale. */
  pid: number;
  machine: string;
  since: string;
  command: string;
  /** Random, so that a holder recognises its own lock and no other. */
  token: string;
}

/** Another rollout holds the environment: the message names it and how to break a stale lock. */
export class DeployLockedError extends Error {
  constructor(
    readonly lock: DeployLock,
    readonly stale: boolean,
  ) {
    super(
      `stack ${lock.stack} is locked by another rollout: "${lock.command}" by ${lock.who} (pid ${lock.pid} on ${lock.machine}) since ${lock.since}` +
        (stale
          ? `.\nThat process is gone: the lock is stale. Check that no rollout runs, then break it with: fawkes lock break --stack ${lock.stack}`
          : `.\nWait for it to finish (fawkes history --stack ${lock.stack} shows it when it does), or, if it is stuck, stop that process and run: fawkes lock break --stack ${lock.stack}`),
    );
    this.name = "DeployLockedError";
  }
}

export function lockFile(stack: string, home = fawkesHome()): string {
  return join(home, "locks", `${stack}.deploy.json`);
}

export function readDeployLock(stack: string, home = fawkesHome()): { lock: DeployLock; stale: boolean } | undefined {
  const file = lockFile(stack, home);
  if (!existsSync(file)) return undefined;
  let lock: DeployLock;
  try {
    lock = JSON.parse(readFileSync(file, "utf8")) as DeployLock;
  } catch {
    // Half-written by a holder that crashed between create and write: nobody holds it.
    lock = { stack, who: "unknown", pid: 0, machine: hostname(), since: "unknown", command: "unknown (unreadable lock file)", token: "" };
  }
  const stale = lock.machine === hostname() && !(lock.pid > 0 && alive(lock.pid));
  return { lock, stale };
}

/**
 * Takes the environment's deploy lock or throws DeployLockedError. The file is created with
 * O_EXCL: of two commands that start at once, exactly one gets it. A stale lock is never taken
 * over silently; `fawkes lock break` removes it on purpose.
 */
export function acquireDeployLock(stack: string, command: string, home = fawkesHome()): { lock: DeployLock; release: () => void } {
  const file = lockFile(stack, home);
  mkdirSync(join(home, "locks"), { recursive: true });
  const lock: DeployLock = { stack, who: whoAmI(), pid: process.pid, machine: hostname(), since: new Date().toISOString(), command, token: randomBytes(8).toString("hex") };
  // Written whole to a private file, then linked into place: link fails if the lock exists, and
  // nobody ever sees a lock file without its content.
  const tmp = `${file}.${process.pid}.${lock.token}`;
  writeFileSync(tmp, `${JSON.stringify(lock, null, 2)}\n`, { mode: 0o644 });
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const held = readDeployLock(stack, home);
    if (held) throw new DeployLockedError(held.lock, held.stale);
    return acquireDeployLock(stack, command, home);
  } finally {
    rmSync(tmp, { force: true });
  }
  let released = false;
  return {
    lock,
    release: () => {
      if (released) return;
      released = true;
      const now = readDeployLock(stack, home);
      if (now?.lock.token === lock.token) rmSync(file, { force: true });
    },
  };
}

/** Holds the deploy lock while `fn` runs. */
export async function withDeployLock<T>(stack: string, command: string, fn: (lock: DeployLock) => Promise<T>, home = fawkesHome()): Promise<T> {
  const held = acquireDeployLock(stack, command, home);
  try {
    return await fn(held.lock);
  } finally {
    held.release();
  }
}

/** `fawkes lock break`: removes the lock, whoever holds it; returns what it removed. */
export function breakDeployLock(stack: string, home = fawkesHome()): DeployLock | undefined {
  const held = readDeployLock(stack, home);
  if (held) rmSync(lockFile(stack, home), { force: true });
  return held?.lock;
}
