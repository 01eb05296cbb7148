// Pulumi mocks for the component tests: every resource registered is captured with its type,
// logical name, inputs and the state the mock answered; invokes get fixed answers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { listStacks, loadStack, readProject, stackFile, type EnvironmentSpec } from "../../src/config/index.ts";
import { Environment } from "../../components/index.ts";

export const ROOT = join(import.meta.dirname, "../..");
export const ACCOUNT = "123456789012";
export const ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
export const AMI = { id: "ami-0f00d00000000fa3e", rootDeviceName: "/dev/xvda", name: "debian-12-amd64-20261101-1234" };
/** What the mock answers as `latestVersion` of every launch template. */
export const LATEST_VERSION = 1;

/* eslint-disable @typescript-eslint/no-explicit-any -- resource inputs are untyped wire values */
export type Props = Record<string, any>;

export interface CapturedResource {
  type: string;
  name: string;
  urn: string;
  id: string;
  inputs: Props;
  /** Inputs plus the outputs the mock made up: what a stack policy sees. */
  state: Props;
  /** `<provider urn>::<id>` when an explicit provider manages it. */
  provider?: string;
}

export interface CapturedInvoke {
  token: string;
  inputs: Props;
  provider?: string;
}

export interface StackGraph {
  spec: EnvironmentSpec;
  resources: CapturedResource[];
  invokes: CapturedInvoke[];
  outputs: { urls: Record<string, string>; fleets: Record<string, string>; loadBalancerDnsName: string };
}

/** Outputs a resource of this type reports, beyond its inputs: every one the components read. */
function madeUpOutputs(type: string, name: string, inputs: Props): { id: string; extra: Props } {
  const region = "eu-west-1";
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { id: inputs.bucket, extra: { arn: `arn:aws:s3:::${inputs.bucket}` } };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { id: `lt-${name}`, extra: { latestVersion: LATEST_VERSION, defaultVersion: LATEST_VERSION, arn: `arn:aws:ec2:${region}:${ACCOUNT}:launch-template/lt-${name}` } };
    case "aws:lb/loadBalancer:LoadBalancer":
      return { id: `alb-${name}`, extra: { arn: `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:loadbalancer/app/${inputs.name}/0`, dnsName: `${inputs.name}.${region}.elb.amazonaws.com`, zoneId: "Z32O12XQLNTSW2" } };
    case "aws:lb/targetGroup:TargetGroup":
      return { id: `tg-${name}`, extra: { arn: `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:targetgroup/${inputs.name}/0`, arnSuffix: `targetgroup/${inputs.name}/0` } };
    case "aws:efs/fileSystem:FileSystem":
      return { id: `fs-${name}`, extra: { arn: `arn:aws:elasticfilesystem:${region}:${ACCOUNT}:file-system/fs-${name}`, dnsName: `fs-${name}.efs.${region}.amazonaws.com` } };
    case "aws:efs/accessPoint:AccessPoint":
      return { id: `fsap-${name}`, extra: { arn: `arn:aws:elasticfilesystem:${region}:${ACCOUNT}:access-point/fsap-${name}` } };
    case "aws:iam/role:Role":
      return { id: inputs.name, extra: { arn: `arn:aws:iam::${ACCOUNT}:role/${inputs.name}` } };
    case "aws:iam/instanceProfile:InstanceProfile":
      return { id: inputs.name, extra: { arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${inputs.name}` } };
    case "aws:dynamodb/table:Table":
      return { id: inputs.name, extra: { arn: `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${inputs.name}` } };
    case "aws:autoscaling/group:Group":
      return { id: inputs.name, extra: { arn: `arn:aws:autoscaling:${region}:${ACCOUNT}:autoScalingGroup:0:autoScalingGroupName/${inputs.name}` } };
    default:
      return { id: `${name}-id`, extra: { arn: `arn:aws:mock:${region}:${ACCOUNT}:${type.split(":")[2]}/${name}` } };
  }
}

function answerInvoke(token: string): Props {
  switch (token) {
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { id: "eu-west-1", names: ZONES, zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"], groupNames: ["eu-west-1"] };
    case "aws:ec2/getAmi:getAmi":
      return { ...AMI, architecture: "x86_64", arn: `arn:aws:ec2:eu-west-1::image/${AMI.id}`, blockDeviceMappings: [], ownerId: "136693071363" };
    default:
      throw new Error(`the component tests do not expect the invoke ${token}`);
  }
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Inputs as plain values: a secret reaches the mock as `{ <sig>: <secret>, value }`. */
export function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    const o = v as Props;
    if (o[SECRET_SIG] === SECRET_VALUE) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

/** Installs fresh mocks for one stack; the returned arrays fill as the program registers. */
export async function installMocks(project: string, stack: string): Promise<{ resources: CapturedResource[]; invokes: CapturedInvoke[] }> {
  const resources: CapturedResource[] = [];
  const invokes: CapturedInvoke[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const inputs = unwrapSecrets(args.inputs) as Props;
        const { id, extra } = madeUpOutputs(args.type, args.name, inputs);
        const state = { ...inputs, ...extra };
        resources.push({ type: args.type, name: args.name, urn: `urn:pulumi:${stack}::${project}::${args.type}::${args.name}`, id, inputs, state, provider: args.provider });
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        invokes.push({ token: args.token, inputs: args.inputs as Props, provider: args.provider });
        return answerInvoke(args.token);
      },
    },
    project,
    stack,
    false,
  );
  return { resources, invokes };
}

export function resolved<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/**
 * Pulumi takes a stack trace for every resource and every internal promise (source positions,
 * leak reports); vitest's source-mapping formatter makes that four times slower. Under mocks
 * nothing reads them, so while a program registers, traces are not formatted at all.
 */
export async function withoutStackTraces<T>(work: () => Promise<T>): Promise<T> {
  const saved = Error.prepareStackTrace;
  Error.prepareStackTrace = () => "";
  try {
    return await work();
  } finally {
    Error.prepareStackTrace = saved;
  }
}

/** Builds one environment under mocks and waits until every resource has been registered. */
export async function captureEnvironment(spec: EnvironmentSpec): Promise<StackGraph> {
  const { resources, invokes } = await installMocks(spec.project, spec.stack);
  return withoutStackTraces(async () => {
    const env = new Environment(spec.project, { spec });
    const outputs = { urls: env.urls, fleets: await resolved(env.fleets), loadBalancerDnsName: await resolved(env.loadBalancerDnsName) };
    await settle(resources);
    return { spec, resources, invokes, outputs };
  });
}

/** Waits until no resource has been registered for a few turns of the event loop. */
export async function settle(resources: readonly unknown[]): Promise<void> {
  let quietTurns = 0;
  let seen = -1;
  while (quietTurns < 5) {
    await new Promise((r) => setImmediate(r));
    if (resources.length === seen) quietTurns++;
    else {
      seen = resources.length;
      quietTurns = 0;
    }
  }
}

export function stacksOfTheRepository(): string[] {
  return listStacks(readProject(ROOT));
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

/**
 * The config Pulumi hands the program of a stack (`pulumi.runtime.allConfig()`): the project's
 * config from Pulumi.yaml and the stack file's, keys `namespace:key`, every value a string
 * (objects, arrays and numbers JSON-encoded).
 */
export function pulumiConfigOf(stack: string, extra: Record<string, unknown> = {}): Record<string, string> {
  const project = readProject(ROOT);
  const file = parseYaml(readFileSync(join(ROOT, stackFile(project, stack)), "utf8")) as { config?: Record<string, unknown> };
  const values: Record<string, unknown> = { ...project.layer.values, ...(file.config ?? {}), ...extra };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k.includes(":") ? k : `${project.name}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}
