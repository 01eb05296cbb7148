// Rules on who may do what: `*` on `*` belongs to the environment's admin role and nobody else.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { ACCESS_TAG, list, refersTo, TYPES, type Props } from "./resources";

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
