// QA environments on AWS: the branch's releases built at its head and pinned in its own stack file
// (as on the local target), its Pulumi stack selected or created, the facts qa needs recorded as
// stack tags, the artifact bucket filled, missing secrets generated, the AWS check passed, then
// `pulumi up`. Pulumi is reached only through the
// QaStacks interface, so that every step is tested against a recording double.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { artifactPaths, defaultStore, pushRelease, stackArtifactBucket, type ArtifactStore, type BuildResult } from "../artifact/index.ts";
import { requireAwsReady, type AwsCheckOptions } from "../check/aws.ts";
import { loadStack, readProject, stackFile, type EnvironmentSpec } from "../config/index.ts";
import { Duration } from "../config/primitives.ts";
import type { Progress } from "../local/steps.ts";
import { isQaStack, qaStackName } from "../names/index.ts";
import { ensureSsmSecrets, SecretsError, stackSecretParameters, type SsmSender } from "../secrets/index.ts";
import { PulumiCliMissingError, withClearErrors, type QaStacks, type QaStackSummary } from "./automation.ts";
import { headOf } from "./git.ts";
import { gcSelection, QaError, readRecord, ttlMs, type QaRecord } from "./registry.ts";
import { buildAndPin, type BuildFn } from "./releases.ts";
import { listRow, type QaFacts, type QaGcResult, type QaListRow } from "./report.ts";
import { teardownPlan } from "./aws-teardown.ts";
import { runSteps, sdkTeardown, type QaTeardown, type StepResult } from "./aws-teardown-sdk.ts";
import { artifactStoreUrns } from "./urns.ts";

/** The stack tags qa reads and writes: its registry on AWS, as the record files are locally. */
export const QA_TAGS = {
  qa: "fawkes:qa",
  branch: "fawkes:branch",
  commit: "fawkes:commit",
  lastPush: "fawkes:lastPush",
  ttl: "fawkes:ttl",
  createdAt: "fawkes:createdAt",
  createdStackFile: "fawkes:createdStackFile",
} as const;

/** Pulumi refuses a tag value over 256 bytes; a branch name may be longer. */
const TAG_VALUE_BYTES = 256;

/** A tag value cut to Pulumi's limit on a character boundary, `…` marking the cut. */
export function tagValue(value: string): string {
  if (Buffer.byteLength(value) <= TAG_VALUE_BYTES) return value;
  let out = "";
  for (const ch of value) {
    if (Buffer.byteLength(`${out}${ch}…`) > TAG_VALUE_BYTES) break;
    out += ch;
  }
  return `${out}…`;
}

const IsoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO 8601 time");

/** What a QA stack's tags must hold for list and gc to act on it. */
const QaTagsSchema = z.object({
  [QA_TAGS.qa]: z.literal("true"),
  [QA_TAGS.branch]: z.string().min(1),
  [QA_TAGS.commit]: z.string().default(""),
  [QA_TAGS.lastPush]: IsoTime,
  [QA_TAGS.ttl]: Duration,
  [QA_TAGS.createdAt]: IsoTime,
});

/** The facts of a tagged QA stack, or why they cannot be read (then it is reported, never acted on). */
export function factsOf(s: QaStackSummary): QaFacts | string {
  const parsed = QaTagsSchema.safeParse(s.tags);
  if (!parsed.success) return `${s.name}: tagged ${QA_TAGS.qa}=true, but its tags are not qa's: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}; left alone`;
  const t = parsed.data;
  return { target: "aws", branch: t[QA_TAGS.branch], stack: s.name, commit: t[QA_TAGS.commit], lastPush: t[QA_TAGS.lastPush], ttl: t[QA_TAGS.ttl], createdAt: t[QA_TAGS.createdAt], urls: {} };
}

/** A stack as STATE shows it: an update running, resources deployed, or nothing (a first up that failed). */
function stateOf(s: QaStackSummary): string {
  if (s.updateInProgress) return "updating";
  return s.resourceCount === undefined || s.resourceCount > 0 ? "deployed" : "empty";
}

function urlsOf(outputs: Record<string, unknown>): Record<string, string> {
  const urls = outputs.urls;
  if (typeof urls !== "object" || urls === null) return {};
  return Object.fromEntries(Object.entries(urls).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** The stacks tagged fawkes:qa=true whose name is a QA stack's; any other stack so tagged is reported and left alone. */
async function qaStacksOf(stacks: QaStacks): Promise<{ found: Array<{ summary: QaStackSummary; facts: QaFacts }>; problems: string[] }> {
  const found: Array<{ summary: QaStackSummary; facts: QaFacts }> = [];
  const problems: string[] = [];
  for (const s of await stacks.list()) {
    if (s.tags[QA_TAGS.qa] !== "true") continue;
    if (!isQaStack(s.name)) {
      problems.push(`${s.name}: tagged ${QA_TAGS.qa}=true but not a QA stack name (qa-<branch>); never listed or removed by qa`);
      continue;
    }
    const facts = factsOf(s);
    if (typeof facts === "string") problems.push(facts);
    else found.push({ summary: s, facts });
  }
  return { found: found.sort((a, b) => a.facts.stack.localeCompare(b.facts.stack)), problems };
}

export interface QaAwsDeps {
  /** Pulumi: pulumiStacks(root) for real, a recording double in tests. */
  stacks: QaStacks;
  /** What down and gc do around `pulumi destroy` (empty buckets, delete log groups): the SDK for real, a recording double in tests. */
  teardown?: QaTeardown;
  progress?: Progress;
  now?: Date;
}

export interface QaUpAwsOptions extends QaAwsDeps {
  root: string;
  branch: string;
  /** Default: the branch. */
  ref?: string;
  /** Default: the stack's `qaTtl` knob. */
  ttl?: string;
  /** The local artifact store the builds write to (default ${FAWKES_HOME:-/var/lib/fawkes}/artifacts). */
  store?: string;
  /** Default buildArtifact (root, debootstrap); tests pass a stand-in. */
  build?: BuildFn;
  /** The stack's artifact bucket; default the S3 bucket its hosts fetch from. */
  bucket?: (spec: EnvironmentSpec) => ArtifactStore;
  /** The check before pulumi up asks AWS through this probe, about these resources (tests); default the SDK's, about the program's. */
  awsCheck?: Pick<AwsCheckOptions, "probe" | "resources">;
  /** The stack's SSM Parameter Store client (tests); default the SDK's in the stack's region. */
  ssm?: SsmSender;
}

export interface QaUpAwsResult {
  branch: string;
  stack: string;
  target: "aws";
  commit: string;
  lastPush: string;
  createdAt: string;
  ttl: string;
  stackFile: string;
  createdStackFile: boolean;
  /** The stack had no artifact bucket: a targeted up created it before the push. */
  bucketCreated: boolean;
  builds: BuildResult[];
  releases: Record<string, string>;
  pushed: Array<{ app: string; release: string; status: "pushed" | "exists"; where: string }>;
  /** Secrets that had no value in SSM and got a random one (`<app>/<NAME>`); existing ones are never touched. */
  secretsGenerated: string[];
  urls: Record<string, string>;
}

/**
 * `fawkes qa up --branch B` on AWS. Builds every app at the branch head and pins the releases in
 * stacks/Pulumi.<qa stack>.yaml (as `--local` does), selects or creates the stack, tags it, makes
 * sure its artifact bucket exists (a targeted up of the store's resources on the stack's first up),
 * pushes the releases there, generates the secrets SSM lacks, runs the check of `check --target
 * aws` (stopping on any problem, before a host boots), then runs `pulumi up`. Again with the same head: nothing is built or
 * pushed and `pulumi up` finds nothing to change.
 */
export async function qaUpAws(opts: QaUpAwsOptions): Promise<QaUpAwsResult> {
  const progress = opts.progress ?? (() => {});
  const stacks = withClearErrors(opts.stacks);
  const { root, branch } = opts;
  const stack = qaStackName(branch);
  const ref = opts.ref ?? branch;
  if (opts.ttl !== undefined) ttlMs(opts.ttl);
  const project = readProject(root).name;
  // Before anything slow: is there a Pulumi CLI, logged in?
  await stacks.preflight();
  const head = await headOf(root, ref);
  progress(`${stack}: branch ${branch} at ${head.commit.slice(0, 12)} (last push ${head.lastPush})`);

  const pinned = await buildAndPin({ root, stack, commit: head.commit, store: opts.store, progress, build: opts.build });
  // The stack as the program will read it, and its bucket: a configuration problem stops here, before Pulumi.
  const spec = loadStack(root, stack, { parentMustExist: true });
  const bucket = (opts.bucket ?? stackArtifactBucket)(spec);
  await stacks.selectOrCreate(stack);
  const before = await stacks.tags(stack);
  const createdAt = before[QA_TAGS.createdAt] !== undefined && !Number.isNaN(Date.parse(before[QA_TAGS.createdAt]!)) ? before[QA_TAGS.createdAt]! : (opts.now ?? new Date()).toISOString();
  const createdStackFile = before[QA_TAGS.createdStackFile] !== undefined ? before[QA_TAGS.createdStackFile] === "true" : !pinned.stackFileExisted;
  const ttl = opts.ttl ?? pinned.template.knobs.qaTtl;
  const tags: Record<string, string> = {
    [QA_TAGS.branch]: tagValue(branch),
    [QA_TAGS.commit]: head.commit,
    [QA_TAGS.lastPush]: head.lastPush,
    [QA_TAGS.ttl]: ttl,
    [QA_TAGS.createdAt]: createdAt,
    [QA_TAGS.createdStackFile]: String(createdStackFile),
    // Last: a stack is a QA stack to list and gc only once every other fact is there.
    [QA_TAGS.qa]: "true",
  };
  // Tagged before the up: a failed or interrupted up is still known to qa list, down and gc.
  for (const [key, value] of Object.entries(tags)) if (before[key] !== value) await stacks.setTag(stack, key, value);

  const urns = artifactStoreUrns(project, stack);
  const bucketCreated = !(await stacks.resources(stack)).some((r) => r.urn === urns.bucket);
  if (bucketCreated) {
    progress(`${stack}: no artifact bucket yet: pulumi up of the artifact store only`);
    await stacks.up(stack, { target: urns.targets, onOutput: progress });
  }
  const localDir = opts.store ?? defaultStore();
  const pushed: QaUpAwsResult["pushed"] = [];
  for (const b of pinned.builds) {
    const where = `${bucket.where}${b.app}/`;
    let status: "pushed" | "exists";
    try {
      status = await pushRelease(bucket, b.app, b.release, artifactPaths(localDir, b.app, b.release));
    } catch (e) {
      throw new QaError(`pushing ${b.app} ${b.release} to ${where} failed: ${(e as Error).message}; the stack's hosts were not updated (run qa up again)`);
    }
    progress(status === "pushed" ? `pushed ${b.app} ${b.release} to ${where}` : `${b.app} ${b.release} already in ${where}`);
    pushed.push({ app: b.app, release: b.release, status, where });
  }
  // Hosts stop at boot without their secrets: a branch stack gets a random value for each missing one.
  let secretsGenerated: string[];
  try {
    secretsGenerated = await ensureSsmSecrets(stackSecretParameters(spec, opts.ssm), spec.catalogue.apps, stack, progress);
  } catch (e) {
    if (!(e instanceof SecretsError)) throw e;
    throw new QaError(`${stack}: a secret could not be generated: ${e.message}; the stack's hosts were not updated (run qa up again)`);
  }
  await requireAwsReady({ root, stack, ...opts.awsCheck }, "qa up", progress);
  progress(`${stack}: pulumi up`);
  const { outputs } = await stacks.up(stack, { onOutput: progress });
  return {
    branch,
    stack,
    target: "aws",
    commit: head.commit,
    lastPush: head.lastPush,
    createdAt,
    ttl,
    stackFile: pinned.stackFile,
    createdStackFile,
    bucketCreated,
    builds: pinned.builds,
    releases: Object.fromEntries(pinned.builds.map((b) => [b.app, b.release])),
    pushed,
    secretsGenerated,
    urls: urlsOf(outputs),
  };
}

/**
 * Destroys one QA stack's resources (its teardown plan around `pulumi destroy`: aws-teardown.ts),
 * removes the stack from the backend, then its stack file if qa up created it. Only a QA stack
 * name that qa up tagged: anything else is refused untouched.
 */
export async function removeQaStack(
  stacks: QaStacks,
  root: string,
  stack: string,
  tags: Record<string, string>,
  progress: Progress,
  teardown: QaTeardown = sdkTeardown(),
): Promise<{ stackFile: string; stackFileRemoved: boolean; teardown: StepResult[] }> {
  if (!isQaStack(stack)) throw new QaError(`refusing to remove ${stack}: not a QA stack`);
  if (tags[QA_TAGS.qa] !== "true") {
    throw new QaError(`refusing to remove ${stack}: qa up did not make it (no ${QA_TAGS.qa}=true tag); if it is to go, pulumi destroy and pulumi stack rm it yourself`);
  }
  const guarded = withClearErrors(stacks);
  // What would stop the destroy goes first (a bucket with versions), what a dying host makes again after it (log groups).
  const plan = teardownPlan(stack, await guarded.resources(stack));
  const done = await runSteps(teardown, plan, plan.beforeDestroy, progress);
  progress(`${stack}: pulumi destroy`);
  try {
    await guarded.destroy(stack, { onOutput: progress });
  } catch (e) {
    if (plan.vaultAdvice && e instanceof Error) throw new QaError(`${e.message}; if it stopped at the backup vault: ${plan.vaultAdvice}`);
    throw e;
  }
  done.push(...(await runSteps(teardown, plan, plan.afterDestroy, progress)));
  await guarded.remove(stack);
  const file = join(root, stackFile(readProject(root), stack));
  const stackFileRemoved = tags[QA_TAGS.createdStackFile] === "true" && existsSync(file);
  if (stackFileRemoved) rmSync(file);
  return { stackFile: file, stackFileRemoved, teardown: done };
}

/** A local record of the same branch, for the hint when the AWS path cannot run. */
function localHint(stack: string, branch: string, lookup: (stack: string) => QaRecord | undefined): string {
  let record: QaRecord | undefined;
  try {
    record = lookup(stack);
  } catch {
    return "";
  }
  return record ? `. A local QA environment of branch ${branch} (${stack}) exists on this machine: to remove it, pass --local (fawkes qa down --branch ${branch} --local)` : "";
}

/**
 * `fawkes qa down --branch B` on AWS: empty its buckets, destroy, delete the log groups its hosts
 * made again, then remove that branch's QA stack and nothing else. Without a Pulumi CLI, or with
 * no such stack in the backend, it says whether the branch has a local environment here (which
 * `--local` removes).
 */
export async function qaDownAws(
  opts: QaAwsDeps & { root: string; branch: string; localRecord?: (stack: string) => QaRecord | undefined },
): Promise<{ stack: string; stackFile: string; stackFileRemoved: boolean; teardown: StepResult[] }> {
  const progress = opts.progress ?? (() => {});
  const stacks = withClearErrors(opts.stacks);
  const stack = qaStackName(opts.branch);
  const hint = () => localHint(stack, opts.branch, opts.localRecord ?? ((s) => readRecord(s)));
  let all: QaStackSummary[];
  try {
    await stacks.preflight();
    all = await stacks.list();
  } catch (e) {
    if (e instanceof PulumiCliMissingError) throw new PulumiCliMissingError(`${e.message}${hint()}`);
    throw e;
  }
  const found = all.find((s) => s.name === stack);
  if (!found) {
    const known = all.filter((s) => s.tags[QA_TAGS.qa] === "true" && isQaStack(s.name)).map((s) => `${s.tags[QA_TAGS.branch] ?? "?"} (${s.name})`);
    throw new QaError(`no QA stack for branch "${opts.branch}" (stack ${stack}) in the Pulumi backend; QA stacks there: ${known.join(", ") || "none"}${hint()}`);
  }
  const r = await removeQaStack(opts.stacks, opts.root, stack, found.tags, progress, opts.teardown);
  return { stack, ...r };
}

/** `fawkes qa list` on AWS: every QA stack in the backend, with its URLs from the stack outputs. */
export async function qaListAws(opts: QaAwsDeps & { ttl?: string }): Promise<{ rows: QaListRow[]; problems: string[] }> {
  if (opts.ttl !== undefined) ttlMs(opts.ttl);
  const stacks = withClearErrors(opts.stacks);
  const now = opts.now ?? new Date();
  await stacks.preflight();
  const { found, problems } = await qaStacksOf(stacks);
  const rows: QaListRow[] = [];
  for (const { summary, facts } of found) {
    const state = stateOf(summary);
    let urls: Record<string, string> = {};
    if (state !== "empty") {
      try {
        urls = urlsOf(await stacks.outputs(summary.name));
      } catch (e) {
        problems.push(`${summary.name}: its outputs could not be read: ${(e as Error).message}`);
      }
    }
    rows.push(listRow({ ...facts, urls }, now, state === "deployed", opts.ttl, state));
  }
  return { rows, problems };
}

/**
 * `fawkes qa gc` on AWS: destroys and removes every QA stack whose last push is older than its TTL
 * (or `ttl`). Only stacks qa up tagged and whose name is a QA stack's are candidates (gcSelection):
 * no other stack is ever touched. One failure does not stop the others.
 */
export async function qaGcAws(opts: QaAwsDeps & { root: string; ttl?: string; dryRun?: boolean }): Promise<QaGcResult> {
  if (opts.ttl !== undefined) ttlMs(opts.ttl);
  const progress = opts.progress ?? (() => {});
  const stacks = withClearErrors(opts.stacks);
  const now = opts.now ?? new Date();
  await stacks.preflight();
  const { found, problems } = await qaStacksOf(stacks);
  const picked = new Set(gcSelection(found.map((f) => f.facts), now, opts.ttl).map((f) => f.stack));
  const expiredRows: QaListRow[] = [];
  const kept: QaListRow[] = [];
  const failed: QaGcResult["failed"] = [];
  for (const { summary, facts } of found) {
    const state = stateOf(summary);
    const row = listRow(facts, now, state === "deployed", opts.ttl, state);
    if (!picked.has(facts.stack)) {
      kept.push(row);
      continue;
    }
    expiredRows.push(row);
    if (opts.dryRun) continue;
    try {
      progress(`${facts.stack}: last push ${facts.lastPush}, TTL ${row.ttl}: removing`);
      await removeQaStack(opts.stacks, opts.root, facts.stack, summary.tags, progress, opts.teardown);
    } catch (e) {
      failed.push({ stack: facts.stack, error: (e as Error).message });
    }
  }
  return { dryRun: opts.dryRun === true, ...(opts.ttl ? { ttl: opts.ttl } : {}), expired: expiredRows, kept, failed, problems };
}
