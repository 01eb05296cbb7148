// What a change does to one stack: the resources its program registers on the base ref and on
// this tree, compared. Pure: the graphs are captured elsewhere (program.ts), this only reads them.
import { structuredPatch } from "diff";
import type { EnvironmentSpec } from "../config/index.ts";
import { rolloutPolicy, RolloutPolicyError, type RolloutStep } from "../model/index.ts";
import { diffValues, type ValueDifference } from "./diff-values.ts";
import { filesOfBundle } from "../render/index.ts";
import { hostFiles, decodeUserData, type HostFile } from "./host-files.ts";
import type { CapturedResource } from "./program.ts";
import { LOAD_BALANCER_TYPES, replacingPaths, STORAGE_TYPES, topLevel } from "./replacement.ts";
import { compareGraphs, type GraphDifference, type StackGraph } from "./stack-graph.ts";
import { consolePermissions, type ConsolePermissions } from "./console-grants.ts";

export const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
export const AUTO_SCALING_GROUP = "aws:autoscaling/group:Group";

export interface PropertyChange {
  path: string;
  before: unknown;
  after: unknown;
  /** Said instead of before -> after (user-data: its files are diffed one by one). */
  note?: string;
}

export type ResourceAction = "create" | "delete" | "update" | "replace";

export interface ResourceChange {
  type: string;
  name: string;
  action: ResourceAction;
  /** Inputs that differ (update, replace); user-data is summarised, its files are diffed apart. */
  changes: PropertyChange[];
  /** The changed inputs that force the replacement. */
  replacedBy: string[];
}

export interface FileChange {
  role: string;
  path: string;
  status: "added" | "removed" | "modified";
  /** Unified diff hunks (`@@ ... @@` and lines), no file header. */
  diff: string;
  linesAdded: number;
  linesRemoved: number;
}

export interface FleetChange {
  role: string;
  /** The Auto Scaling group's name. */
  group: string;
  hosts: number;
  /** Every host of the role is replaced (new launch-template version, instance refresh). */
  replaced: boolean;
  /** Why: the launch-template inputs that changed. */
  reasons: string[];
  /** The group itself is replaced: all its hosts go at once, no instance refresh. */
  groupReplaced: boolean;
  /** Capacity changes without replacing anyone. */
  capacity?: { before: number; after: number };
  /** How the refresh goes: the stack's rollout knobs as host batches (canary first). */
  steps: RolloutStep[];
  surge: number;
  maxUnavailable: number;
  /** When the rollout knobs leave no room (RolloutPolicyError), what they say instead. */
  rolloutProblem?: string;
}

export type DangerKind = "storage" | "load-balancer" | "stack-difference";
export const DANGER_KINDS: readonly DangerKind[] = ["storage", "load-balancer", "stack-difference"];

export interface Danger {
  kind: DangerKind;
  message: string;
}

export interface StackPlan {
  stack: string;
  /** added/removed: the stack file exists on one side only. */
  status: "added" | "removed" | "changed" | "unchanged";
  resources: ResourceChange[];
  files: FileChange[];
  fleets: FleetChange[];
  dangers: Danger[];
  /** A management stack's deploy console: the stacks it may deploy to, and with which actions (shown whether or not they change). */
  console?: ConsolePermissions;
}

/** Resources a provider manages (no components: they have no inputs), by `type::name`. */
function byKey(resources: readonly CapturedResource[]): Map<string, CapturedResource> {
  return new Map(resources.filter((r) => r.custom).map((r) => [`${r.type}::${r.name}`, r]));
}

const USER_DATA = "userData";
const BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2";

function parsedObject(v: unknown): object | undefined {
  if (typeof v !== "string" || !/^\s*[[{]/.test(v)) return undefined;
  try {
    const o: unknown = JSON.parse(v);
    return typeof o === "object" && o !== null ? o : undefined;
  } catch {
    return undefined;
  }
}

/** A JSON document in a string input (an IAM or topic policy) compared inside: `policy.Statement[2].Resource`. */
function expandJson(d: ValueDifference): ValueDifference[] {
  const a = parsedObject(d.a);
  const b = parsedObject(d.b);
  return a && b ? diffValues(a, b, d.path) : [d];
}

function resourceChanges(base: readonly CapturedResource[], head: readonly CapturedResource[]): ResourceChange[] {
  const a = byKey(base);
  const b = byKey(head);
  const out: ResourceChange[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const ra = a.get(key);
    const rb = b.get(key);
    const { type, name } = (ra ?? rb)!;
    if (!ra || !rb) {
      out.push({ type, name, action: ra ? "delete" : "create", changes: [], replacedBy: [] });
      continue;
    }
    const diffs = diffValues(ra.inputs, rb.inputs).flatMap(expandJson);
    if (diffs.length === 0) continue;
    const changes = diffs.map((d): PropertyChange =>
      d.path === USER_DATA || (type === BUCKET_OBJECT && d.path === "contentBase64") ? { path: d.path, before: undefined, after: undefined, note: "the host image changed: see its files" } : { path: d.path, before: d.a, after: d.b },
    );
    const replacedBy = replacingPaths(type, diffs.map((d) => d.path));
    out.push({ type, name, action: replacedBy.length > 0 ? "replace" : "update", changes, replacedBy });
  }
  return out;
}

function roleOf(group: CapturedResource, project: string): string {
  const name = group.name.startsWith(`${project}-`) ? group.name.slice(project.length + 1) : group.name;
  return name.replace(/-group$/, "");
}

/** Launch-template inputs that make no new version: changing them starts no instance refresh. */
const NOT_A_VERSION = ["tags", "tagsAll", "description", "updateDefaultVersion", "defaultVersion"];

/** The launch-template input that boots the stack's pinned AMI (knob image.ami). */
const IMAGE_ID = "imageId";

/** Why a fleet's hosts are replaced, as the reviewer knows it: the pinned AMI by its ids. */
function reasonOf(c: PropertyChange): string {
  if (c.path === USER_DATA) return "user-data";
  if (c.path === IMAGE_ID) return `the pinned AMI (${String(c.before ?? "none")} → ${String(c.after ?? "none")})`;
  return topLevel(c.path);
}

/** The launch template a group runs: the mocks' id is `lt-<logical name>`. */
function templateOf(group: CapturedResource, resources: readonly CapturedResource[]): CapturedResource | undefined {
  const id = (group.inputs.launchTemplate as { id?: unknown } | undefined)?.id;
  return resources.find((r) => r.type === LAUNCH_TEMPLATE && r.id === id);
}

/**
 * A launch template's files: its user-data's (the stage-1 script) and those of the bundle that
 * script fetches, the bucket object of the same graph whose key the user-data names.
 */
function templateFiles(template: CapturedResource | undefined, resources: readonly CapturedResource[]): HostFile[] {
  const userData = template?.inputs.userData;
  if (typeof userData !== "string") return [];
  const files = hostFiles(decodeUserData(userData));
  const key = /^readonly BUNDLE_OBJECT=(\S+)$/m.exec(files.map((f) => f.content).join("\n"))?.[1];
  const bundle = resources.find((r) => r.type === BUCKET_OBJECT && r.inputs.key === key)?.inputs.contentBase64;
  if (typeof bundle !== "string") return files;
  return [...files, ...filesOfBundle(Buffer.from(bundle, "base64"))];
}

function fileChanges(role: string, before: readonly HostFile[], after: readonly HostFile[]): FileChange[] {
  const a = new Map(before.map((f) => [f.path, f.content]));
  const b = new Map(after.map((f) => [f.path, f.content]));
  const out: FileChange[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])]) {
    const x = a.get(path);
    const y = b.get(path);
    if (x === y) continue;
    const patch = structuredPatch(path, path, x ?? "", y ?? "", "", "", { context: 3 });
    let linesAdded = 0;
    let linesRemoved = 0;
    const lines: string[] = [];
    for (const h of patch.hunks) {
      lines.push(`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`);
      for (const l of h.lines) {
        if (l.startsWith("+")) linesAdded++;
        else if (l.startsWith("-")) linesRemoved++;
        lines.push(l);
      }
    }
    out.push({ role, path, status: x === undefined ? "added" : y === undefined ? "removed" : "modified", diff: lines.join("\n"), linesAdded, linesRemoved });
  }
  return out;
}

function fleetChanges(project: string, spec: EnvironmentSpec | undefined, base: readonly CapturedResource[], head: readonly CapturedResource[], changes: readonly ResourceChange[]): FleetChange[] {
  const out: FleetChange[] = [];
  for (const group of head.filter((r) => r.type === AUTO_SCALING_GROUP && r.custom)) {
    const role = roleOf(group, project);
    const oldGroup = base.find((r) => r.type === AUTO_SCALING_GROUP && r.name === group.name);
    const lt = templateOf(group, head);
    const oldLt = oldGroup ? templateOf(oldGroup, base) : undefined;
    const groupChange = changes.find((c) => c.type === AUTO_SCALING_GROUP && c.name === group.name);
    const ltChange = lt ? changes.find((c) => c.type === LAUNCH_TEMPLATE && c.name === lt.name) : undefined;
    const hosts = Number(group.inputs.desiredCapacity ?? 0);
    const oldHosts = oldGroup ? Number(oldGroup.inputs.desiredCapacity ?? 0) : hosts;
    if (!oldGroup) continue; // a new role: its hosts are created, none replaced
    const groupReplaced = groupChange?.action === "replace";
    const versionChanges = (ltChange?.changes ?? []).filter((c) => !NOT_A_VERSION.includes(topLevel(c.path)));
    const replaced = versionChanges.length > 0 || lt?.name !== oldLt?.name;
    if (!replaced && !groupReplaced && oldHosts === hosts) continue;
    const reasons = versionChanges.length > 0 ? versionChanges.map(reasonOf) : lt?.name !== oldLt?.name ? ["a different launch template"] : [];
    let policy = { steps: [] as RolloutStep[], surge: 0, maxUnavailable: 0 };
    let rolloutProblem: string | undefined;
    // A management stack's console host: the provider's refresh terminates it, then launches its successor.
    if (spec?.knobs.console && replaced) policy = { steps: [{ hosts, checkpoint: false }], surge: 0, maxUnavailable: hosts };
    else if (spec && replaced) {
      try {
        policy = rolloutPolicy(hosts, spec.knobs.rollout);
      } catch (e) {
        if (!(e instanceof RolloutPolicyError)) throw e;
        rolloutProblem = e.message;
      }
    }
    out.push({
      role,
      group: String(group.inputs.name),
      hosts,
      replaced: replaced || groupReplaced,
      reasons: [...new Set(reasons)],
      groupReplaced,
      ...(oldHosts !== hosts ? { capacity: { before: oldHosts, after: hosts } } : {}),
      steps: policy.steps,
      surge: policy.surge,
      maxUnavailable: policy.maxUnavailable,
      ...(rolloutProblem ? { rolloutProblem } : {}),
    });
  }
  return out.sort((x, y) => (x.role < y.role ? -1 : x.role > y.role ? 1 : 0));
}

/** Target groups and listeners: replacing one takes its apps out of the load balancer for a while. */
const ROUTING_TYPES = ["aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener"];

function dangersOf(changes: readonly ResourceChange[]): Danger[] {
  const out: Danger[] = [];
  for (const c of changes) {
    if (c.action !== "replace" && c.action !== "delete") continue;
    const verb = c.action === "replace" ? `replaced (${c.replacedBy.join(", ")} changed)` : "deleted";
    if (STORAGE_TYPES.includes(c.type)) out.push({ kind: "storage", message: `${c.name} (${c.type}) would be ${verb}: the data it holds would be lost` });
    if (LOAD_BALANCER_TYPES.includes(c.type)) out.push({ kind: "load-balancer", message: `${c.name} (${c.type}) would be ${verb}: its DNS name changes and open connections drop` });
    if (ROUTING_TYPES.includes(c.type)) {
      out.push({ kind: "load-balancer", message: `${c.name} (${c.type}) would be ${verb}: its app is out of the load balancer meanwhile, and a fixed name cannot be created beside the old one` });
    }
  }
  return out;
}

export interface StackSide {
  /** Undefined: the stack does not exist on that side. */
  resources?: readonly CapturedResource[];
  spec?: EnvironmentSpec;
}

/** One stack's plan: base against head. */
export function planStack(project: string, stack: string, base: StackSide, head: StackSide): StackPlan {
  const a = base.resources ?? [];
  const b = head.resources ?? [];
  const resources = resourceChanges(a, b);
  const files: FileChange[] = [];
  const templates = new Set([...a, ...b].filter((r) => r.type === LAUNCH_TEMPLATE).map((r) => r.name));
  for (const name of [...templates].sort()) {
    const before = a.find((r) => r.type === LAUNCH_TEMPLATE && r.name === name);
    const after = b.find((r) => r.type === LAUNCH_TEMPLATE && r.name === name);
    const ids = new Set([before?.id, after?.id]);
    const group = [...b, ...a].find((r) => r.type === AUTO_SCALING_GROUP && ids.has((r.inputs.launchTemplate as { id?: string } | undefined)?.id));
    files.push(...fileChanges(group ? roleOf(group, project) : name, templateFiles(before, a), templateFiles(after, b)));
  }
  const status = !base.resources ? "added" : !head.resources ? "removed" : resources.length > 0 ? "changed" : "unchanged";
  // A stack file removed destroys nothing: its resources stay until `pulumi destroy`.
  if (status === "removed") return { stack, status, resources: [], files: [], fleets: [], dangers: [] };
  const permissions = consolePermissions(a, b);
  return {
    stack,
    status,
    resources,
    files,
    fleets: base.resources && head.resources ? fleetChanges(project, head.spec, a, b, resources) : [],
    dangers: base.resources && head.resources ? dangersOf(resources) : [],
    ...(permissions ? { console: permissions } : {}),
  };
}

/** A value in a message: JSON, at most 60 characters. */
function brief(v: unknown): string {
  const t = JSON.stringify(v) ?? "(unset)";
  return t.length <= 60 ? t : `${t.slice(0, 28)} … ${t.slice(-28)}`;
}

const differenceKey = (d: GraphDifference) => `${d.resource}\u0000${d.path}`;

/**
 * Differences between a stack and the reference stack that no knob explains, and that the base
 * did not have already: a stack-only difference creeping in. `base` may lack either stack.
 */
export function newStackDifferences(reference: { base?: StackGraph; head: StackGraph }, other: { base?: StackGraph; head: StackGraph }): Danger[] {
  const now = compareGraphs(reference.head, other.head).unexplained;
  const before = reference.base && other.base ? new Set(compareGraphs(reference.base, other.base).unexplained.map(differenceKey)) : new Set<string>();
  return now
    .filter((d) => !before.has(differenceKey(d)))
    .map((d) => ({
      kind: "stack-difference" as const,
      message: `${other.head.spec.stack} and ${reference.head.spec.stack} differ at ${d.resource}${d.path ? ` ${d.path}` : ""} (${reference.head.spec.stack}: ${brief(d.a)}, ${other.head.spec.stack}: ${brief(d.b)}), and no knob explains it: environments must stay identical by construction`,
    }));
}
