// What `qa list` and `qa gc` print: rows computed from records and a clock, then text. Pure.
import { expired, timeLeft, type QaRecord } from "./registry.ts";

/** One QA environment as `qa list --json` gives it. */
export interface QaListRow {
  branch: string;
  stack: string;
  target: QaRecord["target"];
  createdAt: string;
  lastPush: string;
  ttl: string;
  ageSeconds: number;
  sinceLastPushSeconds: number;
  /** Negative once expired. */
  ttlLeftSeconds: number;
  expired: boolean;
  /** Its load balancer runs and at least one host is healthy. */
  up: boolean;
  urls: Record<string, string>;
  commit: string;
  releases: Record<string, string>;
}

export function listRow(record: QaRecord, now: Date, up: boolean, ttlOverride?: string): QaListRow {
  const ttl = ttlOverride ?? record.ttl;
  return {
    branch: record.branch,
    stack: record.stack,
    target: record.target,
    createdAt: record.createdAt,
    lastPush: record.lastPush,
    ttl,
    ageSeconds: Math.floor((now.getTime() - Date.parse(record.createdAt)) / 1000),
    sinceLastPushSeconds: Math.floor((now.getTime() - Date.parse(record.lastPush)) / 1000),
    ttlLeftSeconds: Math.trunc(timeLeft(record, now, ttl) / 1000),
    expired: expired(record, now, ttl),
    up,
    urls: record.urls,
    commit: record.commit,
    releases: record.releases,
  };
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
    formatSpan(r.ageSeconds),
    `${formatSpan(r.sinceLastPushSeconds)} ago`,
    `${formatSpan(r.ttlLeftSeconds)}${r.expired ? " (expired)" : ""}`,
    r.up ? "up" : "down",
  ]);
  const text = table(["BRANCH", "STACK", "AGE", "LAST PUSH", "TTL LEFT", "STATE"], cells).split("\n");
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
