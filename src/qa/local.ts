// QA environments on the local target: a branch's releases built at its head, pinned in its own
// stack file (layered over the `qa` template), booted with `local up`, and recorded so that
// `qa list` and `qa gc` know its branch, its last push and its TTL.
import { existsSync, rmSync } from "node:fs";
import type { BuildResult } from "../artifact/index.ts";
import { loadStack } from "../config/index.ts";
import { envLayout, localDown, localStatus, localUp, requireLocalTarget, type UpResult } from "../local/index.ts";
import type { Progress } from "../local/steps.ts";
import { isQaStack, qaStackName } from "../names/index.ts";
import { headOf } from "./git.ts";
import { expiresAt, gcSelection, listRecords, QaError, readRecord, removeRecord, ttlMs, writeRecord, type QaRecord } from "./registry.ts";
import { buildAndPin, type BuildFn } from "./releases.ts";
import { listRow, type QaGcResult, type QaListRow } from "./report.ts";

export interface QaUpOptions {
  root: string;
  branch: string;
  /** Default: the branch. */
  ref?: string;
  /** Default: the stack's `qaTtl` knob. */
  ttl?: string;
  progress?: Progress;
  now?: Date;
  /** The local artifact store (default ${FAWKES_HOME:-/var/lib/fawkes}/artifacts). */
  store?: string;
  /** Default buildArtifact; tests pass a stand-in. */
  build?: BuildFn;
}

export interface QaUpResult {
  record: QaRecord;
  builds: BuildResult[];
  up: UpResult;
}

/**
 * `fawkes qa up --branch B --local`: builds every app at the branch head (releases already in the
 * store are not built again), pins them in stacks/Pulumi.<qa stack>.yaml, records the environment
 * and boots it. A second call with the same head changes nothing.
 */
export async function qaUpLocal(opts: QaUpOptions): Promise<QaUpResult> {
  const progress = opts.progress ?? (() => {});
  const { root, branch } = opts;
  const stack = qaStackName(branch);
  const ref = opts.ref ?? branch;
  if (opts.ttl !== undefined) ttlMs(opts.ttl);
  await requireLocalTarget();
  const existing = readRecord(stack);
  if (existing && existing.project !== root && existsSync(existing.stackFile)) {
    throw new QaError(`${stack} (branch ${existing.branch}) already runs on this machine for the project ${existing.project}; bring it down there first (fawkes qa down --branch ${existing.branch} --project ${existing.project})`);
  }
  const head = await headOf(root, ref);
  progress(`${stack}: branch ${branch} at ${head.commit.slice(0, 12)} (last push ${head.lastPush})`);

  const { template, builds, stackFile: file, stackFileExisted: fileExisted } = await buildAndPin({ root, stack, commit: head.commit, store: opts.store, progress, build: opts.build });

  const record: QaRecord = {
    branch,
    stack,
    target: "local",
    project: root,
    stackFile: file,
    createdStackFile: existing?.project === root ? existing.createdStackFile : !fileExisted,
    ref,
    commit: head.commit,
    createdAt: existing?.createdAt ?? (opts.now ?? new Date()).toISOString(),
    lastPush: head.lastPush,
    ttl: opts.ttl ?? template.knobs.qaTtl,
    releases: Object.fromEntries(builds.map((b) => [b.app, b.release])),
    urls: existing?.urls ?? {},
    ...(existing?.keepUntil !== undefined ? { keepUntil: existing.keepUntil } : {}),
  };
  // Recorded before the hosts boot: a failed or interrupted up is still known to down and gc.
  writeRecord(record);
  const up = await localUp(loadStack(root, stack), { progress });
  const final = { ...record, urls: up.urls };
  writeRecord(final);
  return { record: final, builds, up };
}

/** Whether the environment serves: its load balancer runs and some host is healthy and running. */
async function isUp(stack: string): Promise<boolean> {
  const s = await localStatus(stack);
  return s.up && s.loadBalancer === "running" && s.hosts.some((h) => h.running && h.healthy);
}

/** Downs one QA stack: its hosts and local data, then the stack file it created, then its record. */
async function downStack(stack: string, record: QaRecord | undefined, progress: Progress): Promise<{ stackFileRemoved: boolean }> {
  if (!isQaStack(stack)) throw new QaError(`refusing to remove ${stack}: not a QA stack`);
  await localDown(envLayout(stack), progress);
  let stackFileRemoved = false;
  if (record?.createdStackFile && existsSync(record.stackFile)) {
    rmSync(record.stackFile);
    stackFileRemoved = true;
  }
  removeRecord(stack);
  return { stackFileRemoved };
}

/**
 * `fawkes qa extend --branch B --by 2d`: the environment is kept that much longer than it would be
 * now (its expiry, or now when already expired), whatever its last push. Changes no host.
 */
export function qaExtend(branch: string, by: string, now = new Date()): QaRecord {
  const stack = qaStackName(branch);
  const record = readRecord(stack);
  if (!record) {
    const known = listRecords().records.map((r) => `${r.branch} (${r.stack})`);
    throw new QaError(`no QA environment for branch "${branch}" (stack ${stack}) on this machine; QA environments: ${known.join(", ") || "none"}`);
  }
  const from = Math.max(expiresAt(record), now.getTime());
  const extended = { ...record, keepUntil: new Date(from + ttlMs(by)).toISOString() };
  writeRecord(extended);
  return extended;
}

/** `fawkes qa down --branch B`: that branch's environment and nothing else. */
export async function qaDown(branch: string, progress: Progress = () => {}): Promise<{ stack: string; record?: QaRecord; stackFileRemoved: boolean }> {
  const stack = qaStackName(branch);
  const record = readRecord(stack);
  if (!record && !existsSync(envLayout(stack).dir)) {
    const known = listRecords().records.map((r) => `${r.branch} (${r.stack})`);
    throw new QaError(`no QA environment for branch "${branch}" (stack ${stack}) on this machine; QA environments: ${known.join(", ") || "none"}`);
  }
  if (record && record.target !== "local") throw new QaError(`${stack} runs on ${record.target}; only the local target is built so far`);
  await requireLocalTarget();
  const r = await downStack(stack, record, progress);
  return { stack, ...(record ? { record } : {}), ...r };
}

/** `fawkes qa list`: every recorded QA environment of this machine, with its state. */
export async function qaList(now = new Date(), ttlOverride?: string): Promise<{ rows: QaListRow[]; problems: string[] }> {
  const { records, problems } = listRecords();
  const rows: QaListRow[] = [];
  for (const r of records) rows.push(listRow(r, now, await isUp(r.stack), ttlOverride));
  return { rows, problems };
}

/**
 * `fawkes qa gc`: downs every QA environment whose last push is older than its TTL (or ttlOverride).
 * Only records of QA stacks are candidates (gcSelection): no other stack is ever touched.
 */
export async function qaGc(opts: { ttl?: string; dryRun?: boolean; now?: Date; progress?: Progress } = {}): Promise<QaGcResult> {
  if (opts.ttl !== undefined) ttlMs(opts.ttl);
  const now = opts.now ?? new Date();
  const progress = opts.progress ?? (() => {});
  const { records, problems } = listRecords();
  const picked = new Set(gcSelection(records, now, opts.ttl).map((r) => r.stack));
  if (picked.size > 0 && !opts.dryRun) await requireLocalTarget();
  const expiredRows: QaListRow[] = [];
  const kept: QaListRow[] = [];
  const failed: QaGcResult["failed"] = [];
  for (const r of records) {
    const row = listRow(r, now, await isUp(r.stack), opts.ttl);
    if (!picked.has(r.stack)) {
      kept.push(row);
      continue;
    }
    expiredRows.push(row);
    if (opts.dryRun) continue;
    try {
      progress(`${r.stack}: last push ${r.lastPush}, TTL ${row.ttl}: removing`);
      await downStack(r.stack, r, progress);
    } catch (e) {
      failed.push({ stack: r.stack, error: (e as Error).message });
    }
  }
  return { dryRun: opts.dryRun === true, ...(opts.ttl ? { ttl: opts.ttl } : {}), expired: expiredRows, kept, failed, problems };
}
