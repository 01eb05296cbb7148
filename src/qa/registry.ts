// The QA registry: one JSON record per QA stack under ${FAWKES_HOME}/qa, saying which branch it
// serves, when that branch was last pushed and how long it may live without a push. The local
// target has no stack tags to carry this (Pulumi's tags do on AWS): the record is the tag.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { durationSeconds } from "../config/index.ts";
import { Duration } from "../config/primitives.ts";
import { fawkesHome } from "../local/image.ts";
import { isQaStack } from "../names/index.ts";

/** A QA problem that changed nothing (unknown branch, a stack owned by another checkout): exit 1. */
export class QaError extends Error {}

const IsoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO 8601 time");

export const QaRecordSchema = z.object({
  branch: z.string().min(1).describe("The git branch the environment serves."),
  stack: z.string().refine(isQaStack, "must be a QA stack name (qa-<branch>)").describe("qaStackName(branch)."),
  target: z.literal("local").describe("Where it runs: records are the local target's; on AWS the same facts are stack tags (aws.ts)."),
  project: z.string().describe("The project dir (absolute) whose stack file it is."),
  stackFile: z.string().describe("The stack file (absolute) holding the branch's pins."),
  createdStackFile: z.boolean().describe("Whether `qa up` created the stack file: `qa down` removes it only then."),
  ref: z.string().describe("The git ref the releases were built from."),
  commit: z.string().describe("The commit that ref named at the last `qa up`."),
  createdAt: IsoTime.describe("First `qa up` of this environment."),
  lastPush: IsoTime.describe("Committer date of the branch head at the last `qa up`."),
  ttl: Duration.describe("No push for this long and `qa gc` removes the environment."),
  keepUntil: IsoTime.optional().describe("`qa extend`: kept at least until then, whatever the last push."),
  releases: z.record(z.string(), z.string()).describe("Release id per app, built at `commit`."),
  urls: z.record(z.string(), z.string().regex(/^https?:\/\/[^\s"'<>]+$/, "must be an http(s) URL")).default({}).describe("Each app's URL through the local load balancer."),
});
export type QaRecord = z.infer<typeof QaRecordSchema>;

export function qaDir(home = fawkesHome()): string {
  return join(home, "qa");
}

export function recordFile(stack: string, home = fawkesHome()): string {
  // The stack names a file: only names qaStackName makes, never `../x` or `production`.
  if (!isQaStack(stack)) throw new QaError(`"${stack}" is not a QA stack name; QA stacks are qa-<branch> (never the qa template itself)`);
  return join(qaDir(home), `${stack}.json`);
}

function parseRecord(file: string, text: string): QaRecord {
  const parsed = QaRecordSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new QaError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(record)"}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

export function readRecord(stack: string, home = fawkesHome()): QaRecord | undefined {
  const file = recordFile(stack, home);
  if (!existsSync(file)) return undefined;
  const record = parseRecord(file, readFileSync(file, "utf8"));
  if (record.stack !== stack) throw new QaError(`${file}: holds stack ${record.stack}, not ${stack}`);
  return record;
}

/** Every readable record, by stack; a file that is not a valid record is reported, never acted on. */
export function listRecords(home = fawkesHome()): { records: QaRecord[]; problems: string[] } {
  const dir = qaDir(home);
  if (!existsSync(dir)) return { records: [], problems: [] };
  const records: QaRecord[] = [];
  const problems: string[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const stack = name.slice(0, -".json".length);
    try {
      const r = readRecord(stack, home);
      if (r) records.push(r);
    } catch (e) {
      problems.push(e instanceof SyntaxError ? `${join(dir, name)}: not JSON: ${e.message}` : (e as Error).message);
    }
  }
  return { records, problems };
}

/** Writes the record atomically; returns false (and writes nothing) when the file already says the same. */
export function writeRecord(record: QaRecord, home = fawkesHome()): boolean {
  const file = recordFile(record.stack, home);
  const text = `${JSON.stringify(QaRecordSchema.parse(record), null, 2)}\n`;
  if (existsSync(file) && readFileSync(file, "utf8") === text) return false;
  mkdirSync(qaDir(home), { recursive: true });
  writeFileSync(`${file}.${process.pid}.tmp`, text);
  renameSync(`${file}.${process.pid}.tmp`, file);
  return true;
}

export function removeRecord(stack: string, home = fawkesHome()): void {
  rmSync(recordFile(stack, home), { force: true });
}

/** A TTL in milliseconds; the same duration format as the `qaTtl` knob (`36h`, `3d`, `2w`). */
export function ttlMs(ttl: string): number {
  const parsed = Duration.safeParse(ttl);
  if (!parsed.success) throw new QaError(`TTL ${JSON.stringify(ttl)}: ${parsed.error.issues[0]?.message ?? "not a duration"}`);
  return durationSeconds(ttl) * 1000;
}

/** When the environment expires: its last push plus its TTL (or ttlOverride), or later when extended (keepUntil). */
export function expiresAt(record: Pick<QaRecord, "lastPush" | "ttl" | "keepUntil">, ttlOverride?: string): number {
  return Math.max(Date.parse(record.lastPush) + ttlMs(ttlOverride ?? record.ttl), record.keepUntil !== undefined ? Date.parse(record.keepUntil) : -Infinity);
}

/** Milliseconds until the environment expires, from now. Negative once expired. */
export function timeLeft(record: Pick<QaRecord, "lastPush" | "ttl" | "keepUntil">, now: Date, ttlOverride?: string): number {
  return expiresAt(record, ttlOverride) - now.getTime();
}

/** Whether the last push is older than the TTL. */
export function expired(record: Pick<QaRecord, "lastPush" | "ttl" | "keepUntil">, now: Date, ttlOverride?: string): boolean {
  return timeLeft(record, now, ttlOverride) < 0;
}

/**
 * What `qa gc` removes: expired QA stacks, and never anything else. A record naming a stack that
 * is not a QA stack (hand-edited, or `qa` itself) is never picked, however old.
 */
export function gcSelection<R extends Pick<QaRecord, "stack" | "lastPush" | "ttl" | "keepUntil">>(records: readonly R[], now: Date, ttlOverride?: string): R[] {
  return records.filter((r) => isQaStack(r.stack) && expired(r, now, ttlOverride));
}
