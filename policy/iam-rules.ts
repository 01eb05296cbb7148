// Rules on who may do what: admin, or a way to make oneself admin, belongs to the environment's admin
// role and nobody else; no role reads everything (ReadOnlyAccess); and a pull request's GitHub token
// reaches the plan role only, and a role that writes never.
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { isAdminRole } from "./admin-role";
import { asList, grantsAdmin, statementsOf } from "./iam-grants";
import { GITHUB_OIDC_HOST, PULL_REQUEST_SUBJECT, pullRequestTrust, trustsGitHub, writesOf } from "./pull-requests";
import { ACCESS_TAG, forTypes, list, refersTo, TYPES, type Props } from "./resources";

/** AWS's managed policies that are admin or make it: IAMFullAccess attaches AdministratorAccess to anything. */
const ADMIN_POLICIES = /^arn:aws[a-z-]*:iam::aws:policy\/(AdministratorAccess|IAMFullAccess)$/;
const adminPolicyOf = (arn: unknown) => (typeof arn === "string" ? ADMIN_POLICIES.exec(arn)?.[1] : undefined);

/** The stack's role a `role` property names (by name, id or dependency). */
function roleOf(dependent: PolicyResource, roles: readonly PolicyResource[]): PolicyResource | undefined {
  return roles.find((r) => refersTo(dependent, "role", r, [r.props?.name, r.props?.id, r.props?.arn]));
}

/** A role's name as a `role` property gives it: a name, or an ARN. */
const roleNameIn = (value: unknown) => (typeof value === "string" ? value.replace(/^arn:[^:]*:iam::\d*:role\/(?:.*\/)?/, "") : undefined);

const FIX = `only the environment's admin role (made by AccessRoles, tagged ${ACCESS_TAG}=admin, assumed by the account's people with MFA) may; scope the actions and resources`;

export const noAdminOutsideAdminRole: StackValidationPolicy = {
  name: "no-admin-outside-admin-role",
  description:
    "No IAM policy grants admin except to the environment's admin role: no statement allows, once its wildcards are expanded (NotAction and NotResource included), " +
    "an action that changes permissions (iam:AttachRolePolicy, iam:PutRolePolicy, iam:CreatePolicyVersion, iam:PassRole…) on every resource it acts on or on its own role, " +
    `and no AdministratorAccess or IAMFullAccess is attached. The admin role is the AccessRoles component's, tagged ${ACCESS_TAG}=admin and trusted by the account with MFA only.`,
  enforcementLevel: "mandatory",
  validateStack: async (args, report) => {
    const roles = args.resources.filter((r) => r.type === TYPES.role);
    const roleLabel = (holder: PolicyResource) => {
      const role = roleOf(holder, roles);
      return { admin: role !== undefined && isAdminRole(role), name: String(role?.props?.name ?? roleNameIn(holder.props?.role) ?? "?") };
    };
    for (const r of args.resources) {
      switch (r.type) {
        case TYPES.role: {
          if (isAdminRole(r)) break;
          const name = String(r.props?.name ?? r.name);
          for (const [i, p] of list(r.props?.inlinePolicies).entries()) {
            for (const found of await grantsAdmin(p?.policy, name)) report(`role ${name}'s inlinePolicies[${i}] allows ${found}; ${FIX}`, r.urn);
          }
          for (const arn of list(r.props?.managedPolicyArns)) if (adminPolicyOf(arn)) report(`role ${name} gets ${adminPolicyOf(arn)} (managedPolicyArns); ${FIX}`, r.urn);
          break;
        }
        case TYPES.rolePolicy: {
          const role = roleLabel(r);
          if (role.admin) break;
          for (const found of await grantsAdmin(r.props?.policy, role.name)) report(`the inline policy ${r.name} of role ${role.name} allows ${found}; ${FIX}`, r.urn);
          break;
        }
        case TYPES.rolePolicyAttachment: {
          const role = roleLabel(r);
          if (adminPolicyOf(r.props?.policyArn) && !role.admin) report(`role ${role.name} gets ${adminPolicyOf(r.props?.policyArn)}; ${FIX}`, r.urn);
          break;
        }
        case TYPES.managedPolicy:
          for (const found of await grantsAdmin(r.props?.policy)) report(`the managed policy ${r.name} allows ${found}; attach AWS's AdministratorAccess to the admin role instead`, r.urn);
          break;
        case TYPES.userPolicy:
        case TYPES.groupPolicy:
          for (const found of await grantsAdmin(r.props?.policy)) report(`${r.name} gives a user or group ${found}; ${FIX}`, r.urn);
          break;
        case TYPES.userPolicyAttachment:
        case TYPES.groupPolicyAttachment:
          if (adminPolicyOf(r.props?.policyArn)) report(`${r.name} gives a user or group ${adminPolicyOf(r.props?.policyArn)}; ${FIX}`, r.urn);
          break;
        case TYPES.policyAttachment:
          if (adminPolicyOf(r.props?.policyArn)) {
            const others = list(r.props?.users).length + list(r.props?.groups).length;
            const nonAdmin = list(r.props?.roles).filter((name) => !roles.some((role) => isAdminRole(role) && role.props?.name === name));
            if (others > 0 || nonAdmin.length > 0) report(`${r.name} gives ${adminPolicyOf(r.props?.policyArn)} to more than the admin role; ${FIX}`, r.urn);
          }
          break;
      }
    }
  },
};

const READ_ONLY_ACCESS = /^arn:aws[a-z-]*:iam::aws:policy\/ReadOnlyAccess$/;

export const noReadOnlyAccess: ResourceValidationPolicy = {
  name: "no-read-only-access",
  description:
    "No role, user or group gets AWS's ReadOnlyAccess: it reads every environment's SecureString parameters (GetParametersByPath) and every bucket's objects, database dumps included. Give the role fawkes makes for looking (fawkes:access=viewer) instead.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const fix = `attach nothing of AWS's; use the environment's viewer role (${ACCESS_TAG}=viewer), whose inline policy denies parameter values, secrets and dumps`;
    const arns =
      args.type === TYPES.role
        ? list(args.props?.managedPolicyArns)
        : [TYPES.rolePolicyAttachment, TYPES.userPolicyAttachment, TYPES.groupPolicyAttachment, TYPES.policyAttachment].includes(args.type as never)
          ? [args.props?.policyArn]
          : [];
    if (arns.some((a) => READ_ONLY_ACCESS.test(String(a)))) report(`${args.name} attaches ReadOnlyAccess, which reads every stack's secrets (ssm:GetParametersByPath) and dumps; ${fix}`);
  },
};

export const githubTrustScoped: ResourceValidationPolicy = {
  name: "github-trust-scoped",
  description:
    `A role GitHub Actions may assume names the audience sts.amazonaws.com and exact subjects (StringEquals, no pattern); only the role tagged ${ACCESS_TAG}=plan may trust pull requests (sub repo:OWNER/REPO:pull_request), so a pull request's code never gets a role that deploys.`,
  enforcementLevel: "mandatory",
  validateResource: forTypes([TYPES.role], (props, report) => {
    const name = String(props.name ?? "?");
    const access = props.tags?.[ACCESS_TAG];
    for (const st of statementsOf(props.assumeRolePolicy)) {
      if (!trustsGitHub(st)) continue;
      const equals = (st.Condition?.StringEquals ?? {}) as Props;
      const aud = asList(equals[`${GITHUB_OIDC_HOST}:aud`]);
      const sub = asList(equals[`${GITHUB_OIDC_HOST}:sub`]).map(String);
      const patterns = Object.entries((st.Condition ?? {}) as Props).filter(([op, keys]) => op !== "StringEquals" && Object.keys(keys ?? {}).some((k) => k.startsWith(`${GITHUB_OIDC_HOST}:`)));
      if (aud.length !== 1 || aud[0] !== "sts.amazonaws.com") report(`role ${name} trusts GitHub tokens without StringEquals ${GITHUB_OIDC_HOST}:aud = sts.amazonaws.com; add it`);
      if (sub.length === 0 || patterns.length > 0 || sub.some((s) => /[*?]/.test(s))) {
        report(`role ${name} trusts GitHub tokens by a pattern or without a subject (${patterns.map(([op]) => op).join(", ") || sub.join(", ") || "no sub"}); name each subject with StringEquals ${GITHUB_OIDC_HOST}:sub, like repo:OWNER/REPO:environment:NAME`);
      }
      const pullRequests = sub.filter((s) => PULL_REQUEST_SUBJECT.test(s));
      if (pullRequests.length > 0 && access !== "plan") {
        report(
          `role ${name} (${ACCESS_TAG}=${String(access ?? "none")}) trusts pull requests (sub ${pullRequests.join(", ")}): any pull request's code would get it; only the role tagged ${ACCESS_TAG}=plan may, and a deploy role trusts its GitHub environment only (repo:OWNER/REPO:environment:NAME)`,
        );
      }
    }
  }),
};

/** `s3:PutObject, s3:DeleteObject, sqs:SendMessage and 12 more`. */
const someOf = (actions: string[]) => (actions.length > 3 ? `${actions.slice(0, 3).join(", ")} and ${actions.length - 3} more` : actions.join(", "));

const READ_ONLY_FIX =
  `a pull request's code runs with it, so it may only read (Describe, Get, List), like the environment's plan role; ` +
  "releases come from jobs of a GitHub environment (sub repo:OWNER/REPO:environment:NAME) with the deployer role";

export const pullRequestRolesReadOnly: StackValidationPolicy = {
  name: "pull-request-roles-read-only",
  description:
    "A role a pull request's GitHub Actions jobs may assume (sub repo:OWNER/REPO:pull_request, a pattern or negation on sub, or no sub) may write nothing, whatever it is tagged: " +
    "none of its inline policies, the inline policies put on it, nor the managed policies the stack declares and attaches to it allows an action AWS classes as Write " +
    "(permissions management and tagging included), and no policy the pack cannot read (AWS's managed ones) is attached to it.",
  enforcementLevel: "mandatory",
  validateStack: async (args, report) => {
    const roles = args.resources.filter((r) => r.type === TYPES.role);
    const managed = args.resources.filter((r) => r.type === TYPES.managedPolicy);
    for (const role of roles) {
      const how = pullRequestTrust(role.props?.assumeRolePolicy);
      if (how === undefined) continue;
      const name = String(role.props?.name ?? role.name);
      const documents: Array<[string, unknown]> = list(role.props?.inlinePolicies).map((p: Props, i) => [`its inlinePolicies[${i}]`, p?.policy]);
      // A managed policy by its ARN, and the resource that attaches it (whose dependency may name it).
      const attached: Array<[unknown, PolicyResource]> = list(role.props?.managedPolicyArns).map((arn) => [arn, role]);
      for (const r of args.resources) {
        const onRole = r.type === TYPES.policyAttachment ? list(r.props?.roles).includes(role.props?.name) : roleOf(r, roles) === role;
        if (!onRole) continue;
        if (r.type === TYPES.rolePolicy) documents.push([`the inline policy ${r.name}`, r.props?.policy]);
        if (r.type === TYPES.rolePolicyAttachment || r.type === TYPES.policyAttachment) attached.push([r.props?.policyArn, r]);
      }
      for (const [arn, by] of attached) {
        const policy = managed.find((m) => (m.props?.arn !== undefined && m.props.arn === arn) || (by !== role && refersTo(by, "policyArn", m, [m.props?.arn])));
        if (policy) documents.push([`the managed policy ${policy.name}`, policy.props?.policy]);
        else report(`role ${name} trusts pull requests (${how}), and gets ${String(arn)}, which the pack cannot read; ${READ_ONLY_FIX}`, role.urn);
      }
      for (const [where, document] of documents) {
        const writes = await writesOf(document);
        if (writes.length > 0) report(`role ${name} trusts pull requests (${how}), and ${where} allows writes (${someOf(writes)}); ${READ_ONLY_FIX}`, role.urn);
      }
    }
  },
};
