// The deploy lock on this machine (the local target: one machine, one kernel), and which lock a
// command takes: deployLockOf chooses the file or the stack's DynamoDB item by target.
import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { awsClient } from "../aws/clients.ts";
import type { EnvironmentSpec } from "../config/index.ts";
import { fawkesHome } from "../local/image.ts";
import { alive } from "../local/proc.ts";
import { storesOf } from "../model/index.ts";
import { dynamoDeployLock } from "./deploy-lock-dynamodb.ts";
import { DeployLockedError, DeployLockError, holdDeployLock, type DeployLock, type DeployLockStore } from "./deploy-lock-store.ts";
import { whoAmI } from "./history.ts";

export { DeployLockedError, type DeployLock } from "./deploy-lock-store.ts";

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
  const stale = lock.held !== true && lock.machine === hostname() && !(lock.pid > 0 && alive(lock.pid));
  return { lock, stale };
}

/**
 * Takes the environment's deploy lock or throws DeployLockedError. The file is created with
 * O_EXCL: of two commands that start at once, exactly one gets it. A stale lock is never taken
 * over silently; `fawkes lock break` removes it on purpose.
 */
export function acquireDeployLock(stack: string, command: string, home = fawkesHome(), person?: { who: string; subject?: string }): { lock: DeployLock; release: () => void } {
  const file = lockFile(stack, home);
  mkdirSync(join(home, "locks"), { recursive: true });
  const holder = person ? { who: person.who, pid: 0, held: true as const, ...(person.subject !== undefined ? { heldBy: person.subject } : {}) } : { who: whoAmI(), pid: process.pid };
  const lock: DeployLock = { stack, ...holder, machine: hostname(), since: new Date().toISOString(), command, token: randomBytes(8).toString("hex") };
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
    return acquireDeployLock(stack, command, home, person);
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

/**
 * `fawkes lock take`: a person holds the stack (a migration by hand, a freeze before a launch):
 * every rollout is refused, naming them and why, until they give it back. Throws DeployLockedError
 * when anyone holds it.
 */
export function takeDeployLock(stack: string, who: string, reason: string, home = fawkesHome(), subject?: string): DeployLock {
  return acquireDeployLock(stack, `held by hand: ${reason}`, home, { who, ...(subject !== undefined ? { subject } : {}) }).lock;
}

/**
 * `fawkes lock give-back`: removes a lock a person took; a command's lock is not one to give back
 * (lock break). With `token`, only that hold: one taken since by someone else stays.
 */
export function giveBackDeployLock(stack: string, home = fawkesHome(), token?: string): DeployLock | undefined {
  const held = readDeployLock(stack, home);
  if (!held) return undefined;
  if (token !== undefined && held.lock.token !== token) throw new DeployLockError(`stack ${stack}: the lock changed hands (now held by ${held.lock.who} since ${held.lock.since}); nothing was given back`);
  if (held.lock.held !== true) throw new DeployLockError(`stack ${stack} is locked by a running command ("${held.lock.command}" by ${held.lock.who}), not held by hand: it gives the lock back when it ends; if it died, fawkes lock break --stack ${stack}`);
  rmSync(lockFile(stack, home), { force: true });
  return held.lock;
}

/** Holds the local target's deploy lock (the file) while `fn` runs. */
export async function withDeployLock<T>(stack: string, command: string, fn: (lock: DeployLock) => Promise<T>, home = fawkesHome()): Promise<T> {
  return holdDeployLock(fileDeployLock(stack, home), command, (lease) => fn(lease.lock));
}

/** `fawkes lock break`: removes the lock, whoever holds it; returns what it removed. */
export function breakDeployLock(stack: string, home = fawkesHome()): DeployLock | undefined {
  const held = readDeployLock(stack, home);
  if (held) rmSync(lockFile(stack, home), { force: true });
  return held?.lock;
}

/** The file lock as a DeployLockStore. It is never lost while held: nothing but `lock break` removes it. */
export function fileDeployLock(stack: string, home = fawkesHome()): DeployLockStore {
  return {
    stack,
    where: lockFile(stack, home),
    breakCommand: `fawkes lock break --stack ${stack}`,
    read: async () => readDeployLock(stack, home),
    acquire: async (command) => {
      const held = acquireDeployLock(stack, command, home);
      return { lock: held.lock, lost: new AbortController().signal, release: async () => held.release() };
    },
    break: async (seen) => {
      if (seen && readDeployLock(stack, home)?.lock.token !== seen.token) return undefined;
      return breakDeployLock(stack, home);
    },
  };
}

/** Where a command's deploy lock lives: the stack's target decides, never the command. */
export type DeployLockPlace = { target: "local"; stack: string; home?: string } | { target: "aws" | "twin"; spec: EnvironmentSpec; client?: DynamoDBClient };

/**
 * The deploy lock of a stack on its target: locally the file under FAWKES_HOME; on AWS (and on the
 * twin, whose moto plays AWS) the `deploy` item of the stack's lock table, held with a lease.
 */
export function deployLockOf(place: DeployLockPlace): DeployLockStore {
  if (place.target === "local") return fileDeployLock(place.stack, place.home);
  const { spec } = place;
  const region = spec.knobs.region;
  return dynamoDeployLock({ client: place.client ?? awsClient(DynamoDBClient, region), table: storesOf(spec).lockTable, stack: spec.stack, region, target: place.target });
}
