// Where tracebacks come from: the hosts' log files here, CloudWatch Logs on AWS. One interface;
// the grouping after it is the same pure code for both.
import type { Occurrence } from "./digest.ts";
import { parseTracebacks } from "./traceback.ts";

export interface ErrorQuery {
  /** Epoch ms: tracebacks at or after it. */
  since: number;
  until: number;
  apps: readonly string[];
}

export interface Collected {
  occurrences: Occurrence[];
  /** Tracebacks whose exception line never came (the log ended, or another began): not grouped. */
  cutShort: number;
  /** For the summary: `2 hosts, 3 log files`. */
  scanned: string;
  /** Set when the source could not read everything in the window (AWS: too many lines). */
  partial?: string;
}

export interface ErrorSource {
  /** For messages: a directory, or `CloudWatch Logs /fawkes/dev/apps/* (eu-west-1)`. */
  readonly where: string;
  collect(query: ErrorQuery): Promise<Collected>;
}

/** A user-facing failure of a source: printed as `error: ...`, exit 1. */
export class ErrorsError extends Error {}

/**
 * The tracebacks of one log's text within the window. `lineTimes` gives each line's time when
 * the source knows it (CloudWatch's event timestamps); else the log's own timestamps are used,
 * and `fallbackTime` (a file's mtime) for a log with none.
 */
export function occurrencesIn(
  text: string,
  at: { app: string; host: string; where: string; fallbackTime: number; lineTimes?: readonly number[]; release?: string },
  query: Pick<ErrorQuery, "since">,
): { occurrences: Occurrence[]; cutShort: number } {
  const occurrences: Occurrence[] = [];
  let cutShort = 0;
  for (const tb of parseTracebacks(text)) {
    const time = at.lineTimes?.[tb.lineNumber - 1] ?? tb.time ?? at.fallbackTime;
    // No upper bound: a clock ahead of this one's must not hide a traceback.
    if (time < query.since) continue;
    if (!tb.complete) {
      cutShort++;
      continue;
    }
    occurrences.push({ app: at.app, host: at.host, traceback: tb, time, where: at.where, ...(at.release !== undefined ? { release: at.release } : {}) });
  }
  return { occurrences, cutShort };
}
