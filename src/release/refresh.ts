// The instance refreshes of a release on AWS, driven by fawkes rather than left to the provider
// (which neither waits for one nor rolls back to the right version): one role after another, each
// to its launch template's new version, progress shown at each poll, a rollback asked for at the
// deadline the knobs give, and each ending reported as it happened. The decisions are the pure state
// machine's (src/model/refresh.ts); this file calls Auto Scaling and sleeps.
import { setTimeout as delay } from "node:timers/promises";
import type { Rollout } from "../config/index.ts";
import { nextAction, refreshTiming, rollbackAsked, startRefreshInput, started, type RefreshOutcome, type RefreshState, type RefreshTarget } from "../model/index.ts";
import { RefreshBusyError, type FleetApi } from "./auto-scaling.ts";

/** Another refresh runs on a group the release would refresh; nothing was changed. */
export class RefreshInProgressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefreshInProgressError";
  }
}

export interface DriveOptions {
  /** Wait (bounded by the knobs) for another refresh to end instead of refusing. */
  wait: boolean;
  progress: (line: string) => void;
  /** Seconds; tests pass a fake clock and sleep. */
  sleep?: (seconds: number) => Promise<void>;
  now?: () => number;
}

/** How one role's refresh ended. `unchanged`: the group already runs that version; nothing to replace. */
export interface RoleRefresh {
  role: string;
  groupName: string;
  outcome: RefreshOutcome | "unchanged";
  /** Instances of the group before the refresh that are gone after it succeeded. */
  replaced: string[];
  /** Every host of the group runs the version it ran before the release (rolled back, or never started). */
  previousServes: boolean;
  message: string;
}

const clock = (o: DriveOptions) => ({ now: o.now ?? (() => Date.now() / 1000), sleep: o.sleep ?? ((s: number) => delay(s * 1000)) });

/** Before anything changes: refuses, or with --wait waits (bounded), while any of the groups has a refresh running. */
export async function untilGroupsIdle(fleet: FleetApi, groups: readonly string[], rollout: Rollout, opts: DriveOptions): Promise<void> {
  const { now, sleep } = clock(opts);
  for (const groupName of groups) {
    const timing = refreshTiming(rollout, (await fleet.group(groupName)).desired);
    const state: RefreshState = { phase: "before", since: now() };
    for (;;) {
      const action = nextAction({ groupName, timing, wait: opts.wait }, state, await fleet.refreshes(groupName), now());
      if (action.kind === "start") break;
      if (action.kind === "refuse") throw new RefreshInProgressError(action.message);
      if (action.kind === "poll") {
        opts.progress(action.progress);
        await sleep(action.afterSeconds);
      }
    }
  }
}

/** Refreshes one role's group to `target.version` and watches it to its end. */
export async function refreshRole(fleet: FleetApi, target: RefreshTarget, rollout: Rollout, opts: DriveOptions): Promise<RoleRefresh> {
  const { now, sleep } = clock(opts);
  const { role, groupName } = target;
  const before = await fleet.group(groupName);
  const result = (outcome: RoleRefresh["outcome"], message: string, replaced: string[] = []): RoleRefresh => ({ role, groupName, outcome, replaced, previousServes: outcome === "rolled-back" || outcome === "unchanged", message });
  if (before.launchTemplateId === target.launchTemplateId && before.version === target.version) {
    return result("unchanged", `${groupName}: already runs launch template ${target.launchTemplateId} version ${target.version}; no host to replace`);
  }
  if (before.desired === 0 && before.instanceIds.length === 0) {
    await fleet.pin(groupName, target.launchTemplateId, target.version);
    return result("succeeded", `${groupName}: no host runs; the group now launches version ${target.version}`);
  }
  const run = { groupName, timing: refreshTiming(rollout, before.desired), wait: opts.wait };
  opts.progress(`${groupName}: ${before.instanceIds.length} host(s) on version ${before.version ?? "?"} -> ${target.version}; rollback at ${run.timing.deadlineSeconds} s, polls every ${run.timing.pollSeconds} s`);
  let state: RefreshState = { phase: "before", since: now() };
  let last = "";
  for (;;) {
    const seen = await fleet.refreshes(groupName, state.phase === "before" ? undefined : state.id);
    const action = nextAction(run, state, seen, now());
    switch (action.kind) {
      case "start":
        try {
          const id = await fleet.start(startRefreshInput(target, rollout));
          state = started(id, now());
          opts.progress(`${groupName}: instance refresh ${id} started`);
        } catch (e) {
          if (!(e instanceof RefreshBusyError)) throw e;
          // Another refresh started between the poll and the call: the next poll decides (wait or refuse).
          opts.progress(e.message);
          await sleep(run.timing.pollSeconds);
        }
        break;
      case "poll":
        if (action.progress !== last) opts.progress(action.progress);
        last = action.progress;
        await sleep(action.afterSeconds);
        break;
      case "rollback":
        if (state.phase !== "running") throw new Error(`rollback asked in phase ${state.phase}`);
        opts.progress(`${groupName}: asking AWS to roll back instance refresh ${state.id} after ${action.why}`);
        await fleet.rollback(groupName);
        state = rollbackAsked(state.id, action.why, now());
        break;
      case "refuse":
        return { ...result("failed", `refused: ${action.message}`), previousServes: true };
      case "finish": {
        if (action.outcome !== "succeeded") return result(action.outcome, action.message);
        const after = await fleet.group(groupName);
        return result("succeeded", action.message, before.instanceIds.filter((i) => !after.instanceIds.includes(i)));
      }
    }
  }
}

/** The release's refreshes: role after role; a role that does not succeed stops the ones after it. */
export async function refreshRoles(fleet: FleetApi, targets: readonly RefreshTarget[], rollout: Rollout, opts: DriveOptions): Promise<RoleRefresh[]> {
  const done: RoleRefresh[] = [];
  for (const t of targets) {
    const r = await refreshRole(fleet, t, rollout, opts);
    opts.progress(r.message);
    done.push(r);
    if (r.outcome !== "succeeded" && r.outcome !== "unchanged") break;
  }
  return done;
}

