// Python tracebacks in log text: pure, no I/O. A traceback is the block from `Traceback (most
// recent call last):` to its `Type: message` line, with chained blocks ("During handling of the
// above exception..." / "The above exception was the direct cause...") kept as one. Lines of
// other processes interleaved in it (another gunicorn worker, an access-log line) are skipped.

export interface Frame {
  file: string;
  line?: number;
  /** Absent for a SyntaxError's location frame (`File "x.py", line 3`). */
  function?: string;
}

/** One exception of a chain, in printed order: the causes first, the one raised last. */
export interface ExceptionBlock {
  type: string;
  message: string;
  frames: Frame[];
}

export interface Traceback {
  blocks: ExceptionBlock[];
  /** Type and first message line of the exception raised last (`(cut short)` when never printed). */
  type: string;
  message: string;
  /** The traceback as printed, chained blocks included, without interleaved foreign lines. */
  lines: string[];
  /** The log record right before it: `[...] ERROR in app: Exception on /boom [GET]`. */
  logLine?: string;
  /** Epoch milliseconds: the log record's timestamp, else the nearest timestamped line (see `time`). */
  time?: number;
  /** "record": the log record's own timestamp; "after"/"before": the nearest line after/before with one. */
  timeFrom?: "record" | "after" | "before";
  /** false when the text ended (or another traceback began) before its exception line was printed. */
  complete: boolean;
  /** 1-based line of its first line in the text. */
  lineNumber: number;
}

const HEADER = /^Traceback \(most recent call last\):\s*$/;
const FRAME = /^\s+File "(.*)", line (\d+)(?:, in (.*?))?\s*$/;
/** `module.Type: message` or a bare `Type`: a dotted identifier at the start of the line. */
const EXCEPTION = /^([A-Za-z_][\w.]*)(?::(?: (.*))?)?\s*$/;
const CHAINED = /^(During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)\s*$/;
const SYNTAX_ERRORS = /(^|\.)(SyntaxError|IndentationError|TabError)$/;
/** Foreign lines tolerated in a row inside an open traceback before it is taken as cut short. */
const MAX_FOREIGN = 20;
/** After an exception line, lines to wait for a chain separator. */
const MAX_CHAIN_GAP = 3;

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
/** Python logging's asctime (`2026-11-23 17:22:43,123`), ISO 8601, gunicorn's `[2026-11-23 17:22:43 +0000]`. */
const ISO_TIME = /(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?(?: ?(Z|UTC|[+-]\d{2}:?\d{2}))?/;
/** gunicorn's access log: `[23/Nov/2026:17:22:43 +0000]`. */
const CLF_TIME = /\[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\]/;

function offsetMinutes(zone: string | undefined): number {
  if (zone === undefined || zone === "Z" || zone === "UTC") return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/**
 * The timestamp a log line starts with (within its first 100 characters), in epoch ms. A time
 * without a zone is taken as UTC, the hosts' zone (Debian images, AWS and local, run in UTC).
 */
export function lineTime(line: string): number | undefined {
  const head = line.slice(0, 100);
  const iso = ISO_TIME.exec(head);
  if (iso) {
    const [, y, mo, d, h, mi, s, frac, zone] = iso;
    const ms = frac === undefined ? 0 : Number(frac.padEnd(3, "0").slice(0, 3));
    const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms) - offsetMinutes(zone) * 60_000;
    return Number.isNaN(t) ? undefined : t;
  }
  const clf = CLF_TIME.exec(head);
  if (clf) {
    const [, d, mon, y, h, mi, s, zone] = clf;
    const month = MONTHS[mon!];
    if (month === undefined) return undefined;
    return Date.UTC(Number(y), month, Number(d), Number(h), Number(mi), Number(s)) - offsetMinutes(zone) * 60_000;
  }
  return undefined;
}

interface Open {
  start: number;
  lines: string[];
  blocks: ExceptionBlock[];
  frames: Frame[];
  /** frames: inside a block; ended: after an exception line; chain: after a separator. */
  phase: "frames" | "ended" | "chain";
  foreign: number;
  logLine?: string;
  /** Started by a bare `File "x", line N` (a SyntaxError printed without a header). */
  headerless: boolean;
  lastLine: number;
}

function finish(o: Open, complete: boolean): Traceback {
  const last = o.blocks.at(-1);
  const blocks = complete ? o.blocks : [...o.blocks, { type: "(cut short)", message: "", frames: o.frames }];
  return {
    blocks,
    type: complete ? last!.type : "(cut short)",
    message: complete ? last!.message : "",
    lines: o.lines,
    ...(o.logLine !== undefined ? { logLine: o.logLine } : {}),
    complete,
    lineNumber: o.start + 1,
  };
}

/** Splits log text into its tracebacks, in order, each with a time when the log gives one. */
export function parseTracebacks(text: string): Traceback[] {
  // Most of a log has none: a 50 MB file without one is not split into lines.
  if (!text.includes("Traceback (most recent call last):") && !text.includes('  File "')) return [];
  const lines = text.split(/\r?\n/);
  const found: Array<{ tb: Traceback; end: number }> = [];
  let open: Open | undefined;
  /** Index of the last line no traceback took: the log record before a header. */
  let lastFree = -1;

  const close = (o: Open, complete: boolean) => {
    // A headerless start that never became a SyntaxError was something else: drop it.
    if (o.headerless && !(complete && SYNTAX_ERRORS.test(o.blocks.at(-1)?.type ?? ""))) return;
    found.push({ tb: finish(o, complete), end: o.lastLine });
  };
  const start = (i: number, headerless: boolean): Open => {
    const prev = lines[i - 1];
    const logLine = !headerless && lastFree === i - 1 && prev !== undefined && prev.trim() !== "" && !/^\s/.test(prev) ? prev : undefined;
    return { start: i, lines: [lines[i]!], blocks: [], frames: [], phase: "frames", foreign: 0, headerless, lastLine: i, ...(logLine !== undefined ? { logLine } : {}) };
  };
  const take = (o: Open, i: number) => {
    o.lines.push(lines[i]!);
    o.lastLine = i;
    o.foreign = 0;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (open !== undefined && HEADER.test(line)) {
      if (open.phase === "chain") {
        // As Python prints it: a blank line before the next block's header.
        open.lines.push("");
        take(open, i);
        open.phase = "frames";
        continue;
      }
      close(open, open.phase === "ended");
      open = undefined;
    }
    if (open === undefined) {
      const bare = HEADER.test(line) ? undefined : FRAME.exec(line);
      if (HEADER.test(line)) open = start(i, false);
      else if (bare && bare[3] === undefined) {
        open = start(i, true);
        open.frames.push({ file: bare[1]!, line: Number(bare[2]) });
      } else lastFree = i;
      continue;
    }
    const o: Open = open;
    if (o.phase === "frames") {
      const frame = FRAME.exec(line);
      if (frame) {
        o.frames.push({ file: frame[1]!, line: Number(frame[2]), ...(frame[3] !== undefined ? { function: frame[3] } : {}) });
        take(o, i);
        continue;
      }
      if (/^\s+\S/.test(line) && o.frames.length > 0) {
        // Source line, carets, `[Previous line repeated N more times]`.
        take(o, i);
        continue;
      }
      const exc = o.frames.length > 0 ? EXCEPTION.exec(line) : null;
      if (exc) {
        o.blocks.push({ type: exc[1]!, message: exc[2]?.trim() ?? "", frames: o.frames });
        o.frames = [];
        o.phase = "ended";
        take(o, i);
        continue;
      }
    } else if (o.phase === "ended") {
      if (CHAINED.test(line)) {
        o.phase = "chain";
        o.lines.push("");
        take(o, i);
        continue;
      }
      if (line.trim() === "" && o.foreign < MAX_CHAIN_GAP) {
        o.foreign++;
        continue;
      }
      // Not a chain: the traceback ended at its exception line. Look at this line afresh.
      close(o, true);
      open = undefined;
      i--;
      continue;
    } else if (line.trim() === "") {
      continue;
    }
    // A line of another process (or a multi-line message): skipped, up to a point.
    lastFree = i;
    if (++o.foreign > MAX_FOREIGN) {
      close(o, o.phase === "chain");
      open = undefined;
    }
  }
  if (open !== undefined) close(open, open.phase !== "frames");

  const tracebacks = found.map((f) => f.tb);
  if (tracebacks.length === 0) return tracebacks;
  // Times: the record's own, else the first timestamped line after (often the access-log line
  // of the failed request), else the last one before.
  const times = lines.map(lineTime);
  const nearest = (from: number, to: number, step: 1 | -1): number | undefined => {
    for (let j = from; step > 0 ? j < to : j >= to; j += step) if (times[j] !== undefined) return times[j];
    return undefined;
  };
  for (const { tb, end } of found) {
    const own = tb.logLine !== undefined ? lineTime(tb.logLine) : undefined;
    const after = own === undefined ? nearest(end + 1, lines.length, 1) : undefined;
    const before = own === undefined && after === undefined ? nearest(tb.lineNumber - 2, 0, -1) : undefined;
    if (own !== undefined) Object.assign(tb, { time: own, timeFrom: "record" });
    else if (after !== undefined) Object.assign(tb, { time: after, timeFrom: "after" });
    else if (before !== undefined) Object.assign(tb, { time: before, timeFrom: "before" });
  }
  return tracebacks;
}
