// src/model: EnvironmentSpec -> HostPlan per role (apps per host, users, ports, paths, processes).
export { appPaths, DEPLOY_LOCK_ITEM, HOST_ENV, LOCK_KEY, localHostname, servedApps, servedNames, imagePackages, planEnvironment, storesOf, recipeHash, ROLES, vcpusOf, type AppOnHost, type AppPaths, type EnvironmentPlan, type GunicornPlan, type HostPlan, type ProcessPlan, type Role } from "./plan.ts";
export { batchesOf, BOOT_REPORT_MARGIN_SECONDS, bootTimes, checkpointPercentages, rolloutPolicy, RolloutPolicyError, type BootTimes, type RolloutPolicy, type RolloutStep } from "./rollout.ts";
export { appLogGroup, hostLogGroup, parameterPrefixOf, queueEnvName, queuePlans, type QueuePlan } from "./operations.ts";
export { appDatabase, DATABASE_MAJOR_VERSION, DATABASE_PASSWORD_RULE, DATABASE_MASTER_USER, DATABASE_PORT, databaseNameOf, databasePlan, dumpPrefixOf, type AppDatabase, type DatabasePlan } from "./database.ts";
export { CONSOLE_BUNDLE_PREFIX, CONSOLE_GRANT_TAG, CONSOLE_HEALTH_PATH, CONSOLE_OWN_GRANT, CONSOLE_PORT, consoleBundleKey } from "./console.ts";
export { listenerRules, RULES_PER_APP, type ListenerRulePlan } from "./listener-rules.ts";
export { ACTIVE_REFRESH_STATUSES, isActive, nextAction, outcomeOf, REFRESH_STATUSES, refreshTiming, rollbackAsked, startRefreshInput, started, type RefreshAction, type RefreshOutcome, type RefreshRun, type RefreshState, type RefreshStatus, type RefreshTarget, type RefreshTiming, type RefreshView, type StartRefreshInput } from "./refresh.ts";
