// The IAM documents of an environment's access roles, from names the stack knows before anything
// exists. Pure: no Pulumi, no AWS; components/access-roles.ts puts them on roles, and the tests
// feed them to an IAM policy simulator.

import { DEPLOY_LOCK_ITEM } from "../src/model/index.ts";

/** Tag naming what an access role is for; the policy pack reads it. */
export const ACCESS_TAG = "fawkes:access";
/** viewer: look; plan: previews of pull requests; deployer: releases of one GitHub environment; admin: people, with MFA. */
export type Access = "viewer" | "plan" | "deployer" | "admin";
export const ACCESSES: readonly Access[] = ["viewer", "plan", "deployer", "admin"];

export const ADMINISTRATOR_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess";
/** GitHub Actions' OIDC issuer; its IAM identity provider exists once per account, made outside fawkes. */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/** The `sub` claim of a job of a pull request (any event `pull_request`), as GitHub issues it. */
export const pullRequestSubject = (repository: string) => `repo:${repository}:pull_request`;
/** The `sub` claim of a job that names a GitHub environment: only such jobs may deploy. */
export const environmentSubject = (repository: string, environment: string) => `repo:${repository}:environment:${environment}`;

export interface GitHubTrust {
  /** `owner/name`: the catalogue's `github.repository`. */
  repository: string;
  /** The GitHub environment whose jobs may assume the deployer role: `<project>-<stack>`. */
  environment: string;
}

/**
 * Who may assume an access role. The account's principals may assume any (admin only with MFA);
 * with a repository, GitHub may assume `plan` from a pull request's jobs and `deployer` from jobs
 * in the environment's GitHub environment (which GitHub protects), and nothing else: a pull
 * request's token never reaches a role that writes.
 */
export function trustPolicy(access: Access, accountId: string, github?: GitHubTrust): object {
  const account = {
    Sid: "Account",
    Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${accountId}:root` },
    Action: "sts:AssumeRole",
    ...(access === "admin" ? { Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } } : {}),
  };
  const subject = !github ? undefined : access === "plan" ? pullRequestSubject(github.repository) : access === "deployer" ? environmentSubject(github.repository, github.environment) : undefined;
  const gitHub = subject
    ? [
        {
          Sid: access === "plan" ? "GitHubPullRequests" : "GitHubEnvironment",
          Effect: "Allow",
          Principal: { Federated: `arn:aws:iam::${accountId}:oidc-provider/${GITHUB_OIDC_HOST}` },
          Action: "sts:AssumeRoleWithWebIdentity",
          // StringEquals, never StringLike: one subject, no pattern that a branch or event could match.
          Condition: { StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com", [`${GITHUB_OIDC_HOST}:sub`]: subject } },
        },
      ]
    : [];
  return { Version: "2012-10-17", Statement: [account, ...gitHub] };
}

/** What the access policies of one environment are built from: names known before anything exists, and a few ARNs. */
export interface AccessScope {
  accountId: string;
  /** `/fawkes/<stack>`: the environment's parameters, its apps' secrets among them (SecureString). */
  parameterPrefix: string;
  artifactBucket: string;
  /** `backups/<stack>/` in the artifact bucket: the database dumps hosts take before a release's hooks. */
  dumpPrefix: string;
  /** The DynamoDB table of the environment's release locks. */
  lockTable: string;
  /** The apps' and the roles' CloudWatch log groups. */
  logGroups: readonly string[];
  /** The Auto Scaling groups (one per role) and the hosts' IAM roles. */
  groupNames: readonly string[];
  hostRoleNames: readonly string[];
  launchTemplateArns: readonly string[];
}

const bucketArn = (s: AccessScope) => `arn:aws:s3:::${s.artifactBucket}`;
// Any region, like the hosts' grants: the names are the environment's own, and stacks stay
// identical by construction whatever their region knob.
const tableArn = (s: AccessScope) => `arn:aws:dynamodb:*:${s.accountId}:table/${s.lockTable}`;
const logGroupArns = (s: AccessScope) => s.logGroups.flatMap((g) => [`arn:aws:logs:*:${s.accountId}:log-group:${g}`, `arn:aws:logs:*:${s.accountId}:log-group:${g}:*`]);
const groupArns = (s: AccessScope) => s.groupNames.map((g) => `arn:aws:autoscaling:*:${s.accountId}:autoScalingGroup:*:autoScalingGroupName/${g}`);

/** Parameter values are secrets (the apps' SecureStrings live beside the rest): no reading role but the hosts' reads one. */
export const PARAMETER_VALUE_ACTIONS = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"] as const;

/**
 * The one service through which the looking roles still decrypt: the lock table is encrypted
 * with DynamoDB's AWS managed key, and DynamoDB asks KMS with the caller's own permissions (the
 * key's policy allows the account's principals `kms:ViaService` DynamoDB), so an unconditional
 * deny of kms:Decrypt would refuse the viewer its GetItem.
 */
export const DECRYPT_VIA_SERVICES = ["dynamodb.*.amazonaws.com"] as const;

/**
 * The explicit denials of the roles that only look (viewer, plan): any parameter's value, on any
 * path (GetParametersByPath is authorised on the path asked for, so a parent path like `/fawkes` or
 * `/` must be denied too), any secret, any decryption but DynamoDB's of its own tables, and the
 * environment's database dumps. Explicit, so that no other policy a person holds through the role
 * can grant them.
 */
function noSecrets(s: AccessScope): object[] {
  return [
    { Sid: "NoParameterValues", Effect: "Deny", Action: [...PARAMETER_VALUE_ACTIONS], Resource: "*" },
    { Sid: "NoSecretValues", Effect: "Deny", Action: "secretsmanager:GetSecretValue", Resource: "*" },
    // A direct call has no kms:ViaService, and a negated operator then matches: denied.
    { Sid: "NoDecrypt", Effect: "Deny", Action: "kms:Decrypt", Resource: "*", Condition: { StringNotLike: { "kms:ViaService": [...DECRYPT_VIA_SERVICES] } } },
    { Sid: "NoDumps", Effect: "Deny", Action: "s3:GetObject", Resource: `${bucketArn(s)}/${s.dumpPrefix}*` },
  ];
}

/**
 * Describe actions that AWS authorises on `*` only (no resource-level permissions): what the fleet
 * is, how its refreshes go, which hosts serve, the alarms. They read shapes and states, no data.
 */
export const DESCRIBE_ACTIONS = [
  "autoscaling:DescribeAutoScalingGroups",
  "autoscaling:DescribeInstanceRefreshes",
  "autoscaling:DescribeScalingActivities",
  "autoscaling:DescribeLifecycleHooks",
  "ec2:DescribeInstances",
  "ec2:DescribeLaunchTemplates",
  "ec2:DescribeLaunchTemplateVersions",
  "elasticloadbalancing:DescribeLoadBalancers",
  "elasticloadbalancing:DescribeTargetGroups",
  "elasticloadbalancing:DescribeTargetHealth",
  "cloudwatch:DescribeAlarms",
  "cloudwatch:GetMetricData",
  "logs:DescribeLogGroups",
  "logs:GetQueryResults",
  "ssm:DescribeParameters",
] as const;

/**
 * What `fawkes status`, `history`, `errors` and the console read: the fleet (Describe), the
 * environment's logs (tail, filter, Logs Insights), its lock table, and the artifact store's
 * objects (manifests, checksums), never a dump nor any secret.
 */
function looking(s: AccessScope): object[] {
  return [
    { Sid: "Describe", Effect: "Allow", Action: [...DESCRIBE_ACTIONS], Resource: "*" },
    { Sid: "Logs", Effect: "Allow", Action: ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery"], Resource: logGroupArns(s) },
    { Sid: "Locks", Effect: "Allow", Action: ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"], Resource: tableArn(s) },
    { Sid: "ArtifactList", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn(s) },
    // Tags too: a preview that refreshes reads the hosts' bundles' (S3 objects) tags.
    { Sid: "ArtifactObjects", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectTagging"], Resource: `${bucketArn(s)}/*` },
  ];
}

/** People who look at an environment (console, `status`, `history`, `errors`). */
export function viewerPolicy(s: AccessScope): object {
  return { Version: "2012-10-17", Statement: [...looking(s), ...noSecrets(s)] };
}

/**
 * Read actions `pulumi preview` and `fawkes check --target aws` call beyond the viewer's:
 * descriptions of every kind of resource an environment has (a `--refresh` reads them), the
 * certificate, the quotas. Read only (Describe/Get/List of configuration), never data: the
 * explicit denials still hold.
 */
export const PREVIEW_READ_ACTIONS = [
  "acm:DescribeCertificate",
  "acm:ListCertificates",
  "autoscaling:Describe*",
  "backup:Describe*",
  "backup:GetBackupPlan",
  "backup:GetBackupSelection",
  "backup:GetBackupVaultAccessPolicy",
  "backup:ListTags",
  "cloudwatch:Describe*",
  "cloudwatch:ListTagsForResource",
  "dynamodb:DescribeContinuousBackups",
  "dynamodb:DescribeTimeToLive",
  "dynamodb:ListTagsOfResource",
  "ec2:Describe*",
  "ec2:GetLaunchTemplateData",
  "elasticfilesystem:Describe*",
  "elasticloadbalancing:Describe*",
  "events:Describe*",
  "events:ListTagsForResource",
  "events:ListTargetsByRule",
  "iam:GetInstanceProfile",
  "iam:GetRole",
  "iam:GetRolePolicy",
  "iam:ListAttachedRolePolicies",
  "iam:ListRolePolicies",
  "iam:ListOpenIDConnectProviders",
  "imagebuilder:Get*",
  "imagebuilder:List*",
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListAliases",
  "kms:ListResourceTags",
  "logs:ListTagsForResource",
  "logs:ListTagsLogGroup",
  "rds:Describe*",
  "rds:ListTagsForResource",
  "s3:GetBucket*",
  "s3:GetEncryptionConfiguration",
  "s3:GetLifecycleConfiguration",
  "s3:GetAccelerateConfiguration",
  "s3:GetReplicationConfiguration",
  "s3:ListBucket",
  "servicequotas:GetServiceQuota",
  "servicequotas:GetAWSDefaultServiceQuota",
  "sns:GetSubscriptionAttributes",
  "sns:GetTopicAttributes",
  "sns:ListTagsForResource",
  "sqs:GetQueueAttributes",
  "sqs:ListQueueTags",
  "ssm:ListTagsForResource",
  "tag:GetResources",
] as const;

/**
 * Previews of pull requests (`pulumi preview`, `fawkes check --target aws`): the viewer's reads
 * and the configuration reads of every resource the stack has; no write, no secret, no dump. A
 * pull request's code runs with it, so it gets nothing a viewer should not have.
 */
export function planPolicy(s: AccessScope): object {
  return { Version: "2012-10-17", Statement: [...looking(s), { Sid: "PreviewReads", Effect: "Allow", Action: [...PREVIEW_READ_ACTIONS], Resource: "*" }, ...noSecrets(s)] };
}

/**
 * A release or rollback of this environment, and nothing more: the previews' reads and `fawkes
 * check`'s probes; artifacts pushed; the `pulumi up` of a pin change (a new launch-template version
 * per role, and the role's bundle, a new tagged S3 object, the old one retained); the release
 * driver's calls (src/release/auto-scaling.ts: Describe groups and refreshes, Start and Rollback a
 * refresh pinned to a version, Update an empty group's version), which launch hosts from those
 * templates with the hosts' roles; Cancel for a person who stops a refresh; the stack's deploy lock
 * in its lock table (take, renew, give back, break). It reads no parameter
 * value, no secret and no dump: `check` asks for parameters' names only. Creating or deleting
 * resources, and setting secrets, is the admin's.
 */
export function deployerPolicy(s: AccessScope): object {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "Describe", Effect: "Allow", Action: [...DESCRIBE_ACTIONS], Resource: "*" },
      { Sid: "PreviewReads", Effect: "Allow", Action: [...PREVIEW_READ_ACTIONS], Resource: "*" },
      { Sid: "Logs", Effect: "Allow", Action: ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery"], Resource: logGroupArns(s) },
      // Reads, and the removal of a lock a dead host or a crashed deploy left behind (fawkes lock break).
      { Sid: "Locks", Effect: "Allow", Action: ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem"], Resource: tableArn(s) },
      // The stack's deploy lock, taken and renewed (src/release/deploy-lock-dynamodb.ts); that item
      // only: the hosts' hook locks are theirs to take. LeadingKeys is the item's partition key.
      {
        Sid: "DeployLock",
        Effect: "Allow",
        Action: ["dynamodb:PutItem", "dynamodb:UpdateItem"],
        Resource: tableArn(s),
        Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [DEPLOY_LOCK_ITEM] }, Null: { "dynamodb:LeadingKeys": "false" } },
      },
      { Sid: "ArtifactList", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn(s) },
      // Artifacts are `<app>/<release>.*` and bundles `_bundles/<sha256>.tar.gz`, put with their
      // tags (PutObject with tags needs PutObjectTagging); the dumps' prefix is denied below.
      {
        Sid: "ArtifactObjects",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:GetObjectTagging", "s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"],
        Resource: `${bucketArn(s)}/*`,
      },
      // A new version only: the templates' default stays (updateDefaultVersion false), so no ModifyLaunchTemplate.
      { Sid: "LaunchTemplates", Effect: "Allow", Action: "ec2:CreateLaunchTemplateVersion", Resource: [...s.launchTemplateArns] },
      {
        Sid: "Fleets",
        Effect: "Allow",
        Action: ["autoscaling:UpdateAutoScalingGroup", "autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh", "autoscaling:RollbackInstanceRefresh"],
        Resource: groupArns(s),
      },
      // Auto Scaling checks that whoever points a group at a template may launch from it.
      { Sid: "LaunchFromTemplates", Effect: "Allow", Action: "ec2:RunInstances", Resource: "*", Condition: { ArnEquals: { "ec2:LaunchTemplate": [...s.launchTemplateArns] } } },
      { Sid: "TagAtLaunch", Effect: "Allow", Action: "ec2:CreateTags", Resource: "*", Condition: { StringEquals: { "ec2:CreateAction": "RunInstances" } } },
      {
        Sid: "PassHostRoles",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: s.hostRoleNames.map((r) => `arn:aws:iam::${s.accountId}:role/${r}`),
        Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
      },
      { Sid: "NoDumps", Effect: "Deny", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `${bucketArn(s)}/${s.dumpPrefix}*` },
    ],
  };
}
