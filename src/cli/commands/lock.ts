// `fawkes lock status|break`: a stack's deploy lock, wherever its target keeps it (deployLockOf):
// the file on this machine (local), the `deploy` item of the stack's DynamoDB lock table (aws), or
// that item in the twin's moto (twin).
import { loadStack } from "../../config/index.ts";
import { deployLockOf, giveBackDeployLock, takeDeployLock, whoAmI, type DeployLockStore, type HeldDeployLock } from "../../release/index.ts";
import { twinLayout } from "../../twin/layout.ts";
import { requireTwinState, useTwinEndpoint } from "../../twin/state.ts";
import { reasonProblem } from "../../names/index.ts";
import { UsageError, type Command, type Io } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";
import { requireStack, targetOf } from "./release.ts";

const TARGET_FLAG = `  --target T   local (default: the lock file of this machine's stack), aws (the item of the stack's
               DynamoDB lock table, which every machine that releases to it sees), or twin (that
               item in the stack's AWS twin)`;

/** The lock of the stack the flags name, on their target. The stack must exist to be broken, or to be found on AWS. */
function lockOf(io: Io, values: Record<string, unknown>, mustExist: boolean): DeployLockStore {
  const stack = requireStack(values);
  const target = targetOf(values);
  if (target === "local" && !mustExist) return deployLockOf({ target, stack });
  const spec = loadStack(findProjectRoot(io.cwd, values.project), stack);
  if (target === "local") return deployLockOf({ target, stack });
  if (target === "twin") useTwinEndpoint(requireTwinState(twinLayout(stack), stack), spec.knobs.region);
  return deployLockOf({ target, spec });
}

/** One line: who, where, since when, doing what; on AWS until when the lease holds. */
function holder(held: HeldDeployLock): string {
  const l = held.lock;
  const lease = l.expiresAt !== undefined ? `; lease until ${l.expiresAt}` : "";
  const stale = !held.stale ? "" : l.expiresAt !== undefined ? " [LEASE RAN OUT: the next command takes it over]" : " [STALE: that process is gone]";
  return `locked by ${l.who} (pid ${l.pid} on ${l.machine}) since ${l.since}: ${l.command}${lease}${stale}`;
}

export const lockStatus: Command = {
  name: "lock status",
  summary: "Who holds a stack's deploy lock, since when, doing what (on AWS: until when its lease holds).",
  usage: "fawkes lock status --stack S [--target local|aws|twin] [--json]",
  help: `Flags:
  --stack S    the environment (required)
${TARGET_FLAG}
  --json       the lock as JSON (null when none)

Exit codes: 0 the stack is not locked; 1 it is locked (also when stale, or its lease ran out); 2 usage.`,
  options: { stack: { type: "string", kind: "stack" }, target: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const lock = lockOf(io, values, false);
    const held = await lock.read();
    if (values.json) io.out(`${JSON.stringify(held ?? null, null, 2)}\n`);
    else if (!held) io.out(`${lock.stack}: not locked\n`);
    else io.out(`${lock.stack}: ${holder(held)}\n  (${lock.where})\n`);
    return held ? 1 : 0;
  },
};

export const lockBreak: Command = {
  name: "lock break",
  summary: "Remove a stack's deploy lock left by a command that died.",
  usage: "fawkes lock break --stack S [--target local|aws|twin] [--force]",
  help: `Removes the lock when its holder's process is gone (local) or its lease ran out (AWS: the next
command would take it over anyway). A lock held by a live process, by a process on another machine,
or on AWS under a lease still renewed, is only removed with --force: stop that command first (a
command that loses its lease stops at its next step). Removes the holder it read, never one that
took the lock in between.

Flags:
  --stack S    the environment (required)
${TARGET_FLAG}
  --force      remove a lock whose holder may still run

Exit codes: 0 removed, or there was none; 1 the holder is alive and --force was not given, or the
lock changed hands meanwhile; 2 usage.`,
  options: { stack: { type: "string", kind: "stack" }, target: { type: "string" }, force: { type: "boolean" } },
  async run({ values }, io) {
    const lock = lockOf(io, values, true);
    const held = await lock.read();
    if (!held) {
      io.out(`${lock.stack}: not locked\n`);
      return 0;
    }
    if (!held.stale && !values.force) {
      io.err(`error: ${lock.stack} is ${holder(held).replace(/^locked by/, "locked by a live command:")}; stop it first, or pass --force\n`);
      return 1;
    }
    const removed = await lock.break(held.lock);
    if (!removed) {
      io.err(`error: ${lock.stack}: the lock changed hands while fawkes looked; nothing removed: fawkes lock status --stack ${lock.stack} shows who holds it now\n`);
      return 1;
    }
    io.out(`${lock.stack}: removed the lock of "${removed.command}" by ${removed.who} since ${removed.since}\n`);
    return 0;
  },
};

export const lockTake: Command = {
  name: "lock take",
  summary: "Hold a stack by hand (a freeze, a migration by hand): every rollout is refused, naming you and why, until you give it back.",
  usage: "fawkes lock take --stack S --reason TEXT",
  help: `Takes the stack's deploy lock on this machine for a person, not a command: it is never stale,
and stays until fawkes lock give-back (or, by an admin, fawkes lock break). Releases, rollbacks,
rebuilds and maintenance switches are refused meanwhile with who holds it, since when and why.
The local target's lock (the file on this machine).

Flags:
  --stack S       the environment (required)
  --reason TEXT   why, shown to whoever is refused (required)

Exit codes: 0 taken; 3 someone or something holds it already (nothing changed); 2 usage.`,
  options: { stack: { type: "string", kind: "stack" }, reason: { type: "string" } },
  async run({ values }, io) {
    const stack = requireStack(values);
    const reason = reasonOf(values.reason);
    const lock = takeDeployLock(stack, whoAmI(), reason);
    io.out(`${stack}: held by ${lock.who} since ${lock.since} (${reason}); give it back with: fawkes lock give-back --stack ${stack}\n`);
    return 0;
  },
};

export const lockGiveBack: Command = {
  name: "lock give-back",
  summary: "Give back a stack held by hand (fawkes lock take).",
  usage: "fawkes lock give-back --stack S",
  help: `Removes a lock a person took. A running command's lock is not given back this way: it ends
with its command (fawkes lock break removes one whose command died).

Flags:
  --stack S   the environment (required)

Exit codes: 0 given back, or nobody held it; 1 a running command holds it; 2 usage.`,
  options: { stack: { type: "string", kind: "stack" } },
  async run({ values }, io) {
    const stack = requireStack(values);
    const lock = giveBackDeployLock(stack);
    io.out(lock ? `${stack}: given back (held by ${lock.who} since ${lock.since}: ${lock.command})\n` : `${stack}: not locked\n`);
    return 0;
  },
};

/** A reason is shown in messages and pages: one line of text, bounded. */
function reasonOf(value: unknown): string {
  if (typeof value !== "string") throw new UsageError("--reason TEXT is required: it tells whoever is refused why");
  const problem = reasonProblem(value);
  if (problem !== undefined) throw new UsageError(`--reason: ${problem}`);
  return value.trim();
}
