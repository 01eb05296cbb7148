import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ACCESS_TAG, ADMINISTRATOR_POLICY_ARN, deployerPolicy, planPolicy, trustPolicy, viewerPolicy, type Access, type AccessScope } from "./access-policies.ts";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

export interface AccessRolesArgs {
  accountId: pulumi.Input<string>;
  /** The catalogue's `github.repository`: without it, the roles trust only the account. */
  githubRepository?: string;
  /** The GitHub environment whose jobs may assume the deployer role: `<project>-<stack>`. */
  githubEnvironment: string;
  /** Everything the policies name but the account and the launch templates' ARNs. */
  scope: Omit<AccessScope, "accountId" | "launchTemplateArns">;
  launchTemplateArns: pulumi.Input<string>[];
  nameParts: NameParts;
  tags: Tags;
}

const POLICIES: Record<Exclude<Access, "admin">, (s: AccessScope) => object> = { viewer: viewerPolicy, plan: planPolicy, deployer: deployerPolicy };

const DESCRIPTIONS: Record<Access, string> = {
  viewer: "fawkes: look at this environment (status, history, logs), never its secrets nor dumps",
  plan: "fawkes: previews of this environment (pull requests of the repository); reads configuration, writes nothing",
  deployer: "fawkes: releases and rollbacks of this environment (its GitHub environment's jobs)",
  admin: "fawkes: administer this environment (MFA required)",
};

/**
 * The four IAM roles people and pipelines use on one environment: `viewer`, `plan` (a pull
 * request's previews), `deployer` (releases from the environment's GitHub environment) and `admin`
 * (everything, people with MFA). Least-privilege inline policies, no AWS managed policy but the
 * admin's AdministratorAccess.
 */
export class AccessRoles extends pulumi.ComponentResource {
  readonly roleArns: Record<Access, pulumi.Output<string>>;

  constructor(name: string, args: AccessRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:access:AccessRoles", name, {}, opts);
    const roles = buildAccessRoles(this, name, args);
    this.roleArns = { viewer: roles.viewer.arn, plan: roles.plan.arn, deployer: roles.deployer.arn, admin: roles.admin.arn };
    this.registerOutputs({ roleArns: this.roleArns });
  }
}

export function buildAccessRoles(parent: pulumi.Resource, name: string, args: AccessRolesArgs): Record<Access, aws.iam.Role> {
  const opts = { parent };
  const github = args.githubRepository ? { repository: args.githubRepository, environment: args.githubEnvironment } : undefined;
  const scope = pulumi.all([args.accountId, pulumi.all(args.launchTemplateArns)]).apply(([accountId, launchTemplateArns]): AccessScope => ({ ...args.scope, accountId, launchTemplateArns }));
  const role = (access: Access) => {
    const roleName = nameOf("iamRole", args.nameParts, access);
    const r = new aws.iam.Role(
      `${name}-${access}`,
      {
        name: roleName,
        description: DESCRIPTIONS[access],
        assumeRolePolicy: pulumi.output(args.accountId).apply((id) => JSON.stringify(trustPolicy(access, id, github))),
        tags: { ...tagged(args.tags, roleName), [ACCESS_TAG]: access },
      },
      opts,
    );
    if (access === "admin") new aws.iam.RolePolicyAttachment(`${name}-admin-managed`, { role: r.name, policyArn: ADMINISTRATOR_POLICY_ARN }, opts);
    else new aws.iam.RolePolicy(`${name}-${access}-access`, { role: r.name, name: `fawkes-${access}`, policy: scope.apply((s) => JSON.stringify(POLICIES[access](s))) }, opts);
    return r;
  };
  return { viewer: role("viewer"), plan: role("plan"), deployer: role("deployer"), admin: role("admin") };
}
