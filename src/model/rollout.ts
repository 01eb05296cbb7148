// The rollout policy from the stack's knobs, shared by AWS's instance refresh and the local target.
import type { Rollout } from "../config/index.ts";

/**
 * Checkpoints of a rollout: the canary share first, then one batch at a time, ending at 100
 * (AWS replaces every host only when the last checkpoint is 100). canary 10, batch 30 gives
 * [10, 40, 70, 100]; canary 50, batch 100 gives [50, 100].
 */
export function checkpointPercentages(canaryPercent: number, batchPercent: number): number[] {
  if (!(canaryPercent >= 1 && canaryPercent <= 100 && batchPercent >= 1 && batchPercent <= 100)) {
    throw new RangeError(`canary and batch must be percentages in 1..100, got ${canaryPercent} and ${batchPercent}`);
  }
  const out: number[] = [];
  for (let p = canaryPercent; p < 100; p += batchPercent) out.push(p);
  out.push(100);
  return out;
}

/** One batch of a rollout: how many hosts are replaced together, and whether a checkpoint follows. */
export interface RolloutStep {
  hosts: number;
  /** A pause of checkpointDelaySeconds after this batch, with the new hosts watched. */
  checkpoint: boolean;
}

export interface RolloutPolicy {
  /** Hosts the role has when nothing is being replaced (the fleet's desired size). */
  size: number;
  /** New hosts that may run beside the old ones (maxHealthyPercent above 100). */
  surge: number;
  /** Hosts that may be out of service at once (minHealthyPercent below 100). */
  maxUnavailable: number;
  steps: RolloutStep[];
}

/** The knobs leave no room to replace any host: say which and what would work. */
export class RolloutPolicyError extends Error {}

/**
 * How a role of `size` hosts is replaced: the checkpoints of AWS's instance refresh turned into
 * host counts (the canary is at least one host), each split so that no batch needs more than the
 * surge plus the hosts allowed out of service. One host with maxHealthyPercent 150 still gets a
 * surge of one, as AWS launches at least one new instance.
 */
export function rolloutPolicy(size: number, r: Rollout): RolloutPolicy {
  const surge = r.maxHealthyPercent > 100 && size > 0 ? Math.max(1, Math.floor((size * (r.maxHealthyPercent - 100)) / 100)) : 0;
  const maxUnavailable = size - Math.ceil((size * r.minHealthyPercent) / 100);
  const cap = surge + maxUnavailable;
  if (size > 0 && cap === 0) {
    throw new RolloutPolicyError(
      `rollout: minHealthyPercent ${r.minHealthyPercent} and maxHealthyPercent ${r.maxHealthyPercent} leave no host replaceable in a fleet of ${size}; raise maxHealthyPercent above 100 (new hosts boot beside the old) or lower minHealthyPercent`,
    );
  }
  const steps: RolloutStep[] = [];
  let done = 0;
  for (const p of checkpointPercentages(r.canaryPercent, r.batchPercent)) {
    const upTo = Math.min(size, Math.max(done + 1, Math.ceil((size * p) / 100)));
    if (upTo <= done) continue;
    for (let left = upTo - done; left > 0; ) {
      const n = Math.min(left, cap);
      steps.push({ hosts: n, checkpoint: false });
      left -= n;
    }
    done = upTo;
    steps[steps.length - 1]!.checkpoint = true;
    if (done === size) break;
  }
  if (steps.length > 0) steps[steps.length - 1]!.checkpoint = false;
  return { size, surge, maxUnavailable, steps };
}

/** The same batches for `count` hosts of a fleet of `size` (a rebuild or rollback of some of them). */
export function batchesOf(count: number, policy: RolloutPolicy): number[] {
  const cap = Math.max(1, policy.surge + policy.maxUnavailable);
  const out: number[] = [];
  for (let left = count; left > 0; left -= cap) out.push(Math.min(left, cap));
  return out;
}

/** What `rollout.bootSeconds` sets, in one place, so that the group, the bootstrap and its locks agree. */
export interface BootTimes {
  /** The auto scaling group's health check grace period: a new host has this long to boot and report healthy. */
  graceSeconds: number;
  /** The bootstrap marks itself failed (and on AWS its instance Unhealthy) past this many seconds. */
  selfTimeoutSeconds: number;
  /** How long a host waits for another's release hooks, and how long a lock outlives a host that died holding it. */
  lockSeconds: number;
}

/** Seconds kept between the bootstrap's own deadline and the grace period: its failure report lands before the group would judge. */
export const BOOT_REPORT_MARGIN_SECONDS = 90;

/**
 * A host that has not finished its bootstrap by bootSeconds − 90 fails itself and says so, so the
 * group replaces it on the host's word and not on a guess. No lock is held longer than a holder's
 * own deadline, and waiting longer for one than that would outlive the waiter: both are that deadline.
 */
export function bootTimes(bootSeconds: number): BootTimes {
  const selfTimeoutSeconds = bootSeconds - BOOT_REPORT_MARGIN_SECONDS;
  if (!(Number.isInteger(bootSeconds) && selfTimeoutSeconds > 0)) throw new RangeError(`bootSeconds must be a whole number above ${BOOT_REPORT_MARGIN_SECONDS}, got ${bootSeconds}`);
  return { graceSeconds: bootSeconds, selfTimeoutSeconds, lockSeconds: selfTimeoutSeconds };
}
