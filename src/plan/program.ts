// The Pulumi program of a project tree, run under Pulumi's own mocks: every resource it registers
// is captured with its type, name and inputs. No cloud account, no Pulumi CLI. `fawkes plan` runs
// the program of this tree and of the base ref this way; the component tests run it too.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { readProject, stackFile } from "../config/index.ts";
import { standInSum, type ReleaseSums } from "../render/index.ts";
import { REPLACED_BY } from "./replacement.ts";

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
  /** A resource a provider manages; false for components, which only group others. */
  custom: boolean;
}

export interface CapturedInvoke {
  token: string;
  inputs: Props;
  provider?: string;
}

export const MOCK_ACCOUNT = "123456789012";
export const MOCK_REGION = "eu-west-1";
export const MOCK_ORGANIZATION = "organization";
export const MOCK_ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
/** What the mock answers to an AMI lookup: only the Image Builder pipeline's parent image is looked up. */
export const MOCK_AMI = { id: "ami-0f00d00000000fa3e", rootDeviceName: "/dev/xvda", name: "debian-13-amd64-20261101-1234" };
/** What the mock answers as `latestVersion` of every launch template. */
export const MOCK_LATEST_VERSION = 1;
/** The launch template id of a role that a stack reference reports (output `launchTemplates`). */
export const mockLaunchTemplateId = (stack: string, role: string) => `lt-${stack}-${role}`;
/** What the mock answers for an SSM parameter's value: a stand-in that names the parameter. */
export const mockParameterValue = (name: string) => `stand-in value of ${name}`;

/** Outputs a resource of this type reports beyond its inputs: every one the components read. */
function madeUpOutputs(type: string, name: string, inputs: Props): { id: string; extra: Props } {
  const region = MOCK_REGION;
  const account = MOCK_ACCOUNT;
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { id: inputs.bucket, extra: { arn: `arn:aws:s3:::${inputs.bucket}` } };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { id: `lt-${name}`, extra: { latestVersion: MOCK_LATEST_VERSION, defaultVersion: MOCK_LATEST_VERSION, arn: `arn:aws:ec2:${region}:${account}:launch-template/lt-${name}` } };
    case "aws:lb/loadBalancer:LoadBalancer":
      return { id: `alb-${name}`, extra: { arn: `arn:aws:elasticloadbalancing:${region}:${account}:loadbalancer/app/${inputs.name}/0`, arnSuffix: `app/${inputs.name}/0`, dnsName: `${inputs.name}.${region}.elb.amazonaws.com`, zoneId: "Z32O12XQLNTSW2" } };
    case "aws:lb/targetGroup:TargetGroup":
      return { id: `tg-${name}`, extra: { arn: `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/${inputs.name}/0`, arnSuffix: `targetgroup/${inputs.name}/0` } };
    case "aws:efs/fileSystem:FileSystem":
      return { id: `fs-${name}`, extra: { arn: `arn:aws:elasticfilesystem:${region}:${account}:file-system/fs-${name}`, dnsName: `fs-${name}.efs.${region}.amazonaws.com` } };
    case "aws:efs/accessPoint:AccessPoint":
      return { id: `fsap-${name}`, extra: { arn: `arn:aws:elasticfilesystem:${region}:${account}:access-point/fsap-${name}` } };
    case "aws:iam/role:Role":
      return { id: inputs.name, extra: { arn: `arn:aws:iam::${account}:role/${inputs.name}` } };
    case "aws:iam/policy:Policy":
      return { id: `arn:aws:iam::${account}:policy/${inputs.name}`, extra: { arn: `arn:aws:iam::${account}:policy/${inputs.name}`, policyId: "ANPAFAWKESMOCKPOLICY" } };
    case "aws:iam/instanceProfile:InstanceProfile":
      return { id: inputs.name, extra: { arn: `arn:aws:iam::${account}:instance-profile/${inputs.name}` } };
    case "aws:dynamodb/table:Table":
      return { id: inputs.name, extra: { arn: `arn:aws:dynamodb:${region}:${account}:table/${inputs.name}` } };
    case "aws:sqs/queue:Queue":
      return { id: `https://sqs.${region}.amazonaws.com/${account}/${inputs.name}`, extra: { arn: `arn:aws:sqs:${region}:${account}:${inputs.name}`, url: `https://sqs.${region}.amazonaws.com/${account}/${inputs.name}` } };
    case "aws:rds/instance:Instance": {
      // What RDS reports once the instance exists: its DNS name, and the secret it made for the master user.
      const address = `${inputs.identifier}.c0fawkes0000.${region}.rds.amazonaws.com`;
      const port = inputs.port ?? 5432;
      const secretArn = `arn:aws:secretsmanager:${region}:${account}:secret:rds!db-${inputs.identifier}-AbCdEf`;
      return {
        id: inputs.identifier,
        extra: { arn: `arn:aws:rds:${region}:${account}:db:${inputs.identifier}`, address, port, endpoint: `${address}:${port}`, masterUserSecrets: [{ secretArn, secretStatus: "active", kmsKeyId: `arn:aws:kms:${region}:${account}:key/aws-secretsmanager` }] },
      };
    }
    case "pulumi:pulumi:StackReference":
      return { id: inputs.name, extra: { outputs: parentOutputs(String(inputs.name)), secretOutputNames: [] } };
    case "aws:autoscaling/group:Group":
      return { id: inputs.name, extra: { arn: `arn:aws:autoscaling:${region}:${account}:autoScalingGroup:0:autoScalingGroupName/${inputs.name}` } };
    default:
      return { id: `${name}-id`, extra: { arn: `arn:aws:mock:${region}:${account}:${type.split(":")[2]}/${name}` } };
  }
}

/**
 * What a parent stack (`<org>/<project>/<stack>`) exports, as its own program would under these
 * mocks: the network's ids are the made-up ids of its resources (`<project>-network-vpc-id`), so a
 * QA stack's resources that read them look like its parent's.
 */
export function parentOutputs(reference: string): Props {
  const [, project = "", stack = ""] = reference.split("/");
  const zones = [0, 1];
  const identifier = `${project}-${stack}-db`;
  const address = `${identifier}.c0fawkes0000.${MOCK_REGION}.rds.amazonaws.com`;
  // Each role's launch template, with an id of that stack's own as EC2's are (a program under these
  // mocks names every stack's alike, lt-<logical name>): a management stack's console reads them.
  const launchTemplates = Object.fromEntries(
    ["web", "worker"].map((role) => [role, { launchTemplateId: mockLaunchTemplateId(stack, role), groupName: `${project}-${stack}-${role}`, version: String(MOCK_LATEST_VERSION) }]),
  );
  return {
    launchTemplates,
    network: {
      region: MOCK_REGION,
      vpcId: `${project}-network-vpc-id`,
      publicSubnetIds: zones.map((i) => `${project}-network-public-${i}-id`),
      privateSubnetIds: zones.map((i) => `${project}-network-private-${i}-id`),
    },
    database: {
      endpoint: `${address}:5432`,
      masterSecretArn: `arn:aws:secretsmanager:${MOCK_REGION}:${MOCK_ACCOUNT}:secret:rds!db-${identifier}-AbCdEf`,
      securityGroupId: `${project}-database-sg-id`,
    },
  };
}

/**
 * The program reads each pinned release's .sha256 from the artifact bucket (components/release-sums.ts):
 * answered from `sums`, as the bucket would answer, or with stand-in sums (a preview that reads no store).
 */
function answerGetObject(inputs: Props, sums: MockOptions["releaseSums"]): Props {
  const m = /^([^/]+)\/([^/]+)\.sha256$/.exec(String(inputs.key));
  if (!m) throw new Error(`the mocks answer getObject only for a release's .sha256, not ${inputs.key}`);
  const [, app = "", release = ""] = m;
  const sum = sums === "stand-in" ? standInSum(app, release) : sums?.[app]?.[release];
  if (sum === undefined) throw new Error(`NoSuchKey: s3://${inputs.bucket}/${inputs.key} (the mocks were given no sum for ${app} ${release})`);
  return { bucket: inputs.bucket, key: inputs.key, body: `${sum}\n`, contentType: "text/plain", id: `${inputs.bucket}/${inputs.key}` };
}

function answerInvoke(token: string, inputs: Props, opts: MockOptions): Props {
  switch (token) {
    case "aws:s3/getObject:getObject":
      return answerGetObject(inputs, opts.releaseSums);
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { id: MOCK_REGION, names: MOCK_ZONES, zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"], groupNames: [MOCK_REGION] };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { id: MOCK_ACCOUNT, accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/fawkes-tests`, userId: "AIDAFAWKESTESTS" };
    case "aws:ssm/getParameter:getParameter": {
      // Only the deploy console's OIDC client secret is read (withDecryption): a stand-in value, never a real one.
      const name = String(inputs.name);
      return { id: name, name, arn: `arn:aws:ssm:${MOCK_REGION}:${MOCK_ACCOUNT}:parameter${name}`, type: "SecureString", value: mockParameterValue(name), insecureValue: "", version: 1, withDecryption: inputs.withDecryption ?? true };
    }
    case "aws:ec2/getAmi:getAmi":
      return { ...MOCK_AMI, architecture: "x86_64", arn: `arn:aws:ec2:${MOCK_REGION}::image/${MOCK_AMI.id}`, blockDeviceMappings: [], ownerId: "136693071363" };
    default:
      throw new Error(`the mocks do not answer the invoke ${token}`);
  }
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** A secret reaches the mocks as `{ <sig>: <secret>, value }`: `reveal` unwraps it, or `mask` hides it. */
export function mapSecrets(v: unknown, secret: (value: unknown) => unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => mapSecrets(x, secret));
  if (v && typeof v === "object") {
    const o = v as Props;
    if (o[SECRET_SIG] === SECRET_VALUE) return secret(mapSecrets(o.value, secret));
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, mapSecrets(x, secret)]));
  }
  return v;
}

/** What a plan shows in place of a secret value: `[secret <keyed hash>]`. */
export const SECRET_MARK = "[secret";

/**
 * A masked secret: a hash keyed by a random key of this process, so that within one plan a
 * changed secret shows as changed and an unchanged one as unchanged, and no value can be
 * recovered or guessed from the mark.
 */
const secretKey = randomBytes(32);
export function maskSecret(value: unknown): string {
  return `${SECRET_MARK} ${createHmac("sha256", secretKey).update(JSON.stringify(value)).digest("hex").slice(0, 8)}]`;
}

export interface MockOptions {
  /** Secret inputs as their values (tests, policies) or masked by maskSecret (plans). Default: revealed. */
  secrets?: "reveal" | "mask";
  /**
   * Physical ids from the logical name only (tests: stable, readable), or also from the inputs
   * whose change replaces the resource (plans: a replaced resource gets a new id, so whatever
   * refers to it changes too, as it would in a real preview).
   */
  ids?: "by-name" | "by-replacement";
  /**
   * Applied to the replacement inputs before they are digested: writing the stack's own name as
   * a placeholder keeps the ids of two stacks alike where their resources are (identical by
   * construction is then still checked on ids too).
   */
  normalise?: (s: string) => string;
  /**
   * What the artifact bucket answers for each release's .sha256: the sums of a store (the twin's
   * bucket or the machine's store, tests' own artifacts), or "stand-in" for a preview that reads no
   * store (plan, check --target aws's resource list): sums no artifact has. Without it the read fails.
   */
  releaseSums?: ReleaseSums | "stand-in";
}

/** The id a replacement changes: the logical name's, plus a digest of the inputs that force a new resource. */
function replacementId(type: string, id: string, inputs: Props, normalise: (s: string) => string): string {
  const fields = REPLACED_BY[type];
  const identity = fields === undefined ? inputs : Object.fromEntries(fields.map((f) => [f, inputs[f]]));
  return `${id}-${createHash("sha256").update(normalise(JSON.stringify(identity ?? null))).digest("hex").slice(0, 8)}`;
}

/** Installs fresh mocks for one stack; the returned arrays fill as the program registers. */
export async function installMocks(project: string, stack: string, opts: MockOptions = {}): Promise<{ resources: CapturedResource[]; invokes: CapturedInvoke[] }> {
  const resources: CapturedResource[] = [];
  const invokes: CapturedInvoke[] = [];
  const secret = opts.secrets === "mask" ? maskSecret : (x: unknown) => x;
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        // The made-up outputs see real values (a bucket's name); what is captured may be masked.
        const real = mapSecrets(args.inputs, (x) => x) as Props;
        const made = madeUpOutputs(args.type, args.name, real);
        const id = opts.ids === "by-replacement" && args.custom !== false ? replacementId(args.type, made.id, real, opts.normalise ?? ((x) => x)) : made.id;
        // A replaced resource's ARN and DNS name change too (AWS adds a new suffix), and so do their readers.
        const suffix = id.slice(made.id.length);
        const extra = suffix === "" ? made.extra : Object.fromEntries(Object.entries(made.extra).map(([k, v]) => [k, typeof v === "string" && ["arn", "arnSuffix", "dnsName"].includes(k) ? `${v}${suffix}` : v]));
        const inputs = mapSecrets(args.inputs, secret) as Props;
        const state = { ...inputs, ...extra };
        const urn = `urn:pulumi:${stack}::${project}::${args.type}::${args.name}`;
        resources.push({ type: args.type, name: args.name, urn, id, inputs, state, custom: args.custom !== false, ...(args.provider ? { provider: args.provider } : {}) });
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        invokes.push({ token: args.token, inputs: args.inputs as Props, provider: args.provider });
        return answerInvoke(args.token, args.inputs as Props, opts);
      },
    },
    project,
    stack,
    false,
    // What a self-managed backend calls every organisation; a stack reference to a parent names it.
    MOCK_ORGANIZATION,
  );
  return { resources, invokes };
}

export function resolved<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/**
 * Pulumi takes a stack trace for every resource and every internal promise (source positions,
 * leak reports); formatting them (source maps) costs more than the program itself. Under mocks
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

/**
 * The config Pulumi hands the program of a stack (`pulumi.runtime.allConfig()`): the project's
 * config from Pulumi.yaml and the stack file's own, keys `namespace:key`, every value a string
 * (objects, arrays and numbers JSON-encoded). A branch stack without a file of its own has none.
 */
export function pulumiConfigOf(root: string, stack: string, extra: Record<string, unknown> = {}): Record<string, string> {
  const project = readProject(root);
  const path = join(root, stackFile(project, stack));
  let own: Record<string, unknown> = {};
  try {
    own = (parseYaml(readFileSync(path, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const values: Record<string, unknown> = { ...project.layer.values, ...own, ...extra };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k.includes(":") ? k : `${project.name}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

export interface ProgramRun {
  resources: CapturedResource[];
  invokes: CapturedInvoke[];
  /** The program module's exports (index.ts: urls, fleets, loadBalancerDnsName). */
  exports: Record<string, unknown>;
}

let runs = 0;

/**
 * Runs `<root>/index.ts` (the project's Pulumi program) for one stack under mocks, fed `config`
 * as Pulumi's merged config, and waits until every resource has been registered. Each run
 * evaluates the program afresh (a query string makes a new module); the modules it imports are
 * shared between runs, and must be: they hold no state. Pulumi runs a program in its project
 * directory, so the working directory is the tree's while the program starts.
 */
export async function runProgram(root: string, stack: string, config: Record<string, string>, opts: MockOptions = {}): Promise<ProgramRun> {
  const project = readProject(root).name;
  const { resources, invokes } = await installMocks(project, stack, opts);
  pulumi.runtime.setAllConfig(config);
  // @pulumi/aws fills its module's exports while it loads, and loses some (Provider) when stack
  // traces are not formatted: load it before they are switched off. Every tree resolves it here.
  await import("@pulumi/aws");
  // A program fails in an apply as often as at the top: such a rejection is nobody's promise.
  const failures: unknown[] = [];
  const onRejection = (e: unknown) => failures.push(e);
  process.on("unhandledRejection", onRejection);
  try {
    return await withoutStackTraces(async () => {
      const cwd = process.cwd();
      let exports: Record<string, unknown>;
      try {
        process.chdir(root);
        exports = (await import(`${pathToFileURL(join(root, "index.ts")).href}?run=${++runs}`)) as Record<string, unknown>;
      } finally {
        process.chdir(cwd);
      }
      await settle(resources);
      if (failures.length > 0) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
      return { resources, invokes, exports };
    });
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}
