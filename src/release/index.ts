// src/release: rollouts of releases. The deploy lock (a file locally, a leased DynamoDB item on
// AWS) and history of an environment, and
// `release` / `rollback` on the local target (hosts replaced by the rollout policy) and on AWS
// (pulumi up, then the instance refreshes fawkes drives).
export { awsRelease, pulumiFailure, pulumiUpArgv, releaseOutcome, runPulumi, type AwsReleaseDeps, type PulumiRunner } from "./aws.ts";
export { autoScalingFleet, RefreshBusyError, type FleetApi, type GroupView } from "./auto-scaling.ts";
export { RefreshInProgressError, refreshRole, refreshRoles, untilGroupsIdle, type DriveOptions, type RoleRefresh } from "./refresh.ts";
export { LAUNCH_TEMPLATES_OUTPUT, readStackOutputs, refreshTargets, type StackOutputsReader } from "./stack-outputs.ts";
export { acquireDeployLock, breakDeployLock, giveBackDeployLock, takeDeployLock, deployLockOf, fileDeployLock, lockFile, readDeployLock, withDeployLock, type DeployLockPlace } from "./deploy-lock.ts";
export { DeployLockedError, DeployLockError, DeployLockLostError, holdDeployLock, type DeployLease, type DeployLock, type DeployLockStore, type HeldDeployLock } from "./deploy-lock-store.ts";
export { DEPLOY_LOCK_ITEM, dynamoDeployLock, LEASE_SECONDS, RENEW_SECONDS, type DynamoLease } from "./deploy-lock-dynamodb.ts";
export { appendHistory, historyDir, historyFile, previousRelease, readHistory, rolloutLogDir, stacksWithHistory, whoAmI, type HistoryEntry, type HistoryKind, type HistoryResult } from "./history.ts";
export { localRelease, rollbackTarget, type ReleaseRequest } from "./local.ts";
export { recorded, type RecordedWork, type WorkLog, type WorkOutcome } from "./record.ts";
