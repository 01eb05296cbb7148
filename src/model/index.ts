// src/model: EnvironmentSpec -> HostPlan per role (apps per host, users, ports, paths, processes).
export { appPaths, LOCK_KEY, servedApps, imagePackages, planEnvironment, recipeHash, ROLES, vcpusOf, type AppOnHost, type AppPaths, type EnvironmentPlan, type GunicornPlan, type HostPlan, type ProcessPlan, type Role } from "./plan.ts";
export { batchesOf, checkpointPercentages, rolloutPolicy, RolloutPolicyError, type RolloutPolicy, type RolloutStep } from "./rollout.ts";
export { appLogGroup, hostLogGroup, parameterPrefixOf, queueEnvName, queuePlans, type QueuePlan } from "./operations.ts";
export { appDatabase, DATABASE_MAJOR_VERSION, DATABASE_PASSWORD_RULE, DATABASE_MASTER_USER, DATABASE_PORT, databaseNameOf, databasePlan, type AppDatabase, type DatabasePlan } from "./database.ts";
