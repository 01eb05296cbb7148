// Runs the policy pack's rules the way the engine would, on resources captured under mocks.
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import type { CapturedResource, Props } from "./harness.ts";

/** A resource as a policy sees it. */
export interface PolicyInput {
  type: string;
  name: string;
  urn?: string;
  /** The URN of its parent component, as the engine would give it. */
  parent?: string;
  props: Props;
}

const notUsed = (what: string) => () => {
  throw new Error(`the fawkes rules do not call ${what}`);
};

function resourceArgs(r: PolicyInput): ResourceValidationArgs {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn ?? `urn:pulumi:test::fawkes::${r.type}::${r.name}`,
    props: r.props,
    opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
    stackTags: new Map(),
    isType: notUsed("isType"),
    asType: notUsed("asType"),
    getConfig: notUsed("getConfig"),
    notApplicable: notUsed("notApplicable"),
  };
}

/** The violations one resource policy reports for one resource. */
export async function violationsOf(policy: ResourceValidationPolicy, r: PolicyInput): Promise<string[]> {
  const out: string[] = [];
  const validations = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
  for (const v of validations) await v(resourceArgs(r), (message) => out.push(message));
  return out;
}

/**
 * The parent of each captured resource. The mocks record none, but fawkes names a child
 * `${parent}-<role>` (STYLE.md), so it is the component whose name is the longest such prefix.
 */
function parentsOf(resources: ReadonlyArray<CapturedResource | PolicyInput>): Map<string, string> {
  const components = resources.filter((r): r is CapturedResource => "custom" in r && !r.custom);
  const parents = new Map<string, string>();
  for (const r of resources) {
    if ("parent" in r && r.parent !== undefined) parents.set(urnOf(r), r.parent);
    if (!("custom" in r)) continue;
    const parent = components.filter((c) => r.name.startsWith(`${c.name}-`)).sort((a, b) => b.name.length - a.name.length)[0];
    if (parent) parents.set(r.urn, parent.urn);
  }
  return parents;
}

const urnOf = (r: CapturedResource | PolicyInput) => r.urn ?? `urn:pulumi:test::fawkes::${r.type}::${r.name}`;

/** Resources as a stack policy sees them: their state (inputs and outputs), with ids and parents. */
export function stackResources(resources: ReadonlyArray<CapturedResource | PolicyInput>): PolicyResource[] {
  const out = resources.map((r) => {
    const props = "state" in r ? { ...r.state, id: r.id } : r.props;
    return {
      type: r.type,
      name: r.name,
      urn: urnOf(r),
      props,
      opts: resourceArgs({ type: r.type, name: r.name, props }).opts,
      dependencies: [],
      propertyDependencies: {},
      isType: notUsed("isType"),
      asType: notUsed("asType"),
    } as PolicyResource;
  });
  const parents = parentsOf(resources);
  for (const r of out) {
    const parent = out.find((p) => p.urn === parents.get(r.urn));
    if (parent) r.parent = parent;
  }
  return out;
}

/** The violations one stack policy reports, as `message (urn)`. */
export async function stackViolationsOf(policy: StackValidationPolicy, resources: PolicyResource[]): Promise<string[]> {
  const out: string[] = [];
  const args: StackValidationArgs = { resources, stackTags: new Map(), getConfig: notUsed("getConfig"), notApplicable: notUsed("notApplicable") };
  await policy.validateStack(args, (message, urn) => out.push(urn ? `${message} (${urn})` : message));
  return out;
}
