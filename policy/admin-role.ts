// Which role is the environment's admin role. The tag fawkes:access=admin is a claim any role can
// make about itself; the real one is also the AccessRoles component's (components/access-roles.ts)
// and only the account's people with MFA may assume it, so a role that copies the tag gains nothing.
import type { PolicyResource } from "@pulumi/policy";
import { asList, statementsOf } from "./iam-grants";
import { ACCESS_TAG, TYPES, type Props } from "./resources";

/** The type token of the component that makes the access roles. */
export const ACCESS_ROLES_TYPE = "fawkes:access:AccessRoles";

const ACCOUNT_ROOT = /^(?:arn:aws[a-z-]*:iam::(\d{12}):root|(\d{12}))$/;
const ROLE_ACCOUNT = /^arn:aws[a-z-]*:iam::(\d{12}):role\//;

/** The type of a resource's parent: the engine gives the parent, and its URN carries the parents' types (`A$B$type`). */
export function parentTypeOf(r: PolicyResource): string | undefined {
  if (r.parent) return r.parent.type;
  const chain = (r.urn.split("::")[2] ?? "").split("$");
  return chain.length > 1 ? chain[chain.length - 2] : undefined;
}

/** `Bool`, never `BoolIfExists`: the latter lets in a request that carries no MFA information at all. */
function requiresMfa(condition: Props | undefined): boolean {
  const values = asList(condition?.Bool?.["aws:MultiFactorAuthPresent"]);
  return values.length > 0 && values.every((v) => v === true || v === "true");
}

/** Whether a trust policy lets in the role's own account's principals with MFA, by sts:AssumeRole, and nobody else. */
export function trustsOnlyTheAccountWithMfa(trust: unknown, roleArn: unknown): boolean {
  const own = typeof roleArn === "string" ? ROLE_ACCOUNT.exec(roleArn)?.[1] : undefined;
  const allows = statementsOf(trust).filter((s) => s.Effect !== "Deny");
  return (
    allows.length > 0 &&
    allows.every((s) => {
      if (s.Effect !== "Allow" || s.NotPrincipal !== undefined || s.NotAction !== undefined) return false;
      const principal = s.Principal as Props | undefined;
      if (!principal || typeof principal !== "object" || Object.keys(principal).join() !== "AWS") return false;
      const accounts = asList(principal.AWS).map((p) => ACCOUNT_ROOT.exec(String(p)));
      const actions = asList(s.Action).map((a) => String(a).toLowerCase());
      return (
        accounts.length > 0 &&
        accounts.every((m) => m !== null && (own === undefined || (m[1] ?? m[2]) === own)) &&
        actions.length > 0 &&
        actions.every((a) => a === "sts:assumerole") &&
        requiresMfa(s.Condition)
      );
    })
  );
}

/** Whether a role is the environment's admin role: tagged so, made by AccessRoles, assumed only by the account with MFA. */
export function isAdminRole(r: PolicyResource): boolean {
  return (
    r.type === TYPES.role &&
    r.props?.tags?.[ACCESS_TAG] === "admin" &&
    parentTypeOf(r) === ACCESS_ROLES_TYPE &&
    trustsOnlyTheAccountWithMfa(r.props?.assumeRolePolicy, r.props?.arn)
  );
}
