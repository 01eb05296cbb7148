// Instance refresh settings from the rollout knobs: pure, so they are unit-tested directly.
import type { Rollout } from "../src/config/index.ts";
import { checkpointPercentages } from "../src/model/index.ts";

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
