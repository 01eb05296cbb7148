import { awsRelease, localRelease, readHistory, rollbackTarget, stacksWithHistory, type HistoryEntry, type ReleaseRequest } from "../../release/index.ts";
import { twinHome, twinRelease } from "../../twin/release.ts";
import { UsageError, type Command, type Io } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

const progress = (io: Io) => (m: string) => io.err(`${m}\n`);

export function requireStack(values: Record<string, unknown>): string {
  if (typeof values.stack !== "string") throw new UsageError("--stack S is required: a rollout names its environment");
  return values.stack;
}

export function targetOf(values: Record<string, unknown>): "local" | "aws" | "twin" {
  const t = values.target ?? "local";
  if (t !== "local" && t !== "aws" && t !== "twin") throw new UsageError(`--target ${String(t)}: must be local, aws or twin`);
  return t;
}

/** A rollout's outcome, for a person (stdout) or a machine (--json). */
export function printOutcome(io: Io, e: HistoryEntry, json: boolean): void {
  if (json) {
    io.out(`${JSON.stringify(e, null, 2)}\n`);
    return;
  }
  const what = e.app ? `${e.kind} of ${e.app} ${e.from ?? "(none)"} -> ${e.to}` : e.kind;
  io.out(`${e.stack}: ${what} ${e.result.toUpperCase()} in ${e.durationSeconds} s; hosts replaced: ${e.hostsReplaced.join(", ") || "none"}\n`);
  if (e.failure) io.out(`  what failed: ${e.failure.split("\n").join("\n  ")}\n`);
  io.out(`  logs: ${e.logs}\n`);
}

/** A release or rollback on the target the flags name; the exit code from its outcome. */
async function rollOut(io: Io, values: Record<string, unknown>, req: ReleaseRequest): Promise<number> {
  const target = targetOf(values);
  const wait = values.wait === true;
  const entry = target === "aws" ? await awsRelease(req, { wait }) : target === "twin" ? await twinRelease(req, { wait }) : await localRelease(req);
  printOutcome(io, entry, values.json === true);
  return entry.result === "succeeded" ? 0 : 1;
}

const RELEASE_EXIT = `Exit codes: 0 the release serves on every host; 1 the rollout failed (rolled back to the
previous release, stopped, or on AWS cancelled by someone else: the message says which and where
the logs are), or the release is not built, or the stack is not up, or on AWS the check before it
found problems (nothing changed; each is named with its fix); 2 usage; 3 refused: another
rollout holds the stack's deploy lock, or on AWS another instance refresh runs on one of the
stack's groups (nothing changed).`;

const RELEASE_FLAGS = `  --stack S         the environment (required)
  --target T        local (default: the stack's hosts on this machine) or aws (fawkes check
                    --target aws for the release about to be pinned, then pulumi up, then fawkes
                    drives each role's instance refresh)
                    or twin (the aws path against the stack's twin, fawkes twin up: moto answers,
                    the twin plays pulumi up and the instance refreshes; its history is the twin's)
  --wait            aws, twin: wait for another instance refresh of the stack's groups to end (at most
                    as long as the rollout knobs allow one) instead of refusing
  --json            print the history entry as JSON`;

export const release: Command = {
  name: "release",
  summary: "Pin APP to RELEASE_ID in a stack and roll it out: canary, health gate, batches, drain; automatic rollback.",
  usage: "fawkes release APP RELEASE_ID --stack S [--target local|aws|twin] [--wait] [--json]",
  help: `Writes the pin to stacks/Pulumi.<S>.yaml and replaces every host that runs APP, never
patching one. Locally, by the stack's rollout knobs: a canary host first, then batches; each new
host boots beside an old one (maxHealthyPercent), runs the release hooks once per release under
a lock on shared storage, must boot healthy, enter HAProxy and pass warmupSeconds without a 5xx;
then the old host is drained (in-flight requests finish) and stopped. checkpointDelaySeconds
holds the rollout after the canary. A failing batch rolls the stack back to the previous release
the same way and restores the pin. On AWS (--target aws): first the checks of fawkes check
--target aws, with the release about to be pinned (its artifact in the bucket, the secrets in
SSM, the certificate, the AMI, ...): any problem stops it before anything changes, each problem
named with its fix, so that no new host fails at boot and is replaced in a loop. Then pulumi up makes a new launch-template
version per role (it replaces no host); then fawkes starts each role's instance refresh to that
version, web then worker, with the same knobs (canary and batches as checkpoints, healthy
percentages, warmup) and auto-rollback to the version the group ran; it shows progress while it
polls, asks AWS to roll back at a deadline the knobs give (bootSeconds, warmup, checkpoints), and
records the ending: succeeded, rolled back (pin restored), failed or cancelled. A role that does
not succeed stops the next.

One rollout per stack at a time (deploy lock: locally a file on this machine; on AWS the stack's
item in its DynamoDB lock table, a 5-minute lease renewed every minute, which every machine sees;
a rollout that loses it stops at its next step). Each is appended to fawkes history.

Flags:
${RELEASE_FLAGS}

${RELEASE_EXIT}`,
  options: { stack: { type: "string", kind: "stack" }, target: { type: "string" }, wait: { type: "boolean" }, json: { type: "boolean" } },
  positionals: { min: 2, max: 2, args: [{ name: "APP", kind: "app" }, { name: "RELEASE_ID", kind: "release" }] },
  async run({ values, positionals }, io) {
    const [app, id] = positionals as [string, string];
    const root = findProjectRoot(io.cwd, values.project);
    const stack = requireStack(values);
    return rollOut(io, values, { root, stack, app, release: id, kind: "release", command: `fawkes release ${app} ${id} --stack ${stack}`, echo: progress(io) });
  },
};

export const rollback: Command = {
  name: "rollback",
  summary: "Roll APP back to the release before the current one (or --to one), as a rollout.",
  usage: "fawkes rollback APP [--to RELEASE_ID] --stack S [--target local|aws|twin] [--wait] [--json]",
  help: `The previous release comes from the stack's history: each rollback goes one release further
back, like Capistrano's release dirs. --to names any built release. The rollback is a rollout
like any other: new hosts, health gate, drain, automatic rollback if it fails.

Flags:
  --to RELEASE_ID   the release to go back to (default: the one before the current)
${RELEASE_FLAGS}

${RELEASE_EXIT}`,
  options: { stack: { type: "string", kind: "stack" }, to: { type: "string", kind: "release" }, target: { type: "string" }, wait: { type: "boolean" }, json: { type: "boolean" } },
  positionals: { min: 1, max: 1, args: [{ name: "APP", kind: "app" }] },
  async run({ values, positionals }, io) {
    const [app] = positionals as [string];
    const root = findProjectRoot(io.cwd, values.project);
    const stack = requireStack(values);
    const { from, to } = rollbackTarget(root, stack, app, typeof values.to === "string" ? values.to : undefined, targetOf(values) === "twin" ? twinHome(stack) : undefined);
    if (from === to) {
      io.out(`${stack}: ${app} is already at ${to}\n`);
      return 0;
    }
    return rollOut(io, values, { root, stack, app, release: to, kind: "rollback", command: `fawkes rollback ${app} --to ${to} --stack ${stack}`, echo: progress(io) });
  },
};

export const history: Command = {
  name: "history",
  summary: "Every release, rollback, rebuild, maintenance switch and run of an environment: who, when, from -> to, hosts, result, duration, logs.",
  usage: "fawkes history [--stack S] [--app A] [--limit N] [--twin] [--json]",
  help: `Reads the history kept on this machine (\${FAWKES_HOME:-/var/lib/fawkes}/history), which outlives
fawkes local down. Without --stack, every stack's. Newest last.

Flags:
  --stack S   one environment
  --twin      the releases run with --target twin on the stack's AWS twin (needs --stack;
              kept in the twin's dir, gone with fawkes twin down)
  --app A     one app's releases, rollbacks, maintenance switches and runs
  --limit N   the last N entries (default all)
  --json      the entries as a JSON array

Exit codes: 0 printed (also when empty); 2 usage.`,
  options: { stack: { type: "string", kind: "stack" }, app: { type: "string", kind: "app" }, limit: { type: "string" }, twin: { type: "boolean" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError(`--limit ${String(values.limit)}: must be a whole number above 0`);
    if (values.twin === true && typeof values.stack !== "string") throw new UsageError("--twin needs --stack S: each twin keeps its own history");
    const stacks = typeof values.stack === "string" ? [values.stack] : stacksWithHistory();
    const home = values.twin === true ? twinHome(stacks[0]!) : undefined;
    let entries = stacks.flatMap((s) => readHistory(s, home)).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    if (typeof values.app === "string") entries = entries.filter((e) => e.app === values.app);
    if (limit !== undefined) entries = entries.slice(-limit);
    if (values.json) {
      io.out(`${JSON.stringify(entries, null, 2)}\n`);
      return 0;
    }
    if (entries.length === 0) io.out("no releases, rollbacks or rebuilds recorded\n");
    for (const e of entries) {
      const run = e.kind === "run";
      const what = run ? `${e.app} on ${e.host}` : e.app ? `${e.app} ${e.from ?? "-"} -> ${e.to}` : "";
      io.out(`${e.startedAt}  ${e.stack.padEnd(10)} ${e.kind.padEnd(11)} ${what.padEnd(34)} ${e.result.padEnd(11)} ${String(e.durationSeconds).padStart(6)} s  ${e.who}\n`);
      io.out(`    $ ${e.command}\n    ${run ? `exit code ${e.exitCode ?? "unknown"}` : `hosts: ${e.hostsReplaced.join(", ") || "none"}; logs: ${e.logs}`}\n`);
      // A run's "exited N" is its exit code, said above.
      if (e.failure && !(run && e.exitCode !== undefined)) io.out(`    ${e.failure.split("\n").join("\n    ")}\n`);
    }
    return 0;
  },
};
