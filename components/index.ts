// components: the AWS side of fawkes, one ComponentResource per concern, composed by Environment.
export { ArtifactStore, buildArtifactStore, tlsOnlyPolicy, type ArtifactStoreArgs } from "./artifact-store.ts";
export { appUrls, buildEnvironment, Environment, servedApps, type EnvironmentArgs } from "./environment.ts";
export { buildFirewall, Firewall, HTTP_PORT, HTTPS_PORT, type FirewallArgs } from "./firewall.ts";
export { BOOT_GRACE_SECONDS, buildFleet, buildLaunchTemplate, Fleet, ROOT_VOLUME_GIB, userDataBase64, type FleetArgs } from "./fleet.ts";
export { buildHostRole, EC2_ASSUME_ROLE_POLICY, hostPolicyDocument, SSM_CORE_POLICY_ARN, type HostGrants, type HostRoleArgs } from "./host-role.ts";
export { buildLoadBalancer, buildTargetGroup, LoadBalancer, TLS_POLICY, type LoadBalancerArgs, type RoutedApp } from "./load-balancer.ts";
export { buildNetwork, Network, VPC_CIDR, ZONE_COUNT, type NetworkArgs, type NetworkParts } from "./network.ts";
export { LOCK_KEY, ReleaseLocks, type ReleaseLocksArgs } from "./release-locks.ts";
export { instanceRefresh, type InstanceRefreshSettings } from "./rollout.ts";
export { APP_DIR_MODE, buildSharedStorage, NFS_PORT, SharedStorage, type SharedStorageArgs } from "./shared-storage.ts";
export { baseTags, launchTags, nameOf, tagged, TIER_TAG, type NameParts, type Tags, type Tier } from "./tags.ts";
