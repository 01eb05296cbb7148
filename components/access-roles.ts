import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

/** Tag naming what an access role is for; the policy pack lets only `admin` hold `*` on `*`. */
export const ACCESS_TAG = "fawkes:access";
export type Access = "viewer" | "deployer" | "admin";
export const ACCESSES: readonly Access[] = ["viewer", "deployer", "admin"];

export const READ_ONLY_POLICY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess";
export const ADMINISTRATOR_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess";
/** GitHub Actions' OIDC issuer; its IAM identity provider exists once per account, made outside fawkes. */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

export interface AccessRolesArgs {
  accountId: pulumi.Input<string>;
  /** The catalogue's `github.repository`: without it, the roles trust only the account. */
  githubRepository?: string;
  /** The GitHub environment whose workflows may assume the deployer role: `<project>-<stack>`. */
  githubEnvironment: string;
  /** `/fawkes/<stack>`: the environment's SSM parameters. */
  parameterPrefix: string;
  artifactBucketArn: pulumi.Input<string>;
  launchTemplateArns: pulumi.Input<string>[];
  /** Names of the Auto Scaling groups and of the hosts' IAM roles (known before anything exists). */
  groupNames: readonly string[];
  hostRoleNames: readonly string[];
  /** RDS's secret of the database's master user, when the environment has a database. */
  databaseSecretArn?: pulumi.Input<string>;
  nameParts: NameParts;
  tags: Tags;
}

/** Who may assume an access role: the account's principals allowed to (admin: with MFA), and GitHub for the deployer. */
export function trustPolicy(access: Access, accountId: string, github?: { repository: string; environment: string }): object {
  const account = {
    Sid: "Account",
    Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${accountId}:root` },
    Action: "sts:AssumeRole",
    ...(access === "admin" ? { Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } } : {}),
  };
  const gitHub = github && access === "deployer"
    ? [
        {
          Sid: "GitHubEnvironment",
          Effect: "Allow",
          Principal: { Federated: `arn:aws:iam::${accountId}:oidc-provider/${GITHUB_OIDC_HOST}` },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: {
              [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com",
              // Only jobs of this repository that run in this environment's GitHub environment.
              [`${GITHUB_OIDC_HOST}:sub`]: `repo:${github.repository}:environment:${github.environment}`,
            },
          },
        },
      ]
    : [];
  return { Version: "2012-10-17", Statement: [account, ...gitHub] };
}

const parameterArns = (prefix: string) => [`arn:aws:ssm:*:*:parameter${prefix}`, `arn:aws:ssm:*:*:parameter${prefix}/*`];

/**
 * Reading through ReadOnlyAccess (which includes RDS's Describe and List actions), but never the
 * environment's parameters, nor its database's master secret: they hold its secrets.
 */
export function viewerPolicy(parameterPrefix: string, databaseSecretArn?: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "NoSecrets",
        Effect: "Deny",
        Action: ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"],
        Resource: parameterArns(parameterPrefix),
      },
      // ReadOnlyAccess grants no GetSecretValue today; this keeps it so if AWS ever widens it.
      ...(databaseSecretArn !== undefined ? [{ Sid: "NoDatabaseSecret", Effect: "Deny", Action: "secretsmanager:GetSecretValue", Resource: databaseSecretArn }] : []),
    ],
  };
}

export interface DeployerScope {
  accountId: string;
  parameterPrefix: string;
  artifactBucketArn: string;
  launchTemplateArns: readonly string[];
  groupNames: readonly string[];
  hostRoleNames: readonly string[];
}

/**
 * What a release or rollback does, and nothing more: push artifacts, read the parameters, put a
 * new user-data into the launch templates, point the groups at the new version and drive their
 * instance refresh, which launches hosts from those templates with the hosts' roles. Previews
 * read through ReadOnlyAccess. Creating or deleting resources is the admin's.
 */
export function deployerPolicy(s: DeployerScope): object {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ArtifactObjects", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `${s.artifactBucketArn}/*` },
      { Sid: "ArtifactList", Effect: "Allow", Action: "s3:ListBucket", Resource: s.artifactBucketArn },
      { Sid: "Parameters", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"], Resource: parameterArns(s.parameterPrefix) },
      {
        Sid: "LaunchTemplates",
        Effect: "Allow",
        Action: ["ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplateVersions"],
        Resource: [...s.launchTemplateArns],
      },
      {
        Sid: "Fleets",
        Effect: "Allow",
        Action: ["autoscaling:UpdateAutoScalingGroup", "autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh", "autoscaling:RollbackInstanceRefresh", "autoscaling:SetDesiredCapacity"],
        Resource: s.groupNames.map((g) => `arn:aws:autoscaling:*:${s.accountId}:autoScalingGroup:*:autoScalingGroupName/${g}`),
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
    ],
  };
}

/**
 * The three IAM roles people and pipelines use on one environment: `viewer` (read, no secrets),
 * `deployer` (previews, releases, rollbacks; GitHub Actions of the catalogue's repository in the
 * environment's GitHub environment) and `admin` (everything, with MFA).
 */
export class AccessRoles extends pulumi.ComponentResource {
  readonly roleArns: Record<Access, pulumi.Output<string>>;

  constructor(name: string, args: AccessRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:access:AccessRoles", name, {}, opts);
    const roles = buildAccessRoles(this, name, args);
    this.roleArns = { viewer: roles.viewer.arn, deployer: roles.deployer.arn, admin: roles.admin.arn };
    this.registerOutputs({ roleArns: this.roleArns });
  }
}

export function buildAccessRoles(parent: pulumi.Resource, name: string, args: AccessRolesArgs): Record<Access, aws.iam.Role> {
  const opts = { parent };
  const github = args.githubRepository ? { repository: args.githubRepository, environment: args.githubEnvironment } : undefined;
  const role = (access: Access, description: string) => {
    const roleName = nameOf("iamRole", args.nameParts, access);
    return new aws.iam.Role(
      `${name}-${access}`,
      {
        name: roleName,
        description,
        assumeRolePolicy: pulumi.output(args.accountId).apply((id) => JSON.stringify(trustPolicy(access, id, github))),
        tags: { ...tagged(args.tags, roleName), [ACCESS_TAG]: access },
      },
      opts,
    );
  };
  const attach = (access: Access, r: aws.iam.Role, policyArn: string) => new aws.iam.RolePolicyAttachment(`${name}-${access}-managed`, { role: r.name, policyArn }, opts);

  const viewer = role("viewer", "fawkes: read this environment, never its secrets");
  attach("viewer", viewer, READ_ONLY_POLICY_ARN);
  new aws.iam.RolePolicy(
    `${name}-viewer-access`,
    { role: viewer.name, name: "fawkes-viewer", policy: pulumi.output(args.databaseSecretArn).apply((arn) => JSON.stringify(viewerPolicy(args.parameterPrefix, arn))) },
    opts,
  );

  const deployer = role("deployer", "fawkes: previews, releases and rollbacks of this environment");
  attach("deployer", deployer, READ_ONLY_POLICY_ARN);
  new aws.iam.RolePolicy(
    `${name}-deployer-access`,
    {
      role: deployer.name,
      name: "fawkes-deployer",
      policy: pulumi.all([args.accountId, args.artifactBucketArn, pulumi.all(args.launchTemplateArns)]).apply(([accountId, artifactBucketArn, launchTemplateArns]) =>
        JSON.stringify(
          deployerPolicy({ accountId, parameterPrefix: args.parameterPrefix, artifactBucketArn, launchTemplateArns, groupNames: args.groupNames, hostRoleNames: args.hostRoleNames }),
        ),
      ),
    },
    opts,
  );

  const admin = role("admin", "fawkes: administer this environment (MFA required)");
  attach("admin", admin, ADMINISTRATOR_POLICY_ARN);
  return { viewer, deployer, admin };
}
