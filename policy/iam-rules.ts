// Rules on who may do what: `*` on `*` belongs to the environment's admin role and nobody else, no
// role reads everything (ReadOnlyAccess), and a pull request's GitHub token reaches the plan role only.
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { ACCESS_TAG, forTypes, list, refersTo, TYPES, type Props } from "./resources";

const ADMINISTRATOR_ACCESS = /^arn:aws[a-z-]*:iam::aws:policy\/AdministratorAccess$/;

/** The statements of a policy document, given as JSON text or as an object; none when unreadable (unknown at preview). */
export function statementsOf(document: unknown): Props[] {
  let doc = document;
  if (typeof doc === "string") {
    try {
      doc = JSON.parse(doc);
    } catch {
      return [];
    }
  }
  const statement = (doc as Props | undefined)?.Statement;
  return (Array.isArray(statement) ? statement : statement ? [statement] : []).filter((s) => s && typeof s === "object");
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Whether a document allows every action on every resource. */
export function allowsEverything(document: unknown): boolean {
  return statementsOf(document).some(
    (s) => s.Effect === "Allow" && asList(s.Action).some((a) => a === "*" || a === "*:*") && asList(s.Resource).includes("*"),
  );
}

const isAdminRole = (r: PolicyResource) => r.type === TYPES.role && r.props?.tags?.[ACCESS_TAG] === "admin";

/** The stack's role a `role` property names (by name, id or dependency). */
function roleOf(dependent: PolicyResource, roles: readonly PolicyResource[]): PolicyResource | undefined {
  return roles.find((r) => refersTo(dependent, "role", r, [r.props?.name, r.props?.id, r.props?.arn]));
}

const FIX = `only the role tagged ${ACCESS_TAG}=admin may; scope the actions and resources`;

export const noAdminOutsideAdminRole: StackValidationPolicy = {
  name: "no-admin-outside-admin-role",
  description: `No IAM policy allows "*" on "*" (inline, managed, or AWS's AdministratorAccess attached) except on the environment's role tagged ${ACCESS_TAG}=admin.`,
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const roles = args.resources.filter((r) => r.type === TYPES.role);
    const roleLabel = (r: PolicyResource, holder: PolicyResource) => {
      const role = roleOf(holder, roles);
      return { admin: role !== undefined && isAdminRole(role), name: String(role?.props?.name ?? holder.props?.role ?? "?") };
    };
    for (const r of args.resources) {
      switch (r.type) {
        case TYPES.role:
          list(r.props?.inlinePolicies).forEach((p, i) => {
            if (allowsEverything(p?.policy) && !isAdminRole(r)) report(`role ${String(r.props?.name ?? r.name)}'s inlinePolicies[${i}] allows "*" on "*"; ${FIX}`, r.urn);
          });
          break;
        case TYPES.rolePolicy: {
          const role = roleLabel(r, r);
          if (allowsEverything(r.props?.policy) && !role.admin) report(`the inline policy ${r.name} of role ${role.name} allows "*" on "*"; ${FIX}`, r.urn);
          break;
        }
        case TYPES.rolePolicyAttachment: {
          const role = roleLabel(r, r);
          if (ADMINISTRATOR_ACCESS.test(String(r.props?.policyArn)) && !role.admin) report(`role ${role.name} gets AdministratorAccess; ${FIX}`, r.urn);
          break;
        }
        case TYPES.managedPolicy:
          if (allowsEverything(r.props?.policy)) report(`the managed policy ${r.name} allows "*" on "*"; attach AWS's AdministratorAccess to the admin role instead`, r.urn);
          break;
        case TYPES.userPolicy:
        case TYPES.groupPolicy:
          if (allowsEverything(r.props?.policy)) report(`${r.name} gives a user or group "*" on "*"; ${FIX}`, r.urn);
          break;
        case TYPES.userPolicyAttachment:
        case TYPES.groupPolicyAttachment:
          if (ADMINISTRATOR_ACCESS.test(String(r.props?.policyArn))) report(`${r.name} gives a user or group AdministratorAccess; ${FIX}`, r.urn);
          break;
        case TYPES.policyAttachment:
          if (ADMINISTRATOR_ACCESS.test(String(r.props?.policyArn))) {
            const others = list(r.props?.users).length + list(r.props?.groups).length;
            const nonAdmin = list(r.props?.roles).filter((name) => !roles.some((role) => isAdminRole(role) && role.props?.name === name));
            if (others > 0 || nonAdmin.length > 0) report(`${r.name} gives AdministratorAccess to more than the admin role; ${FIX}`, r.urn);
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

/** GitHub Actions' OIDC issuer (components/access-policies.ts). */
const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
const PULL_REQUEST_SUBJECT = /:pull_request$/;

export const githubTrustScoped: ResourceValidationPolicy = {
  name: "github-trust-scoped",
  description:
    `A role GitHub Actions may assume names the audience sts.amazonaws.com and exact subjects (StringEquals, no pattern); only the role tagged ${ACCESS_TAG}=plan may trust pull requests (sub repo:OWNER/REPO:pull_request), so a pull request's code never gets a role that deploys.`,
  enforcementLevel: "mandatory",
  validateResource: forTypes([TYPES.role], (props, report) => {
    const name = String(props.name ?? "?");
    const access = props.tags?.[ACCESS_TAG];
    for (const st of statementsOf(props.assumeRolePolicy)) {
      const federated = asList((st.Principal as Props | undefined)?.Federated).map(String);
      if (st.Effect !== "Allow" || !federated.some((f) => f.endsWith(`oidc-provider/${GITHUB_OIDC_HOST}`))) continue;
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
