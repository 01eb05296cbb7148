// components: the AWS side of fawkes, one ComponentResource per concern, composed by Environment.
export {
  ACCESS_TAG,
  ACCESSES,
  ADMINISTRATOR_POLICY_ARN,
  DESCRIBE_ACTIONS,
  deployerPolicy,
  environmentSubject,
  GITHUB_OIDC_HOST,
  PARAMETER_VALUE_ACTIONS,
  planPolicy,
  PREVIEW_READ_ACTIONS,
  pullRequestSubject,
  trustPolicy,
  viewerPolicy,
  type Access,
  type AccessScope,
  type GitHubTrust,
} from "./access-policies.ts";
export { AccessRoles, buildAccessRoles, type AccessRolesArgs } from "./access-roles.ts";
export { AppResources, buildLogGroups, buildQueues, DEAD_LETTER_RETENTION_SECONDS, QUEUE_RETENTION_SECONDS, type AppResourcesArgs, type QueueParts } from "./app-resources.ts";
export { ArtifactStore, buildArtifactStore, tlsOnlyPolicy, type ArtifactStoreArgs } from "./artifact-store.ts";
export { BACKUP_ASSUME_ROLE_POLICY, BACKUP_POLICY_ARNS, BACKUP_SCHEDULE, BACKUP_WINDOW_MINUTES, Backups, buildBackups, type BackupsArgs } from "./backups.ts";
export {
  buildDatabase,
  Database,
  DATABASE_PARAMETERS,
  DATABASE_WINDOWS,
  databaseIdentifier,
  databaseKeyPolicy,
  masterSecretArnOf,
  parameterGroupFamily,
  type DatabaseArgs,
  type DatabaseParts,
} from "./database.ts";
export { consoleDeployPolicy, consoleOwnPolicy, MANAGED_POLICY_CHARACTERS, policyCharacters, type ConsoleGrants, type ManagedEnvironment } from "./console-policies.ts";
export { buildConsoleRole, checkedLaunchTemplates, LAUNCH_TEMPLATES_OUTPUT, managedEnvironment, managedProblems, type ConsoleRole, type ConsoleRoleArgs } from "./console-role.ts";
export { buildConsoleFirewall, buildDeployConsole, CONSOLE_BOOT_SECONDS, CONSOLE_REFRESH, DeployConsole, signInThenForward, type DeployConsoleArgs } from "./deploy-console.ts";
export { accessScopeOf, appUrls, buildEnvironment, Environment, gitHubEnvironmentOf, pinnedImageOf, servedApps, type EnvironmentArgs } from "./environment.ts";
export { buildFirewall, Firewall, HTTP_PORT, HTTPS_PORT, type FirewallArgs } from "./firewall.ts";
export { buildFleet, buildLaunchTemplate, Fleet, ROOT_DEVICE_NAME, ROOT_VOLUME_GIB, userDataBase64, type FleetArgs } from "./fleet.ts";
export {
  buildHostRole,
  EC2_ASSUME_ROLE_POLICY,
  hostPolicyDocument,
  LOG_ACTIONS,
  logGroupArnPattern,
  QUEUE_ACTIONS,
  SSM_CORE_POLICY_ARN,
  type DatabaseGrants,
  type HostGrants,
  type HostRoleArgs,
  type QueueGrants,
} from "./host-role.ts";
export {
  BUILD_INSTANCE_TYPES,
  buildBuilderProfile,
  buildBuilderSecurityGroup,
  buildImagePipeline,
  IMAGE_BUILDER_POLICY_ARN,
  IMAGE_TEST_TIMEOUT_MINUTES,
  ImagePipeline,
  RECIPE_TAG,
  type ImagePipelineArgs,
} from "./image-pipeline.ts";
export { buildLoadBalancer, buildTargetGroup, LoadBalancer, TLS_POLICY, type LoadBalancerArgs, type RoutedApp } from "./load-balancer.ts";
export { buildNetwork, GATEWAY_ENDPOINT_SERVICES, Network, VPC_CIDR, ZONE_COUNT, type NetworkArgs, type NetworkParts, type SharedNetwork } from "./network.ts";
export { checkedDatabase, checkedNetwork, PARENT_OUTPUTS, parentStack, parentStackName, type DatabaseOutput, type NetworkOutput, type ParentStack } from "./parent-stack.ts";
export {
  alarmKeyPolicy,
  alarmTopicPolicy,
  buildObservability,
  DATABASE_CPU_PERCENT,
  DATABASE_FREE_STORAGE_PERCENT,
  DATABASE_PERIODS,
  databaseAlarms,
  ERROR_RATE_EXPRESSION,
  ERROR_RATE_MIN_REQUESTS,
  ERROR_RATE_PERCENT,
  ERROR_RATE_PERIODS,
  Observability,
  REFRESH_FAILURES,
  UNHEALTHY_MINUTES,
  type ObservabilityArgs,
  type ObservedApp,
  type ObservedDatabase,
} from "./observability.ts";
export { LOCK_KEY, ReleaseLocks, type ReleaseLocksArgs } from "./release-locks.ts";
export { buildSharedStorage, fileSystemPolicy, NFS_PORT, SharedStorage, type SharedStorageArgs } from "./shared-storage.ts";
export { baseTags, launchTags, nameOf, tagged, TIER_TAG, type NameParts, type Tags, type Tier } from "./tags.ts";
export { releaseSumsInBucket, STAND_IN_SUMS_VARIABLE } from "./release-sums.ts";
