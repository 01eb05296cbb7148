// Runs the policy pack's rules the way the engine would, on resources captured under mocks.
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import type { CapturedResource, Props } from "./harness.ts";

/** A resource as a policy sees it. */
export interface PolicyInput {
  type: string;
  name: string;
  urn?: string;
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

/** Resources as a stack policy sees them: their state (inputs and outputs), with ids. */
export function stackResources(resources: ReadonlyArray<CapturedResource | PolicyInput>): PolicyResource[] {
  return resources.map((r) => {
    const props = "state" in r ? { ...r.state, id: r.id } : r.props;
    return {
      type: r.type,
      name: r.name,
      urn: r.urn ?? `urn:pulumi:test::fawkes::${r.type}::${r.name}`,
      props,
      opts: resourceArgs({ type: r.type, name: r.name, props }).opts,
      dependencies: [],
      propertyDependencies: {},
      isType: notUsed("isType"),
      asType: notUsed("asType"),
    } as PolicyResource;
  });
}

/** The violations one stack policy reports, as `message (urn)`. */
export async function stackViolationsOf(policy: StackValidationPolicy, resources: PolicyResource[]): Promise<string[]> {
  const out: string[] = [];
  const args: StackValidationArgs = { resources, stackTags: new Map(), getConfig: notUsed("getConfig"), notApplicable: notUsed("notApplicable") };
  await policy.validateStack(args, (message, urn) => out.push(urn ? `${message} (${urn})` : message));
  return out;
}
