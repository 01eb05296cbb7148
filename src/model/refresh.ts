// An instance refresh on AWS as fawkes drives it, without the SDK: what to ask of Auto Scaling
// (StartInstanceRefresh's input from the rollout knobs), how long each phase may take, and at each
// poll what to do next. The driver (src/release/refresh.ts) only calls the API and sleeps.
import type { Rollout } from "../config/index.ts";
import { checkpointPercentages, rolloutPolicy } from "./rollout.ts";

/** DescribeInstanceRefreshes' statuses, as AWS documents them. */
export const REFRESH_STATUSES = ["Pending", "InProgress", "Baking", "Successful", "Failed", "Cancelling", "Cancelled", "RollbackInProgress", "RollbackSuccessful", "RollbackFailed"] as const;
export type RefreshStatus = (typeof REFRESH_STATUSES)[number];

/** Statuses of a refresh that is still running: AWS refuses a second one on the group meanwhile. */
export const ACTIVE_REFRESH_STATUSES: readonly RefreshStatus[] = ["Pending", "InProgress", "Baking", "Cancelling", "RollbackInProgress"];

/** How a refresh ended, in the words of the release history. */
export type RefreshOutcome = "succeeded" | "rolled-back" | "failed" | "cancelled";

const OUTCOMES: Partial<Record<RefreshStatus, RefreshOutcome>> = {
  Successful: "succeeded",
  RollbackSuccessful: "rolled-back",
  Failed: "failed",
  RollbackFailed: "failed",
  Cancelled: "cancelled",
};

/** The history's result for a refresh that ended with `status`; undefined while it runs. */
export function outcomeOf(status: RefreshStatus): RefreshOutcome | undefined {
  return OUTCOMES[status];
}

export function isActive(status: RefreshStatus): boolean {
  return ACTIVE_REFRESH_STATUSES.includes(status);
}

/** One refresh of a group as DescribeInstanceRefreshes reports it. */
export interface RefreshView {
  id: string;
  status: RefreshStatus;
  percentageComplete?: number;
  statusReason?: string;
}

/** A role's auto scaling group and the launch-template version a release moves it to. */
export interface RefreshTarget {
  role: string;
  groupName: string;
  launchTemplateId: string;
  /** A version number, never $Latest or $Default: AWS rolls back only to a numbered version. */
  version: string;
}

/** StartInstanceRefresh's input, field for field as the SDK takes it. */
export interface StartRefreshInput {
  AutoScalingGroupName: string;
  Strategy: "Rolling";
  DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: string; Version: string } };
  Preferences: {
    MinHealthyPercentage: number;
    MaxHealthyPercentage: number;
    InstanceWarmup: number;
    CheckpointPercentages: number[];
    CheckpointDelay: number;
    SkipMatching: boolean;
    AutoRollback: boolean;
  };
}

/**
 * A rolling refresh to the target's version with the stack's pacing: canary then batches as
 * checkpoints, each held checkpointDelaySeconds; automatic rollback, which returns the group to
 * the version it ran before (the desired configuration is what makes that possible). SkipMatching
 * is off: every host is rebuilt, phoenix-style, including any left by an earlier failed refresh.
 */
export function startRefreshInput(target: RefreshTarget, rollout: Rollout): StartRefreshInput {
  if (!/^[1-9][0-9]*$/.test(target.version)) throw new RangeError(`launch template version of ${target.groupName} must be a version number, got "${target.version}": AWS rolls back only to a numbered version`);
  return {
    AutoScalingGroupName: target.groupName,
    Strategy: "Rolling",
    DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: target.launchTemplateId, Version: target.version } },
    Preferences: {
      MinHealthyPercentage: rollout.minHealthyPercent,
      MaxHealthyPercentage: rollout.maxHealthyPercent,
      InstanceWarmup: rollout.warmupSeconds,
      CheckpointPercentages: checkpointPercentages(rollout.canaryPercent, rollout.batchPercent),
      CheckpointDelay: rollout.checkpointDelaySeconds,
      SkipMatching: false,
      AutoRollback: true,
    },
  };
}

/** How long each phase of a refresh may take, in seconds, and how often fawkes asks. */
export interface RefreshTiming {
  /** From the start until fawkes asks AWS to roll back. */
  deadlineSeconds: number;
  /** After a rollback began (AWS's or fawkes'), until fawkes stops watching and says so. */
  rollbackSeconds: number;
  /** `--wait`: how long fawkes waits for another refresh of the group to end before it gives up. */
  waitSeconds: number;
  pollSeconds: number;
}

/**
 * From the knobs and the group's size: each batch of the rollout policy may take a boot (the grace
 * period, bootSeconds) plus the warmup; each checkpoint adds its delay; one more boot of slack. A
 * rollback replaces at most as many hosts, with no checkpoints. Polls every quarter warmup, within 5–30 s.
 */
export function refreshTiming(rollout: Rollout, hosts: number): RefreshTiming {
  const batches = rolloutPolicy(Math.max(1, hosts), rollout).steps.length;
  const perBatch = rollout.bootSeconds + rollout.warmupSeconds;
  const checkpoints = checkpointPercentages(rollout.canaryPercent, rollout.batchPercent).length;
  const deadlineSeconds = batches * perBatch + checkpoints * rollout.checkpointDelaySeconds + rollout.bootSeconds;
  return {
    deadlineSeconds,
    rollbackSeconds: batches * perBatch + rollout.bootSeconds,
    waitSeconds: deadlineSeconds,
    pollSeconds: Math.min(30, Math.max(5, Math.round(rollout.warmupSeconds / 4))),
  };
}

/** Where fawkes is in one group's refresh. Times are seconds on the driver's clock. */
export type RefreshState =
  | { phase: "before"; since: number }
  | { phase: "running"; id: string; startedAt: number }
  | { phase: "rolling-back"; id: string; since: number; why: string };

/** What the driver does next. */
export type RefreshAction =
  | { kind: "start" }
  | { kind: "poll"; afterSeconds: number; progress: string }
  | { kind: "rollback"; why: string }
  | { kind: "refuse"; message: string }
  | { kind: "finish"; outcome: RefreshOutcome; message: string };

export interface RefreshRun {
  groupName: string;
  timing: RefreshTiming;
  /** `--wait`: wait (bounded) for another refresh of the group to end instead of refusing. */
  wait: boolean;
}

const percent = (r: RefreshView) => (r.percentageComplete !== undefined ? ` ${r.percentageComplete}%` : "");
const reason = (r: RefreshView) => (r.statusReason ? `: ${r.statusReason}` : "");
const describe = (r: RefreshView) => `${r.status}${percent(r)}${reason(r)}`;

function finish(run: RefreshRun, r: RefreshView, outcome: RefreshOutcome, why?: string): RefreshAction {
  const words: Record<RefreshOutcome, string> = {
    succeeded: "replaced every host",
    "rolled-back": "rolled back: the group runs the launch-template version it ran before",
    failed: "failed",
    cancelled: "was cancelled (not by this command)",
  };
  return { kind: "finish", outcome, message: `${run.groupName}: instance refresh ${r.id} ${words[outcome]}${why ? ` after ${why}` : ""} (${describe(r)})` };
}

/**
 * One step of the state machine: given the state and the group's refreshes (newest first, as
 * DescribeInstanceRefreshes lists them) at time `now`, what to do. The driver applies `started`
 * and `rollbackAsked` after the calls it makes for "start" and "rollback".
 */
export function nextAction(run: RefreshRun, state: RefreshState, seen: readonly RefreshView[], now: number): RefreshAction {
  const { timing } = run;
  if (state.phase === "before") {
    const other = seen.find((r) => isActive(r.status));
    if (!other) return { kind: "start" };
    const waited = now - state.since;
    const what = `another instance refresh (${other.id}, ${describe(other)}) is running on ${run.groupName}`;
    if (!run.wait) return { kind: "refuse", message: `${what}; AWS runs one per group, and starting one would fail. Nothing was changed: run again when it ends, or with --wait to wait for it (at most ${timing.waitSeconds} s)` };
    if (waited >= timing.waitSeconds) return { kind: "refuse", message: `${what} still, after ${Math.round(waited)} s of waiting (--wait waits at most ${timing.waitSeconds} s). Nothing was changed` };
    return { kind: "poll", afterSeconds: timing.pollSeconds, progress: `${what}; waiting for it to end (${Math.round(waited)} of at most ${timing.waitSeconds} s)` };
  }
  const mine = seen.find((r) => r.id === state.id);
  if (state.phase === "running") {
    const elapsed = now - state.startedAt;
    if (mine) {
      const outcome = outcomeOf(mine.status);
      if (outcome) return finish(run, mine, outcome);
      if (mine.status === "RollbackInProgress") {
        // AWS's own automatic rollback (the refresh failed): watch it, for as long as a rollback may take.
        if (elapsed >= timing.deadlineSeconds + timing.rollbackSeconds) {
          return { kind: "finish", outcome: "failed", message: `${run.groupName}: instance refresh ${mine.id} is still rolling back after ${Math.round(elapsed)} s (${describe(mine)}); fawkes stopped watching. aws autoscaling describe-instance-refreshes --auto-scaling-group-name ${run.groupName}` };
        }
      } else if (mine.status !== "Cancelling" && elapsed >= timing.deadlineSeconds) {
        return { kind: "rollback", why: `${Math.round(elapsed)} s without finishing (the deadline from the rollout knobs is ${timing.deadlineSeconds} s)` };
      }
    }
    return { kind: "poll", afterSeconds: timing.pollSeconds, progress: `${run.groupName}: ${mine ? describe(mine) : `refresh ${state.id} not listed yet`}` };
  }
  const elapsed = now - state.since;
  if (mine) {
    const outcome = outcomeOf(mine.status);
    if (outcome) return finish(run, mine, outcome, state.why);
  }
  if (elapsed >= timing.rollbackSeconds) {
    return { kind: "finish", outcome: "failed", message: `${run.groupName}: fawkes asked for a rollback after ${state.why}; still not finished ${Math.round(elapsed)} s later (${mine ? describe(mine) : "not listed"}). aws autoscaling describe-instance-refreshes --auto-scaling-group-name ${run.groupName}` };
  }
  return { kind: "poll", afterSeconds: timing.pollSeconds, progress: `${run.groupName}: rolling back (${mine ? describe(mine) : "not listed yet"})` };
}

/** The state once StartInstanceRefresh answered with `id`. */
export function started(id: string, now: number): RefreshState {
  return { phase: "running", id, startedAt: now };
}

/** The state once RollbackInstanceRefresh was asked for the refresh `id`. */
export function rollbackAsked(id: string, why: string, now: number): RefreshState {
  return { phase: "rolling-back", id, since: now, why };
}
