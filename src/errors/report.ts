// `fawkes errors` output: the digest as a table and samples, or as JSON. Pure.
import { groupOccurrences, type ErrorGroup } from "./digest.ts";
import type { Collected } from "./source.ts";

export interface Digest {
  stack: string;
  target: "local" | "aws";
  where: string;
  since: number;
  until: number;
  apps: readonly string[];
  /** Tracebacks in the window, and signatures among them. */
  total: number;
  signatures: number;
  cutShort: number;
  scanned: string;
  partial?: string;
  /** The top ones, at most `limit`. */
  groups: ErrorGroup[];
}

export function digestOf(collected: Collected, at: Omit<Digest, "total" | "signatures" | "cutShort" | "scanned" | "partial" | "groups">, limit: number): Digest {
  const all = groupOccurrences(collected.occurrences);
  return {
    ...at,
    total: collected.occurrences.length,
    signatures: all.length,
    cutShort: collected.cutShort,
    scanned: collected.scanned,
    ...(collected.partial ? { partial: collected.partial } : {}),
    groups: all.slice(0, limit),
  };
}

/** `2026-11-23 17:22:43`, in UTC. */
export function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function hostsCell(g: ErrorGroup): string {
  const shown = g.hosts.slice(0, 3).map((h) => (g.hosts.length === 1 ? h.host : `${h.host} (${h.count})`));
  return `${shown.join(", ")}${g.hosts.length > 3 ? ` +${g.hosts.length - 3}` : ""}`;
}

export function formatDigest(d: Digest): string {
  const out: string[] = [];
  const window = `since ${utc(d.since)} UTC`;
  const appNote = d.apps.length === 1 ? ` of ${d.apps[0]}` : "";
  const notes: string[] = [];
  if (d.cutShort > 0) notes.push(`${d.cutShort} traceback${d.cutShort === 1 ? "" : "s"} cut short (the log ended before the exception line) not counted`);
  if (d.partial) notes.push(`partial: ${d.partial}`);
  if (d.total === 0) {
    out.push(`${d.stack}: no tracebacks${appNote} ${window} (${d.target}: ${d.scanned})`);
    return `${[...out, ...notes.map((n) => `  ${n}`)].join("\n")}\n`;
  }
  out.push(`${d.stack}: ${d.total} traceback${d.total === 1 ? "" : "s"}${appNote} of ${d.signatures} kind${d.signatures === 1 ? "" : "s"} ${window} (${d.target}: ${d.scanned})`);
  for (const n of notes) out.push(`  ${n}`);
  out.push("");
  const rows = d.groups.map((g, i) => [`#${i + 1}`, String(g.count), utc(g.firstSeen), utc(g.lastSeen), g.app, hostsCell(g), cut(`${g.type}${g.message ? `: ${g.message}` : ""}`, 120)]);
  const head = ["", "COUNT", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "APP", "HOSTS", "ERROR"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => (c === r.length - 1 ? v : c === 1 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join("  ").trimEnd();
  out.push(line(head), ...rows.map(line));
  if (d.signatures > d.groups.length) out.push(`(${d.signatures - d.groups.length} more kind${d.signatures - d.groups.length === 1 ? "" : "s"}: raise --limit)`);
  d.groups.forEach((g, i) => {
    const first = g.firstRelease !== undefined ? `, first in release ${g.firstRelease}` : "";
    out.push("", `#${i + 1} ${g.type} in ${g.app} (signature ${g.signature})${first}, latest on ${g.sample.host} at ${utc(g.sample.time)} UTC, ${g.sample.where}:`);
    if (g.sample.logLine !== undefined) out.push(`    ${g.sample.logLine}`);
    for (const l of g.sample.lines) out.push(`    ${l}`.trimEnd());
  });
  return `${out.join("\n")}\n`;
}

/** `--json`: times as ISO strings. */
export function digestJson(d: Digest): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  return `${JSON.stringify(
    {
      ...d,
      since: iso(d.since),
      until: iso(d.until),
      groups: d.groups.map((g) => ({ ...g, firstSeen: iso(g.firstSeen), lastSeen: iso(g.lastSeen), sample: { ...g.sample, time: iso(g.sample.time) } })),
    },
    null,
    2,
  )}\n`;
}
