// Live output: each environment's running console action, its lines kept for whoever opens the
// page late, and pushed to every open page (server-sent events) as each line is written.
import type { ServerResponse } from "node:http";

export interface LiveLine {
  /** Epoch ms when the line was written. */
  at: number;
  text: string;
}

export interface LiveRun {
  id: number;
  stack: string;
  title: string;
  who: string;
  startedAt: number;
  lines: LiveLine[];
  /** Set when it ended: how, in a word, and the history entry's id when there is one. */
  end?: { result: string; message: string; entry?: string };
}

const MAX_LINES = 20_000;
/** A line longer than this is cut: one huge line must not be kept and sent to every page. */
const MAX_LINE_CHARS = 8192;
/** Pages listening to one environment, and to all: each holds a connection and a timer. */
const MAX_LISTENERS = 200;
const MAX_LISTENERS_TOTAL = 1000;
/** A page that reads nothing while this much waits for it is dropped (it reconnects and replays). */
const MAX_BUFFERED_BYTES = 1 << 20;
const KEEPALIVE_MS = 15_000;

/** One environment's channel: the current (or last) run and the pages listening. */
class Channel {
  run: LiveRun | undefined;
  readonly listeners = new Set<ServerResponse>();
}

export class LiveOutput {
  private readonly channels = new Map<string, Channel>();
  private nextId = 1;

  private channel(stack: string): Channel {
    let c = this.channels.get(stack);
    if (!c) this.channels.set(stack, (c = new Channel()));
    return c;
  }

  /** The run in progress on a stack, if any. */
  running(stack: string): LiveRun | undefined {
    const r = this.channels.get(stack)?.run;
    return r && !r.end ? r : undefined;
  }

  last(stack: string): LiveRun | undefined {
    return this.channels.get(stack)?.run;
  }

  /** Starts a run: the stack's earlier one is forgotten; every page listening hears it begin. */
  start(stack: string, title: string, who: string): LiveRun {
    const c = this.channel(stack);
    const run: LiveRun = { id: this.nextId++, stack, title, who, startedAt: Date.now(), lines: [] };
    c.run = run;
    this.send(c, "start", { id: run.id, title, who, startedAt: run.startedAt });
    return run;
  }

  line(run: LiveRun, text: string): void {
    const line = { at: Date.now(), text: text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}… (${text.length - MAX_LINE_CHARS} characters cut)` : text };
    if (run.lines.length < MAX_LINES) run.lines.push(line);
    const c = this.channel(run.stack);
    if (c.run === run) this.send(c, "line", { id: run.id, ...line });
  }

  finish(run: LiveRun, end: NonNullable<LiveRun["end"]>): void {
    run.end = end;
    const c = this.channel(run.stack);
    if (c.run === run) this.send(c, "end", { id: run.id, ...end });
  }

  /** An event stream for one page: the run so far, then each line as it comes. */
  listen(stack: string, res: ServerResponse): void {
    const c = this.channel(stack);
    const total = [...this.channels.values()].reduce((n, ch) => n + ch.listeners.size, 0);
    if (c.listeners.size >= MAX_LISTENERS || total >= MAX_LISTENERS_TOTAL) {
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "10" });
      res.end("too many pages listen to live output now; reload later\n");
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no", connection: "keep-alive" });
    res.flushHeaders();
    if (c.run) {
      const r = c.run;
      write(res, "start", { id: r.id, title: r.title, who: r.who, startedAt: r.startedAt });
      for (const l of r.lines) write(res, "line", { id: r.id, ...l });
      if (r.end) write(res, "end", { id: r.id, ...r.end });
    }
    c.listeners.add(res);
    const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
    keepalive.unref();
    res.on("close", () => {
      clearInterval(keepalive);
      c.listeners.delete(res);
    });
  }

  /** Ends every stream (the console stops). */
  close(): void {
    for (const c of this.channels.values()) for (const res of c.listeners) res.end();
  }

  private send(c: Channel, event: string, data: object): void {
    for (const res of c.listeners) write(res, event, data);
  }
}

function write(res: ServerResponse, event: string, data: object): void {
  if (res.writableLength > MAX_BUFFERED_BYTES) {
    res.destroy();
    return;
  }
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
