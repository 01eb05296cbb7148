// src/release: rollouts of releases. The deploy lock and history of an environment, and
// `release` / `rollback` on the local target (hosts replaced by the rollout policy) and on AWS
// (pulumi up and the instance refresh).
export { awsRelease, pulumiFailure, pulumiUpArgv, runPulumi, type PulumiRunner } from "./aws.ts";
export { acquireDeployLock, breakDeployLock, DeployLockedError, lockFile, readDeployLock, withDeployLock, type DeployLock } from "./deploy-lock.ts";
export { appendHistory, historyDir, historyFile, previousRelease, readHistory, stacksWithHistory, whoAmI, type HistoryEntry, type HistoryKind, type HistoryResult } from "./history.ts";
export { localRelease, rollbackTarget, type ReleaseRequest } from "./local.ts";
export { recorded, type RecordedWork, type WorkLog, type WorkOutcome } from "./record.ts";
