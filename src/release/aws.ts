// `fawkes release --target aws`: the pin, `pulumi up` (a new launch-template version per role whose
// user-data changed; no host is replaced by it), then fawkes drives each role's instance refresh to
// that version through the SDK and records how it ended (src/release/refresh.ts).
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { setTimeout as delay } from "node:timers/promises";
import { execa } from "execa";
import { awsClient } from "../aws/clients.ts";
import { requireAwsReady, type AwsCheckOptions } from "../check/aws.ts";
import { loadStack, setReleasePin } from "../config/index.ts";
import { LocalTargetError } from "../local/fleet.ts";
import { autoScalingFleet, type FleetApi } from "./auto-scaling.ts";
import { deployLockOf } from "./deploy-lock.ts";
import type { DeployLockStore } from "./deploy-lock-store.ts";
import type { HistoryEntry } from "./history.ts";
import { pinUnchanged, type ReleaseRequest } from "./local.ts";
import { recorded, type WorkOutcome } from "./record.ts";
import { refreshRoles, untilGroupsIdle, type DriveOptions, type RoleRefresh } from "./refresh.ts";
import { readStackOutputs, refreshTargets, type StackOutputsReader } from "./stack-outputs.ts";

/** The command that applies a stack: no prompt, no interactive display, its own diff printed. */
export function pulumiUpArgv(stack: string): string[] {
  return ["pulumi", "up", "--stack", stack, "--yes", "--non-interactive", "--diff"];
}

/** Runs `pulumi up`, streaming its lines; a test replaces it with a recording double. */
export type PulumiRunner = (argv: readonly string[], cwd: string, line: (l: string) => void) => Promise<{ exitCode?: number; error?: string }>;

export const runPulumi: PulumiRunner = async (argv, cwd, line) => {
  const [cmd, ...args] = argv;
  const run = execa(cmd!, args, { cwd, reject: false, all: true, stdin: "ignore" });
  run.all?.on("data", (d: Buffer) => {
    for (const l of d.toString().split("\n")) if (l.trim() !== "") line(l);
  });
  const r = await run;
  return r.failed && r.exitCode === undefined ? { error: (r.shortMessage ?? "pulumi did not start").replace(/\s*\n\s*/g, "; ") } : { exitCode: r.exitCode ?? 1 };
};

/** Why a `pulumi up` failed, in words: it could not start (no CLI), or its exit code. */
export function pulumiFailure(r: { exitCode?: number; error?: string }): string {
  return r.error !== undefined ? `could not run pulumi (${r.error}); install the Pulumi CLI` : `pulumi up exited ${r.exitCode}`;
}

/** What an AWS release talks to; tests pass doubles (the fleet: the real edge over a mocked SDK client). */
export interface AwsReleaseDeps {
  pulumi?: PulumiRunner;
  outputs?: StackOutputsReader;
  fleet?: FleetApi;
  clock?: Pick<DriveOptions, "now" | "sleep">;
  /** The check before anything changes asks AWS through this probe, about these resources; default the SDK's, about the program's. */
  awsCheck?: Pick<AwsCheckOptions, "probe" | "resources">;
  /** The --target the commands it prints name: aws, or twin when the twin plays AWS. */
  target?: "aws" | "twin";
  /** The stack's deploy lock; default its item in the stack's lock table (deployLockOf). */
  lock?: DeployLockStore;
}

/**
 * The history's outcome of a release's refreshes. When the role that did not succeed runs what it
 * ran before (rolled back, or never started) and no role before it moved, the pin goes back to
 * `from`: the stack file says what serves. Otherwise the pin stays, and the message says which
 * role runs what (a failed or cancelled refresh leaves the hosts it already replaced).
 */
export function releaseOutcome(results: readonly RoleRefresh[], from: string | undefined, to: string, restorePin: () => void, rollbackCommand: string): WorkOutcome {
  const hostsReplaced = results.flatMap((r) => r.replaced);
  const bad = results.find((r) => r.outcome !== "succeeded" && r.outcome !== "unchanged");
  if (!bad) {
    const note = results.every((r) => r.outcome === "unchanged") ? { failure: "no role's launch template changed: no host was replaced" } : {};
    return { hostsReplaced, result: "succeeded", ...note };
  }
  const result = bad.outcome as Exclude<RoleRefresh["outcome"], "succeeded" | "unchanged">;
  const moved = results.filter((r) => r.outcome === "succeeded");
  if (moved.length === 0 && bad.previousServes) {
    restorePin();
    return { hostsReplaced, result, failure: `${bad.message}. The pin is restored to ${from ?? "(none)"}; the ${bad.role} hosts run what they ran before` };
  }
  const already = moved.length > 0 ? ` ${moved.map((r) => r.role).join(", ")} run ${to} (${moved.map((r) => r.message).join("; ")}).` : "";
  const mixed = bad.previousServes ? "" : ` The ${bad.role} hosts it replaced before it stopped run ${to}, the others ${from ?? "what they ran"}.`;
  return {
    hostsReplaced,
    result,
    failure: `${bad.message}.${already}${mixed} The pin stays at ${to}: release again, or go back everywhere with ${rollbackCommand}`,
  };
}

/** A poll's sleep that ends the rollout's watch once the lock is lost: the refresh AWS runs goes on (auto-rollback on). */
function stopping(lost: AbortSignal, sleep = (seconds: number) => delay(seconds * 1000)): (seconds: number) => Promise<void> {
  return async (seconds) => {
    lost.throwIfAborted();
    await sleep(seconds);
    lost.throwIfAborted();
  };
}

export async function awsRelease(req: ReleaseRequest, opts: { wait?: boolean } = {}, deps: AwsReleaseDeps = {}): Promise<HistoryEntry> {
  const spec = loadStack(req.root, req.stack);
  if (!spec.catalogue.apps.some((a) => a.name === req.app)) throw new LocalTargetError(`no app "${req.app}" in the catalogue`);
  const from = spec.knobs.releases[req.app];
  const rollout = spec.knobs.rollout;
  const readOutputs = deps.outputs ?? readStackOutputs;
  const fleet = deps.fleet ?? autoScalingFleet(awsClient(AutoScalingClient, spec.knobs.region));
  const echo = req.echo ?? (() => {});
  const drive = (progress: (l: string) => void, lost?: AbortSignal): DriveOptions => ({ wait: opts.wait === true, progress, ...deps.clock, ...(lost ? { sleep: stopping(lost, deps.clock?.sleep) } : {}) });
  // The release to roll out must be in the bucket, the secrets in SSM, and so on: else new hosts loop.
  await requireAwsReady({ root: req.root, stack: req.stack, releases: { [req.app]: req.release }, ...deps.awsCheck }, req.kind, echo);
  // Before anything changes: AWS runs one refresh per group, so refuse (or --wait) while another runs.
  const before = refreshTargets(req.stack, await readOutputs(req.stack, req.root));
  await untilGroupsIdle(fleet, before.map((t) => t.groupName), rollout, drive(echo));
  const lock = deps.lock ?? deployLockOf({ target: deps.target ?? "aws", spec });
  return recorded({ stack: req.stack, kind: req.kind, target: "aws", command: req.command, app: req.app, from, to: req.release, lock, ...(req.who !== undefined ? { who: req.who } : {}) }, echo, async (log) => {
    pinUnchanged(req, from);
    const restorePin = () => {
      if (from !== undefined) setReleasePin(req.root, req.stack, req.app, from);
    };
    const pin = setReleasePin(req.root, req.stack, req.app, req.release);
    log.progress(`${pin.file}: ${req.app} pinned to ${req.release}`);
    const r = await (deps.pulumi ?? runPulumi)(pulumiUpArgv(req.stack), req.root, log.progress);
    if (r.exitCode !== 0) {
      restorePin();
      return { hostsReplaced: [], result: "failed", failure: `${pulumiFailure(r)}. The pin is restored to ${from}; no host was replaced (pulumi up makes launch-template versions, fawkes replaces hosts). The run's output: ${log.dir}/rollout.log` };
    }
    // pulumi up is left to finish (Pulumi locks its own state); what fawkes starts after it is not.
    log.lost.throwIfAborted();
    const targets = refreshTargets(req.stack, await readOutputs(req.stack, req.root));
    const results = await refreshRoles(fleet, targets, rollout, drive(log.progress, log.lost));
    return releaseOutcome(results, from, req.release, restorePin, `fawkes rollback ${req.app} --to ${from ?? "RELEASE_ID"} --stack ${req.stack} --target ${deps.target ?? "aws"}`);
  }, req.home);
}
