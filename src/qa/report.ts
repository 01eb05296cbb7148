// What `qa list` and `qa gc` print: rows computed from the facts of each environment (a local
// record, or an AWS stack's tags and outputs) and a clock, then text. Pure.
import { expired, timeLeft, type QaRecord } from "./registry.ts";

/** Where a QA environment runs: this machine, or AWS through Pulumi. */
export type QaTarget = "local" | "aws";

/** What a row is made of, on either target. */
export type QaFacts = Pick<QaRecord, "branch" | "stack" | "createdAt" | "lastPush" | "ttl" | "keepUntil" | "commit" | "urls"> & {
  target: QaTarget;
  releases?: Record<string, string>;
};

/** One QA environment as `qa list --json` gives it. */
export interface QaListRow {
  branch: string;
  stack: string;
  target: QaTarget;
  createdAt: string;
  lastPush: string;
  ttl: string;
  ageSeconds: number;
  sinceLastPushSeconds: number;
  /** Negative once expired. */
  ttlLeftSeconds: number;
  expired: boolean;
  /** Local: its load balancer runs and at least one host is healthy. AWS: its resources are deployed and no update runs. */
  up: boolean;
  /** What STATE prints: `up`/`down` locally; `deployed`, `updating` or `empty` on AWS. */
  state: string;
  urls: Record<string, string>;
  commit: string;
  /** Release id per app (local records; on AWS the pins are in the stack file). */
  releases?: Record<string, string>;
}

export function listRow(facts: QaFacts, now: Date, up: boolean, ttlOverride?: string, state: string = up ? "up" : "down"): QaListRow {
  const ttl = ttlOverride ?? facts.ttl;
  return {
    branch: facts.branch,
    stack: facts.stack,
    target: facts.target,
    createdAt: facts.createdAt,
    lastPush: facts.lastPush,
    ttl,
    ageSeconds: Math.floor((now.getTime() - Date.parse(facts.createdAt)) / 1000),
    sinceLastPushSeconds: Math.floor((now.getTime() - Date.parse(facts.lastPush)) / 1000),
    ttlLeftSeconds: Math.trunc(timeLeft(facts, now, ttl) / 1000),
    expired: expired(facts, now, ttl),
    up,
    state,
    urls: facts.urls,
    commit: facts.commit,
    ...(facts.releases ? { releases: facts.releases } : {}),
  };
}

/** What `qa gc` did, on either target. */
export interface QaGcResult {
  dryRun: boolean;
  ttl?: string;
  /** Picked: expired. Removed unless dryRun. */
  expired: QaListRow[];
  kept: QaListRow[];
  failed: Array<{ stack: string; error: string }>;
  problems: string[];
}

const UNITS: Array<[string, number]> = [
  ["w", 604800],
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
  ["s", 1],
];

/** A span in its two largest units, like `2d 3h`, `45m`, `-1d 4h` (negative: in the past). */
export function formatSpan(seconds: number): string {
  const sign = seconds < 0 ? "-" : "";
  const abs = Math.abs(Math.trunc(seconds));
  const i = UNITS.findIndex(([, size]) => abs >= size);
  if (i === -1) return "0s";
  const [unit, size] = UNITS[i]!;
  const parts = [`${Math.floor(abs / size)}${unit}`];
  const next = UNITS[i + 1];
  if (next && Math.floor((abs % size) / next[1]) > 0) parts.push(`${Math.floor((abs % size) / next[1])}${next[0]}`);
  return sign + parts.join(" ");
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** `qa list` as text: one line per environment, its URLs on the lines below. */
export function formatList(rows: readonly QaListRow[]): string {
  if (rows.length === 0) return "no QA environments\n";
  const cells = rows.map((r) => [
    r.branch,
    r.stack,
    r.target,
    formatSpan(r.ageSeconds),
    `${formatSpan(r.sinceLastPushSeconds)} ago`,
    `${formatSpan(r.ttlLeftSeconds)}${r.expired ? " (expired)" : ""}`,
    r.state,
  ]);
  const text = table(["BRANCH", "STACK", "TARGET", "AGE", "LAST PUSH", "TTL LEFT", "STATE"], cells).split("\n");
  const out = [text[0]!];
  rows.forEach((r, i) => {
    out.push(text[i + 1]!);
    for (const [app, url] of Object.entries(r.urls)) out.push(`    ${app}: ${url}`);
  });
  return `${out.join("\n")}\n`;
}

/** One `qa gc` line per environment picked. */
export function formatGcLine(row: QaListRow, dryRun: boolean, outcome?: string): string {
  const what = `${row.stack} (branch ${row.branch}): last push ${formatSpan(row.sinceLastPushSeconds)} ago, TTL ${row.ttl}, expired ${formatSpan(-row.ttlLeftSeconds)} ago`;
  return dryRun ? `would remove ${what}\n` : `${outcome ?? "removed"} ${what}\n`;
}
