// The daily traceback mail of one environment: per app, its top kinds of the window (count,
// first and last seen, hosts, the release each started in, one whole sample), as a subject, a
// text part and an HTML part. Pure. Tracebacks are hostile text (a message can carry markup,
// terminal escapes, bidi overrides): everything from a log is escaped in HTML and made printable.
import type { ErrorGroup } from "./digest.ts";
import { utc, type Digest } from "./report.ts";
import { escapeHtml } from "../html/index.ts";

export interface ErrorMail {
  subject: string;
  text: string;
  html: string;
}

/** One app's part of the digest: its totals in the window and its top kinds. */
export interface AppSection {
  app: string;
  /** Tracebacks of the app in the window, and kinds (signatures) among them. */
  total: number;
  kinds: number;
  /** The top ones, at most `top`, the most frequent first. */
  groups: ErrorGroup[];
}

/** Lines of a sample kept: the first and the last, where the raise is. */
const SAMPLE_HEAD = 20;
const SAMPLE_TAIL = 99;
const MAX_LINE = 1000;
const MAX_HOSTS = 10;

/**
 * Per app of the digest, in catalogue order, its top `top` kinds. The digest must hold every group
 * (`digestOf(collected, at, Infinity)`): its own limit is over all apps, the mail's is per app.
 */
export function appSections(d: Digest, top: number): AppSection[] {
  return d.apps.map((app) => {
    const groups = d.groups.filter((g) => g.app === app);
    return { app, total: groups.reduce((n, g) => n + g.count, 0), kinds: groups.length, groups: groups.slice(0, top) };
  });
}

/** Printable: C0/C1 controls (a terminal escape, a NUL) and bidi overrides become U+FFFD; tabs stay; long lines are cut. */
export function printable(s: string, max = MAX_LINE): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "\ufffd");
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}


const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A sample's lines as shown: the log record first, a very long one cut in its middle. */
export function sampleLines(g: ErrorGroup): string[] {
  const all = [...(g.sample.logLine !== undefined ? [g.sample.logLine] : []), ...g.sample.lines].map((l) => printable(l.trimEnd()));
  if (all.length <= SAMPLE_HEAD + SAMPLE_TAIL + 1) return all;
  return [...all.slice(0, SAMPLE_HEAD), `… ${all.length - SAMPLE_HEAD - SAMPLE_TAIL} lines left out …`, ...all.slice(-SAMPLE_TAIL)];
}

function hostsOf(g: ErrorGroup): string {
  const shown = g.hosts.slice(0, MAX_HOSTS).map((h) => (g.hosts.length === 1 ? h.host : `${h.host} (${h.count})`));
  return printable(`${shown.join(", ")}${g.hosts.length > MAX_HOSTS ? `, +${g.hosts.length - MAX_HOSTS} more` : ""}`);
}

const errorOf = (g: ErrorGroup) => printable(`${g.type}${g.message ? `: ${g.message}` : ""}`, 300);
const releaseOf = (g: ErrorGroup) => g.firstRelease ?? "unknown";

function windowOf(d: Digest): string {
  const hours = Math.round((d.until - d.since) / 3600_000);
  return `${hours} h to ${utc(d.until).slice(0, 16)} UTC`;
}

export function errorMailSubject(project: string, d: Digest): string {
  const partial = d.partial ? " (partial)" : "";
  if (d.total === 0) return `[${project}/${d.stack}] no tracebacks in the ${windowOf(d)}${partial}`;
  return `[${project}/${d.stack}] ${plural(d.total, "traceback")} of ${plural(d.signatures, "kind")} in the ${windowOf(d)}${partial}`;
}

/** The lines under the title: the window, what was read, what could not be counted. */
function preamble(d: Digest): string[] {
  const lines = [`From ${utc(d.since)} to ${utc(d.until)} UTC (${d.target}: ${printable(d.scanned)}).`];
  if (d.cutShort > 0) lines.push(`${plural(d.cutShort, "traceback")} cut short (the log ended before the exception line) not counted.`);
  if (d.partial) lines.push(`Partial: ${printable(d.partial)}`);
  return lines;
}

/** The command that shows an app's every kind over the same window. */
const moreCommand = (d: Digest, app: string) => `fawkes errors --stack ${d.stack} --app ${app} --since ${new Date(d.since).toISOString().replace(".000Z", "Z")} --limit 100${d.target === "aws" ? " --target aws" : ""}`;

export function errorMailText(project: string, d: Digest, top: number): string {
  const out: string[] = [];
  const sections = appSections(d, top);
  out.push(d.total === 0 ? `${project}/${d.stack}: no tracebacks in any app (${d.apps.join(", ")}).` : `${project}/${d.stack}: ${plural(d.total, "traceback")} of ${plural(d.signatures, "kind")}.`, ...preamble(d));
  for (const s of sections) {
    if (s.total === 0) continue;
    const title = `${s.app}: ${plural(s.total, "traceback")} of ${plural(s.kinds, "kind")}${s.kinds > s.groups.length ? `, the top ${s.groups.length}` : ""}`;
    out.push("", "", title, "=".repeat(title.length));
    s.groups.forEach((g, i) => {
      out.push(
        "",
        `#${i + 1}  ${g.count} × ${errorOf(g)}`,
        `    first seen  ${utc(g.firstSeen)} UTC, in release ${releaseOf(g)}`,
        `    last seen   ${utc(g.lastSeen)} UTC`,
        `    hosts       ${hostsOf(g)}`,
        `    signature   ${g.signature}`,
        `    latest on ${printable(g.sample.host)} at ${utc(g.sample.time)} UTC, ${printable(g.sample.where)}:`,
        "",
        ...sampleLines(g).map((l) => `        ${l}`.trimEnd()),
      );
    });
    if (s.kinds > s.groups.length) out.push("", `(${plural(s.kinds - s.groups.length, "more kind")} of ${s.app}: ${moreCommand(d, s.app)})`);
  }
  const quiet = sections.filter((s) => s.total === 0).map((s) => s.app);
  if (d.total > 0 && quiet.length > 0) out.push("", "", `No tracebacks in ${quiet.join(", ")}.`);
  out.push("", "-- ", `fawkes, the daily traceback digest of ${project}/${d.stack} (knob errorMail).`);
  return `${out.join("\n")}\n`;
}

const cell = (s: string, style = "") => `<td style="padding:2px 8px;vertical-align:top;${style}">${escapeHtml(s)}</td>`;
const TH = "padding:2px 8px;text-align:left;border-bottom:1px solid #999";

/**
 * The digest as an HTML fragment (no <html> around it): the mail's body, and what the console can
 * show on its page. Every value from a log is escaped.
 */
export function errorDigestHtml(project: string, d: Digest, top: number): string {
  const out: string[] = [];
  const sections = appSections(d, top);
  out.push(`<h1 style="font-size:18px">${escapeHtml(d.total === 0 ? `${project}/${d.stack}: no tracebacks in any app (${d.apps.join(", ")})` : `${project}/${d.stack}: ${plural(d.total, "traceback")} of ${plural(d.signatures, "kind")}`)}</h1>`);
  for (const l of preamble(d)) out.push(`<p>${escapeHtml(l)}</p>`);
  for (const s of sections) {
    if (s.total === 0) continue;
    const anchor = (i: number) => `${escapeHtml(s.app)}-${i + 1}`;
    out.push(`<h2 style="font-size:16px;margin-top:24px">${escapeHtml(`${s.app}: ${plural(s.total, "traceback")} of ${plural(s.kinds, "kind")}${s.kinds > s.groups.length ? `, the top ${s.groups.length}` : ""}`)}</h2>`);
    out.push(`<table style="border-collapse:collapse;font-size:13px"><thead><tr>${["#", "Count", "First seen (UTC)", "Last seen (UTC)", "Started in release", "Hosts", "Error"].map((h) => `<th style="${TH}">${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>`);
    s.groups.forEach((g, i) => {
      out.push(
        `<tr><td style="padding:2px 8px;vertical-align:top"><a href="#${anchor(i)}">#${i + 1}</a></td>${cell(String(g.count), "text-align:right")}${cell(utc(g.firstSeen))}${cell(utc(g.lastSeen))}${cell(releaseOf(g))}${cell(hostsOf(g))}${cell(errorOf(g), "font-family:monospace")}</tr>`,
      );
    });
    out.push("</tbody></table>");
    if (s.kinds > s.groups.length) out.push(`<p>${escapeHtml(`${plural(s.kinds - s.groups.length, "more kind")} of ${s.app}: `)}<code>${escapeHtml(moreCommand(d, s.app))}</code></p>`);
    s.groups.forEach((g, i) => {
      out.push(
        `<h3 id="${anchor(i)}" style="font-size:14px;margin-top:16px">${escapeHtml(`#${i + 1} ${printable(g.type, 300)} in ${s.app}`)}</h3>`,
        `<p style="font-size:13px">${escapeHtml(`${g.count} × since ${utc(g.firstSeen)} UTC (release ${releaseOf(g)}), signature ${g.signature}; latest on ${printable(g.sample.host)} at ${utc(g.sample.time)} UTC, ${printable(g.sample.where)}:`)}</p>`,
        `<pre style="font-size:12px;background:#f6f6f6;padding:8px;overflow-x:auto">${escapeHtml(sampleLines(g).join("\n"))}</pre>`,
      );
    });
  }
  const quiet = sections.filter((s) => s.total === 0).map((s) => s.app);
  if (d.total > 0 && quiet.length > 0) out.push(`<p>${escapeHtml(`No tracebacks in ${quiet.join(", ")}.`)}</p>`);
  return out.join("\n");
}

function document(subject: string, body: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>\n<body style="font-family:sans-serif;font-size:14px">\n${body}\n<p style="color:#666;font-size:12px">fawkes, the daily traceback digest (knob errorMail).</p>\n</body></html>\n`;
}

/** The mail of a digest that holds every group: top `top` kinds per app. A digest with none still makes a (short) mail. */
export function errorMail(project: string, d: Digest, top: number): ErrorMail {
  const subject = errorMailSubject(project, d);
  return { subject, text: errorMailText(project, d, top), html: document(subject, errorDigestHtml(project, d, top)) };
}

/** The mail sent when the logs could not be read: the day's silence must not read as "no tracebacks". */
export function failedMail(project: string, at: Pick<Digest, "stack" | "target" | "since" | "until">, reason: string): ErrorMail {
  const subject = `[${project}/${at.stack}] the traceback digest failed (${at.target}, ${utc(at.until).slice(0, 16)} UTC)`;
  const lines = [
    `fawkes could not make the traceback digest of ${project}/${at.stack} for ${utc(at.since)} to ${utc(at.until)} UTC:`,
    "",
    `    ${printable(reason, 4000)}`,
    "",
    "No tracebacks are counted for that day. The reason says what to fix; `fawkes errors --stack " + at.stack + (at.target === "aws" ? " --target aws" : "") + "` reads the same logs.",
  ];
  const html = `<h1 style="font-size:18px">${escapeHtml(`${project}/${at.stack}: the traceback digest failed`)}</h1>\n${lines
    .filter((l) => l !== "")
    .map((l) => `<p>${escapeHtml(l.trim())}</p>`)
    .join("\n")}`;
  return { subject, text: `${lines.join("\n")}\n`, html: document(subject, html) };
}
