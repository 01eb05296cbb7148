// Every fawkes policy, for the pack (index.ts) and for tests that call them directly.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { databasesBackedUp, fileSystemsBackedUp, logRetentionSet, rdsBackupsEnabled, rdsEncrypted, rdsPasswordManaged, rdsPrivate, sqsEncrypted } from "./data-rules";
import { ebsEncrypted, imdsv2Required, noPublicIpOnHosts, noSecretsInUserData } from "./host-rules";
import { githubTrustScoped, noAdminOutsideAdminRole, noReadOnlyAccess, pullRequestRolesReadOnly } from "./iam-rules";
import { albDropsInvalidHeaders, noOpenIngress, noOpenIngressAcrossRules, openIngressOnlyOnAlbGroup } from "./network-rules";
import { efsEncrypted, s3BucketsProtected, s3Encrypted, s3PublicAccessBlocked } from "./storage-rules";

export { databasesBackedUp, fileSystemsBackedUp, logRetentionSet, rdsBackupsEnabled, rdsEncrypted, rdsPasswordManaged, rdsPrivate, sqsEncrypted } from "./data-rules";
export { ebsEncrypted, imdsv2Required, noPublicIpOnHosts, noSecretsInUserData } from "./host-rules";
export { ACCESS_ROLES_TYPE, isAdminRole, trustsOnlyTheAccountWithMfa } from "./admin-role";
export { holdEveryPublicAddress, isWide, WIDEST } from "./cidr";
export { grantsAdmin, statementsOf } from "./iam-grants";
export { pullRequestTrust, writesOf } from "./pull-requests";
export { githubTrustScoped, noAdminOutsideAdminRole, noReadOnlyAccess, pullRequestRolesReadOnly } from "./iam-rules";
export { albDropsInvalidHeaders, noOpenIngress, noOpenIngressAcrossRules, openIngressOnlyOnAlbGroup } from "./network-rules";
export { ACCESS_TAG, TIER_TAG, TYPES } from "./resources";
export { decodeObject, decodeUserData, entropy, findSecrets, type DecodedFile, type SecretFinding } from "./secrets";
export { efsEncrypted, s3BucketsProtected, s3Encrypted, s3PublicAccessBlocked } from "./storage-rules";

export const resourcePolicies: ResourceValidationPolicy[] = [
  imdsv2Required,
  noPublicIpOnHosts,
  ebsEncrypted,
  noSecretsInUserData,
  efsEncrypted,
  s3PublicAccessBlocked,
  s3Encrypted,
  noOpenIngress,
  albDropsInvalidHeaders,
  sqsEncrypted,
  logRetentionSet,
  rdsEncrypted,
  rdsBackupsEnabled,
  rdsPasswordManaged,
  noReadOnlyAccess,
  githubTrustScoped,
];

export const stackPolicies: StackValidationPolicy[] = [
  s3BucketsProtected,
  openIngressOnlyOnAlbGroup,
  noOpenIngressAcrossRules,
  fileSystemsBackedUp,
  databasesBackedUp,
  rdsPrivate,
  noAdminOutsideAdminRole,
  pullRequestRolesReadOnly,
];

export const policies: Array<ResourceValidationPolicy | StackValidationPolicy> = [...resourcePolicies, ...stackPolicies];
