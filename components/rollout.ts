// Instance refresh settings from the rollout knobs: pure, so they are unit-tested directly.
import type { Rollout } from "../src/config/index.ts";

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

export interface InstanceRefreshSettings {
  strategy: "Rolling";
  preferences: {
    minHealthyPercentage: number;
    maxHealthyPercentage: number;
    instanceWarmup: string;
    checkpointPercentages: number[];
    checkpointDelay: string;
    autoRollback: boolean;
    skipMatching: boolean;
  };
}

/**
 * A rolling refresh with a canary, checkpoints held while health is watched, and automatic
 * rollback. skipMatching is off: a refresh only starts for a new launch-template version, and
 * then every host is rebuilt (phoenix hosts), including any left over from a refresh that failed.
 */
export function instanceRefresh(rollout: Rollout): InstanceRefreshSettings {
  return {
    strategy: "Rolling",
    preferences: {
      minHealthyPercentage: rollout.minHealthyPercent,
      maxHealthyPercentage: rollout.maxHealthyPercent,
      instanceWarmup: String(rollout.warmupSeconds),
      checkpointPercentages: checkpointPercentages(rollout.canaryPercent, rollout.batchPercent),
      checkpointDelay: String(rollout.checkpointDelaySeconds),
      autoRollback: true,
      skipMatching: false,
    },
  };
}
