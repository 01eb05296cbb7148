// "Identical by construction", checked on the resource graphs: two stacks' graphs, with the stack
// name and domain written as placeholders, may differ only where a knob says so. The component
// tests hold every pair of the repository's stacks to it; `fawkes plan` flags a change that breaks it.
import type { EnvironmentSpec } from "../config/index.ts";
import { artifactBucketName } from "../artifact/index.ts";
import { diffValues } from "./diff-values.ts";
import type { CapturedResource, Props } from "./program.ts";

/** One stack's resources as its program registered them, and the spec they came from. */
export interface StackGraph {
  spec: EnvironmentSpec;
  resources: CapturedResource[];
}

const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const ASG = "aws:autoscaling/group:Group";
const LISTENER = "aws:lb/listener:Listener";
const RULE = "aws:lb/listenerRule:ListenerRule";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EMAIL = "aws:sns/topicSubscription:TopicSubscription";
const BACKUP_PLAN = "aws:backup/plan:Plan";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const DATABASE = "aws:rds/instance:Instance";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const BUILD_INFRASTRUCTURE = "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration";
const DISTRIBUTION = "aws:imagebuilder/distributionConfiguration:DistributionConfiguration";
const NAT = "aws:ec2/natGateway:NatGateway";
const EIP = "aws:ec2/eip:Eip";
const ROUTE_TABLE = "aws:ec2/routeTable:RouteTable";
const ROUTE = "aws:ec2/route:Route";
const ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation";
const ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
const BUCKET = "aws:s3/bucket:Bucket";
const TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy";
const ANY = /./;

/** A property that may differ between stacks, and the knob it comes from. */
export interface KnobDerived {
  /** The resource type, or a pattern of types (a whole component that exists in one stack only). */
  type: string | RegExp;
  name?: RegExp;
  /** Property path as diffValues writes it; absent: the whole resource may exist in one stack only. */
  path?: RegExp;
  knob: string;
}

/** The explicit allow-list. Anything else that differs is a catalogue difference, which stacks may not have. */
export const KNOB_DERIVED: readonly KnobDerived[] = [
  { type: LT, path: /^instanceType$/, knob: "instanceType" },
  { type: LT, path: /^imageId$/, knob: "image.ami (stacks promote a new AMI one after the other)" },
  { type: BUILD_INFRASTRUCTURE, path: /^(instanceTypes\[0\]|description)$/, knob: "image.architecture (builds run on the AMI's CPU)" },
  { type: DISTRIBUTION, path: /^distributions\[0\]\.region$/, knob: "region (the AMI is made where the stack runs)" },
  { type: LT, path: /^userData$/, knob: "user-data (stack, domain, release pins): compared byte for byte on its own" },
  {
    type: "aws:s3/bucketObjectv2:BucketObjectv2",
    name: /-bundle$/,
    path: /^(key|contentBase64|tags\.Name|tagsAll\.Name)$/,
    knob: "the host bundle, the user-data's files (stack, domain, release pins): compared file by file on its own",
  },
  { type: ASG, path: /^(minSize|maxSize|desiredCapacity)$/, knob: "fleet" },
  { type: ASG, path: /^healthCheckGracePeriod$/, knob: "rollout.bootSeconds (the time a new host has to boot and report healthy)" },
  { type: LISTENER, name: /-http$/, path: /^defaultActions\[0\]\./, knob: "certificateArn (HTTP redirects to HTTPS)" },
  { type: LISTENER, name: /-https$/, path: /^certificateArn$/, knob: "certificateArn" },
  { type: RULE, path: /^listenerArn$/, knob: "certificateArn (host rules sit on the HTTPS listener)" },
  { type: LISTENER, name: /-https$/, knob: "certificateArn (HTTPS listener)" },
  { type: INGRESS, name: /-alb-https$/, knob: "certificateArn (443 open only with a listener)" },
  { type: EMAIL, name: /-email$/, knob: "alarmEmail (the alarm topic's email subscription exists only with it)" },
  { type: EMAIL, name: /-email$/, path: /^endpoint$/, knob: "alarmEmail (the address)" },
  { type: BACKUP_PLAN, path: /^rules\[0\]\.lifecycle\.deleteAfter$/, knob: "backupRetentionDays" },
  { type: LOG_GROUP, path: /^retentionInDays$/, knob: "logRetentionDays" },
  { type: DATABASE, path: /^instanceClass$/, knob: "database.instanceClass" },
  { type: DATABASE, path: /^allocatedStorage$/, knob: "database.allocatedStorageGb" },
  { type: ALARM, name: /-database-storage$/, path: /^threshold$/, knob: "database.allocatedStorageGb (the free-storage alarm is a share of it)" },
  { type: DATABASE, path: /^(deletionProtection|skipFinalSnapshot|finalSnapshotIdentifier)$/, knob: "database.deletionProtection (a protected database leaves a final snapshot)" },
  { type: DATABASE, path: /^backupRetentionPeriod$/, knob: "backupRetentionDays (RDS keeps at most 35 days)" },
  { type: RULE, name: /\.maintenance$/, knob: "maintenance (a fixed 503 rule before the app's forward rule exists only while it is in maintenance)" },
  { type: DATABASE, path: /^multiAz$/, knob: "database.multiAz" },
  { type: NAT, name: /-nat-\d+$/, knob: "network.natPerZone (a NAT gateway per zone)" },
  { type: EIP, name: /-nat-\d+$/, knob: "network.natPerZone (the Elastic IP of each zone's NAT gateway)" },
  { type: ROUTE_TABLE, name: /-private-\d+$/, knob: "network.natPerZone (a private route table per zone)" },
  { type: ROUTE, name: /-private-\d+-default$/, knob: "network.natPerZone (each zone's way out through its own NAT)" },
  { type: ASSOCIATION, name: /-private-\d+$/, path: /^routeTableId$/, knob: "network.natPerZone (each private subnet on its zone's route table)" },
  { type: ENDPOINT, path: /^routeTableIds\[\d+\]$/, knob: "network.natPerZone (the gateway endpoints on every private route table)" },
  { type: ENDPOINT, path: /^serviceName$/, knob: "region (gateway endpoints are the region's services)" },
  { type: LIFECYCLE, path: /^rules\[1\]\.expiration\.days$/, knob: "backupRetentionDays (database dumps expire with the recovery points)" },
  { type: LIFECYCLE, path: /^rules\[0\]\.noncurrentVersionExpiration\.noncurrentDays$/, knob: "artifacts.noncurrentDays" },
  { type: BUCKET, path: /^forceDestroy$/, knob: "parent (a QA stack's bucket goes with it)" },
  { type: ANY, name: /^[a-z0-9-]+-(network|image|backups)(-|$)/, knob: "parent (a QA stack has no network, image pipeline or backups of its own: its parent's network, its parent's AMI, nothing kept)" },
  { type: "pulumi:pulumi:StackReference", knob: "parent (a QA stack reads its parent's network and database server)" },
  { type: ANY, name: /^[a-z0-9-]+-database(-|$)/, knob: "database.shareParentServer (a QA stack's databases live on its parent's server)" },
  { type: TOPIC_POLICY, name: /-ops-topic-policy$/, path: /^policy$/, knob: "database.shareParentServer (the alarm topic's policy lists the database server's alarms only where the stack owns the server)" },
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Writes a stack's own name and domain as `<stack>`/`<domain>` wherever fawkes derives a value
 * from them: `<project>-<stack>...` and `/<project>/<stack>` names, a value that is the stack
 * name, host names under the domain, the `/backups/<stack>/` prefix of database dumps. A bare search-and-replace would also rewrite `/dev/xvda`.
 */
export function placeholders(spec: EnvironmentSpec): (s: string) => string {
  const domain = new RegExp(`(^|[^a-z0-9-])${escape(spec.knobs.domain)}(?![a-z0-9-])`, "g");
  const named = new RegExp(`(^|[^a-z0-9])${escape(spec.project)}([-/])${escape(spec.stack)}(?![a-z0-9])`, "g");
  // The hosts' database dumps go under `backups/<stack>/` of the artifact bucket (in ARNs, and as the lifecycle rule's prefix).
  const dumps = new RegExp(`(^|/)backups/${escape(spec.stack)}/`, "g");
  // The artifact bucket's globally unique name is made of project, stack, account and region knobs (and may be hashed to fit).
  const bucket = new RegExp(escape(artifactBucketName(spec)), "g");
  // A QA stack on its parent's database server (database.shareParentServer) names that server where another stack names its own.
  const server = spec.knobs.parent !== undefined && spec.knobs.database.shareParentServer ? new RegExp(`(^|[^a-z0-9])${escape(spec.project)}-${escape(spec.knobs.parent)}-db(?![a-z0-9])`, "g") : undefined;
  const onServer = (s: string) => (server ? s.replace(server, `$1${spec.project}-<stack>-db`) : s);
  return (s) =>
    s === spec.stack ? "<stack>" : onServer(s.replace(bucket, "<artifact bucket>")).replace(domain, "$1<domain>").replace(named, "$1" + spec.project + "$2<stack>").replace(dumps, "$1backups/<stack>/");
}

function mapStrings(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === "string") return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v as Props).map(([k, x]) => [f(k), mapStrings(x, f)]));
  return v;
}

export interface NormalisedResource {
  type: string;
  name: string;
  inputs: unknown;
}

/**
 * The digest `fawkes plan`'s mocks append to a made-up id or ARN (ids "by-replacement": a digest of
 * the inputs that force a new resource, which its readers then carry). Between two stacks it says
 * nothing the inputs it digests do not say, and those are compared themselves; a QA stack's ids
 * read from its parent's stack reference carry none, so it would differ from every other stack.
 */
const REPLACEMENT_DIGEST = /-[0-9a-f]{8}(?=$|[\s"',/:\]])/g;

/** The graph of one stack by `type::name`, stack name and domain as placeholders, replacement digests left out. */
export function normalise(graph: StackGraph): Map<string, NormalisedResource> {
  const p = placeholders(graph.spec);
  const f = (s: string) => p(s).replace(REPLACEMENT_DIGEST, "");
  const out = new Map<string, NormalisedResource>();
  for (const r of graph.resources) {
    const name = p(r.name);
    const key = `${r.type}::${name}`;
    if (out.has(key)) throw new Error(`${graph.spec.stack}: two resources normalise to ${key}`);
    out.set(key, { type: r.type, name, inputs: mapStrings(r.inputs, f) });
  }
  return out;
}

export interface GraphDifference {
  resource: string;
  /** Empty when the resource exists in one stack only. */
  path: string;
  a: unknown;
  b: unknown;
  /** The knob that explains it, or undefined: a difference stacks may not have. */
  knob?: string;
}

export interface GraphComparison {
  a: string;
  b: string;
  differences: GraphDifference[];
  unexplained: GraphDifference[];
}

function explain(r: NormalisedResource, path: string): string | undefined {
  const rule = KNOB_DERIVED.find(
    (k) => (typeof k.type === "string" ? k.type === r.type : k.type.test(r.type)) && (k.name === undefined || k.name.test(r.name)) && (path === "" ? k.path === undefined : k.path !== undefined && k.path.test(path)),
  );
  return rule?.knob;
}

export function compareGraphs(a: StackGraph, b: StackGraph): GraphComparison {
  const na = normalise(a);
  const nb = normalise(b);
  const differences: GraphDifference[] = [];
  for (const key of [...new Set([...na.keys(), ...nb.keys()])].sort()) {
    const ra = na.get(key);
    const rb = nb.get(key);
    if (!ra || !rb) {
      differences.push({ resource: key, path: "", a: ra ? "present" : "absent", b: rb ? "present" : "absent", knob: explain((ra ?? rb)!, "") });
      continue;
    }
    for (const d of diffValues(ra.inputs, rb.inputs)) differences.push({ resource: key, path: d.path, a: d.a, b: d.b, knob: explain(ra, d.path) });
  }
  return { a: a.spec.stack, b: b.spec.stack, differences, unexplained: differences.filter((d) => d.knob === undefined) };
}
