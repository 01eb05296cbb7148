// What the rules know about resources: type tokens, the tier tag, and reading untyped props.
import type { PolicyResource, ReportViolation, ResourceValidation } from "@pulumi/policy";

/** The tag fawkes components put on subnets, security groups and rules (components/tags.ts). */
export const TIER_TAG = "fawkes:tier";

export const TYPES = {
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  instance: "aws:ec2/instance:Instance",
  spotInstanceRequest: "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
  launchConfiguration: "aws:ec2/launchConfiguration:LaunchConfiguration",
  subnet: "aws:ec2/subnet:Subnet",
  volume: "aws:ebs/volume:Volume",
  fileSystem: "aws:efs/fileSystem:FileSystem",
  bucket: "aws:s3/bucket:Bucket",
  bucketObjects: ["aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"],
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  legacyRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  loadBalancers: ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"],
  queue: "aws:sqs/queue:Queue",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  backupSelection: "aws:backup/selection:Selection",
  dbInstance: "aws:rds/instance:Instance",
  dbCluster: "aws:rds/cluster:Cluster",
  dbClusterInstance: "aws:rds/clusterInstance:ClusterInstance",
  dbSubnetGroup: "aws:rds/subnetGroup:SubnetGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  managedPolicy: "aws:iam/policy:Policy",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  groupPolicy: "aws:iam/groupPolicy:GroupPolicy",
  userPolicyAttachment: "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  groupPolicyAttachment: "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
  policyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
} as const;

/** The tag on an access role (components/access-roles.ts): only `admin` may hold `*` on `*`. */
export const ACCESS_TAG = "fawkes:access";

/* eslint-disable @typescript-eslint/no-explicit-any -- policies read untyped resource properties */
export type Props = Record<string, any>;

/** A validation of the listed resource types only. */
export function forTypes(types: readonly string[], check: (props: Props, report: ReportViolation) => void): ResourceValidation {
  return (args, report) => {
    if (types.includes(args.type)) check(args.props ?? {}, report);
  };
}

/** Some provider booleans are strings ("true"). */
export const truthy = (v: unknown): boolean => v === true || v === "true";
export const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);
export const tierOf = (props: Props): unknown => props.tags?.[TIER_TAG];

/** Whether `dependent.props[prop]` refers to `target`: by value (name or id) or by dependency. */
export function refersTo(dependent: PolicyResource, prop: string, target: PolicyResource, targetValues: unknown[]): boolean {
  const value = dependent.props?.[prop];
  if (value !== undefined && targetValues.some((t) => t !== undefined && t === value)) return true;
  return (dependent.propertyDependencies?.[prop] ?? []).some((d) => d.urn === target.urn);
}
