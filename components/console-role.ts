// The deploy console host's IAM role: for each stack the management stack manages, a managed policy
// holding that environment's deployer permissions (the document its deployer role holds), read
// against the launch templates the managed stack exports; and one of the console's own. Nothing
// on a stack it does not manage. Each policy is tagged with what it grants, which `fawkes plan` lists.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, type EnvironmentSpec, type Problem } from "../src/config/index.ts";
import { mailFrom } from "../src/errors/send.ts";
import { appLogGroup, CONSOLE_GRANT_TAG, CONSOLE_OWN_GRANT, planEnvironment, type EnvironmentPlan } from "../src/model/index.ts";
import type { AccessScope } from "./access-policies.ts";
import { consoleDeployPolicy, consoleOwnPolicy, MANAGED_POLICY_CHARACTERS, policyCharacters, type ManagedEnvironment } from "./console-policies.ts";
import { accessScopeOf } from "./environment.ts";
import { EC2_ASSUME_ROLE_POLICY, SSM_CORE_POLICY_ARN } from "./host-role.ts";
import { parentStackName } from "./parent-stack.ts";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

/** The stack output every environment exports (index.ts): per role, its launch template, group and version. */
export const LAUNCH_TEMPLATES_OUTPUT = "launchTemplates";

export interface ConsoleRoleArgs {
  /** The management stack's spec (knob console set). */
  spec: EnvironmentSpec;
  /** The specs of the stacks it manages, in the order console.manages names them. */
  managed: readonly EnvironmentSpec[];
  accountId: pulumi.Input<string>;
  /** The management stack's artifact bucket, which holds the console's bundle. */
  bundleBucket: string;
  nameParts: NameParts;
  tags: Tags;
}

export interface ConsoleRole {
  role: aws.iam.Role;
  profile: aws.iam.InstanceProfile;
  /** Per managed stack, the managed policy of its deployer permissions. */
  deployPolicies: Record<string, aws.iam.Policy>;
  ownPolicy: aws.iam.Policy;
}

/** A launch template's ARN as IAM names it: by id, in the managed stack's region. */
const launchTemplateArn = (region: string, accountId: string, id: string) => `arn:aws:ec2:${region}:${accountId}:launch-template/${id}`;

/** What the console needs of one managed stack, once its launch templates' ids are known. */
export function managedEnvironment(plan: EnvironmentPlan, accountId: string, launchTemplateIds: readonly string[]): ManagedEnvironment {
  const { spec } = plan;
  const scope: AccessScope = { ...accessScopeOf(plan), accountId, launchTemplateArns: launchTemplateIds.map((id) => launchTemplateArn(spec.knobs.region, accountId, id)) };
  return {
    stack: spec.stack,
    region: spec.knobs.region,
    appLogGroups: spec.catalogue.apps.map((a) => appLogGroup(spec, a.name)),
    ...(spec.knobs.errorMail.to.length > 0 ? { mailFrom: mailFrom(spec) } : {}),
    scope,
  };
}

/** The managed stack's launch template per role it runs, from its `launchTemplates` output; a clear error for a stack not deployed yet. */
export function checkedLaunchTemplates(stack: string, roles: readonly string[], value: unknown): string[] {
  const byRole = (value ?? {}) as Record<string, { launchTemplateId?: unknown } | undefined>;
  return roles.map((role) => {
    const id = byRole[role]?.launchTemplateId;
    if (typeof id !== "string" || id === "") {
      throw new Error(`stack ${stack}'s output "${LAUNCH_TEMPLATES_OUTPUT}" has no launch template of its ${role} hosts: run pulumi up on ${stack} first (the console deploys to what it has made)`);
    }
    return id;
  });
}

/**
 * Problems the stacks' specs show before anything is made: a managed stack that is itself a
 * management stack, and a deployer policy too long for one managed policy (measured with launch
 * template ids as long as EC2's).
 */
export function managedProblems(spec: EnvironmentSpec, managed: readonly EnvironmentSpec[]): Problem[] {
  const at = (i: number, message: string): Problem => ({ file: `stack config of ${spec.stack}`, path: `config.${spec.project}:console.manages[${i}]`, message });
  return managed.flatMap((m, i) => {
    if (m.knobs.console !== undefined) return [at(i, `"${m.stack}" is itself a management stack: it runs a console and no apps, so there is nothing to deploy; list stacks that run apps`)];
    const plan = planEnvironment(m);
    const longest = managedEnvironment(plan, "123456789012", plan.hosts.map(() => "lt-0123456789abcdef0"));
    const size = policyCharacters(consoleDeployPolicy(longest));
    return size > MANAGED_POLICY_CHARACTERS
      ? [at(i, `the deployer permissions of "${m.stack}" take ${size} characters, more than the ${MANAGED_POLICY_CHARACTERS} IAM allows in one managed policy (each app's log groups add to it)`)]
      : [];
  });
}

export function buildConsoleRole(parent: pulumi.Resource, name: string, args: ConsoleRoleArgs): ConsoleRole {
  const opts = { parent };
  const knob = args.spec.knobs.console!;
  const problems = managedProblems(args.spec, args.managed);
  if (problems.length > 0) throw new ConfigError(problems);

  const roleName = nameOf("iamRole", args.nameParts, "console");
  const role = new aws.iam.Role(
    `${name}-role`,
    { name: roleName, assumeRolePolicy: EC2_ASSUME_ROLE_POLICY, description: `fawkes deploy console host: deploys ${knob.manages.join(", ")}`, tags: tagged(args.tags, roleName) },
    opts,
  );
  const attach = (label: string, policyArn: pulumi.Input<string>) => new aws.iam.RolePolicyAttachment(`${name}-${label}`, { role: role.name, policyArn }, opts);
  const policy = (label: string, grant: string, description: string, document: pulumi.Output<object>) => {
    const policyName = nameOf("iamPolicy", args.nameParts, "console", label);
    const p = new aws.iam.Policy(
      `${name}-${label}`,
      { name: policyName, description, policy: document.apply((d) => JSON.stringify(d)), tags: { ...tagged(args.tags, policyName), [CONSOLE_GRANT_TAG]: grant } },
      opts,
    );
    attach(`${label}-attachment`, p.arn);
    return p;
  };

  const environments = args.managed.map((spec) => {
    const plan = planEnvironment(spec);
    const ref = new pulumi.StackReference(`${name}-manages-${spec.stack}`, { name: parentStackName(pulumi.getOrganization(), spec.project, spec.stack) }, opts);
    const ids = ref.requireOutput(LAUNCH_TEMPLATES_OUTPUT).apply((v) => checkedLaunchTemplates(spec.stack, plan.hosts.map((h) => h.role), v));
    return pulumi.all([args.accountId, ids]).apply(([accountId, launchTemplateIds]) => managedEnvironment(plan, accountId, launchTemplateIds));
  });
  const deployPolicies = Object.fromEntries(
    args.managed.map((spec, i) => [
      spec.stack,
      policy(`deploy-${spec.stack}`, spec.stack, `fawkes console of ${args.spec.stack}: releases and rollbacks of ${spec.stack}, its deployer role's permissions`, environments[i]!.apply(consoleDeployPolicy)),
    ]),
  );
  const own = pulumi
    .all([args.accountId, pulumi.all(environments)])
    .apply(([accountId, envs]) => consoleOwnPolicy({ accountId, environments: envs, clientSecret: { region: args.spec.knobs.region, name: knob.oidc.clientSecretParameter }, bundleBucket: args.bundleBucket }));
  const ownPolicy = policy("own", CONSOLE_OWN_GRANT, `fawkes console of ${args.spec.stack}: its bundle, traceback mail, log queries, its OIDC client secret`, own);
  // Session Manager instead of SSH, as on every fawkes host.
  attach("ssm", SSM_CORE_POLICY_ARN);
  const profileName = nameOf("iamInstanceProfile", args.nameParts, "console");
  const profile = new aws.iam.InstanceProfile(`${name}-profile`, { name: profileName, role: role.name, tags: tagged(args.tags, profileName) }, opts);
  return { role, profile, deployPolicies, ownPolicy };
}
