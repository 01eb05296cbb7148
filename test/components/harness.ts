// Pulumi mocks for the component tests: every resource registered is captured with its type,
// logical name, inputs and the state the mock answered; invokes get fixed answers. The mocks
// themselves are src/plan/program.ts's, the ones `fawkes plan` runs programs under.
import { join } from "node:path";
import { listStacks, loadStack, readProject, templateOf, type EnvironmentSpec } from "../../src/config/index.ts";
import { Environment } from "../../components/index.ts";
import {
  installMocks,
  mapSecrets,
  MOCK_ACCOUNT,
  MOCK_AMI,
  MOCK_LATEST_VERSION,
  MOCK_ZONES,
  pulumiConfigOf as configOf,
  resolved,
  settle,
  withoutStackTraces,
  type CapturedResource,
} from "../../src/plan/program.ts";
import type { StackGraph as Graph } from "../../src/plan/stack-graph.ts";
import { testReleaseSums } from "../helpers/release-sums.ts";

export { installMocks, resolved, settle, withoutStackTraces };
export type { CapturedInvoke, CapturedResource, Props } from "../../src/plan/program.ts";

export const ROOT = join(import.meta.dirname, "../..");
export const ACCOUNT = MOCK_ACCOUNT;
export const ZONES = MOCK_ZONES;
export const AMI = MOCK_AMI;
/** What the mock answers as `latestVersion` of every launch template. */
export const LATEST_VERSION = MOCK_LATEST_VERSION;

export interface StackGraph extends Graph {
  invokes: import("../../src/plan/program.ts").CapturedInvoke[];
  outputs: { urls: Record<string, string>; fleets: Record<string, string>; loadBalancerDnsName: string };
}

/** Inputs as plain values: a secret reaches the mock as `{ <sig>: <secret>, value }`. */
export function unwrapSecrets(v: unknown): unknown {
  return mapSecrets(v, (x) => x);
}

/** Builds one environment under mocks and waits until every resource has been registered. */
export async function captureEnvironment(spec: EnvironmentSpec): Promise<StackGraph> {
  const { resources, invokes } = await installMocks(spec.project, spec.stack);
  return withoutStackTraces(async () => {
    // The sums a deploy would read of the tests' own artifacts of the stack's pins.
    const env = new Environment(spec.project, { spec, releaseSums: testReleaseSums(spec) });
    const outputs = { urls: env.urls, fleets: await resolved(env.fleets), loadBalancerDnsName: await resolved(env.loadBalancerDnsName) };
    await settle(resources);
    return { spec, resources, invokes, outputs };
  });
}

export function stacksOfTheRepository(): string[] {
  return listStacks(readProject(ROOT));
}

/** The repository's stacks with a network (and a database server) of their own: every stack but the QA ones, which use their parent's. */
export function stacksWithoutParent(): string[] {
  return stacksOfTheRepository().filter((s) => templateOf(s) !== "qa");
}

export function specOf(stack: string): EnvironmentSpec {
  return loadStack(ROOT, stack);
}

/** Every stack of the repository, built under mocks one after the other. */
export async function captureEveryStack(): Promise<StackGraph[]> {
  const graphs: StackGraph[] = [];
  for (const stack of stacksOfTheRepository()) graphs.push(await captureEnvironment(specOf(stack)));
  return graphs;
}

export function ofType(graph: StackGraph, type: string): CapturedResource[] {
  return graph.resources.filter((r) => r.type === type);
}

export function one(graph: StackGraph, type: string, name: string): CapturedResource {
  const r = graph.resources.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`${graph.spec.stack}: no ${type} named ${name}; have ${graph.resources.filter((x) => x.type === type).map((x) => x.name).join(", ")}`);
  return r;
}

/** The config Pulumi hands the program of one of the repository's stacks. */
export function pulumiConfigOf(stack: string, extra: Record<string, unknown> = {}): Record<string, string> {
  return configOf(ROOT, stack, extra);
}
