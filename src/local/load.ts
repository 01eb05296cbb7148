import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";

/** One app behind the load balancer: requests go to 127.0.0.1 with this Host header. */
export interface LoadTarget {
  name: string;
  /** The Host header HAProxy routes on. */
  host: string;
  path: string;
}

export interface LoadOptions {
  port: number;
  targets: LoadTarget[];
  concurrency: number;
  /** Stop after this many requests, however quick they are. */
  maxRequests: number;
  /** Stop after this long, however many requests went out. */
  maxSeconds: number;
  signal?: AbortSignal;
  /** One request, body included; past it the sample is a failure (status 0). Default 5000. */
  timeoutMs?: number;
}

export interface LoadSample {
  target: string;
  /** ms since the start of the run, when the request went out. */
  at: number;
  /** Latency: until the whole body arrived, or the error. */
  ms: number;
  /** 0: the connection failed or the request timed out. */
  status: number;
  /** The first 512 characters of the body, or the error. */
  body: string;
}

export interface TargetLoad {
  requests: number;
  failed: number;
  p50: number;
  p99: number;
}

/**
 * Requests cut short by the stop (signal, maxSeconds) are not samples: they neither failed nor
 * succeeded. Percentiles are over every sample, failures included, in ms; 0 with no samples.
 */
export interface LoadReport {
  samples: LoadSample[];
  requests: number;
  /** Status 0 or >= 500. */
  failed: number;
  seconds: number;
  byTarget: Record<string, TargetLoad>;
  p50: number;
  p99: number;
}

const BODY_CHARS = 512;
const DEFAULT_TIMEOUT_MS = 5000;

/** Nearest-rank percentile of ascending values; 0 for none. */
export function percentile(sortedMs: number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be within 0..100, got ${p}`);
  if (sortedMs.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sortedMs.length));
  return sortedMs[rank - 1]!;
}

function checkOptions(opts: LoadOptions): void {
  const problems: string[] = [];
  const positiveInt = (key: "port" | "concurrency" | "maxRequests") => {
    if (!Number.isSafeInteger(opts[key]) || opts[key] < 1) problems.push(`${key}: ${opts[key]} is not a whole number >= 1`);
  };
  positiveInt("port");
  positiveInt("concurrency");
  positiveInt("maxRequests");
  if (!(Number.isFinite(opts.maxSeconds) && opts.maxSeconds > 0)) problems.push(`maxSeconds: ${opts.maxSeconds} is not a finite number > 0`);
  if (opts.timeoutMs !== undefined && !(Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0)) problems.push(`timeoutMs: ${opts.timeoutMs} is not a finite number > 0`);
  if (opts.targets.length === 0) problems.push("targets: none; give at least one");
  if (problems.length > 0) throw new RangeError(`load: ${problems.join("; ")}`);
}

type Answer = { status: number; body: string; retry: boolean } | "stopped";

/** One GET, bounded by `timeoutMs` and by `stop`. */
function get(agent: Agent, port: number, target: LoadTarget, timeoutMs: number, stop: AbortSignal): Promise<Answer> {
  return new Promise((resolve) => {
    if (stop.aborted) return resolve("stopped");
    let settled = false;
    let body = "";
    const finish = (answer: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop.removeEventListener("abort", onStop);
      resolve(answer);
    };
    const req = request({ host: "127.0.0.1", port, path: target.path, method: "GET", agent, headers: { host: target.host } }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (body.length < BODY_CHARS) body += chunk.slice(0, BODY_CHARS - body.length);
      });
      res.on("end", () => finish({ status: res.statusCode ?? 0, body, retry: false }));
      // A connection cut mid-body is a failure even though a status line arrived.
      res.on("close", () => finish({ status: res.complete ? (res.statusCode ?? 0) : 0, body: res.complete ? body : `connection closed mid-body (status ${res.statusCode})`, retry: false }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ status: 0, body: `timeout after ${timeoutMs} ms`, retry: false });
    }, timeoutMs);
    const onStop = () => {
      req.destroy();
      finish("stopped");
    };
    stop.addEventListener("abort", onStop, { once: true });
    req.on("error", (e: NodeJS.ErrnoException) => {
      // The server closed an idle keep-alive connection as we reused it: browsers retry these.
      const retry = req.reusedSocket && (e.code === "ECONNRESET" || e.code === "EPIPE");
      finish({ status: 0, body: e.message.slice(0, BODY_CHARS), retry });
    });
    req.end();
  });
}

function summarise(samples: LoadSample[]): TargetLoad {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return { requests: samples.length, failed: samples.filter(isFailure).length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

function isFailure(s: LoadSample): boolean {
  return s.status === 0 || s.status >= 500;
}

/**
 * GETs round-robin over `targets` from `concurrency` workers until maxRequests went out,
 * maxSeconds passed or `signal` aborted, whichever comes first.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  checkOptions(opts);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const start = performance.now();
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(), opts.maxSeconds * 1000);
  const onAbort = () => stop.abort();
  if (opts.signal?.aborted) stop.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const samples: LoadSample[] = [];
  let sent = 0;

  const worker = async () => {
    // Bounded by count (sent < maxRequests) and by time (the deadline aborts `stop`).
    while (!stop.signal.aborted && sent < opts.maxRequests) {
      const target = opts.targets[sent % opts.targets.length]!;
      sent++;
      const at = performance.now();
      let answer = await get(agent, opts.port, target, timeoutMs, stop.signal);
      if (answer !== "stopped" && answer.retry) answer = await get(agent, opts.port, target, timeoutMs, stop.signal);
      if (answer === "stopped") break;
      samples.push({ target: target.name, at: round(at - start), ms: round(performance.now() - at), status: answer.status, body: answer.body });
    }
  };

  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    clearTimeout(deadline);
    opts.signal?.removeEventListener("abort", onAbort);
    agent.destroy();
  }

  samples.sort((a, b) => a.at - b.at);
  const all = summarise(samples);
  const byTarget: Record<string, TargetLoad> = {};
  for (const t of opts.targets) byTarget[t.name] ??= summarise(samples.filter((s) => s.target === t.name));
  return { samples, requests: all.requests, failed: all.failed, seconds: round(performance.now() - start) / 1000, byTarget, p50: all.p50, p99: all.p99 };
}

/** Starts load in the background: do something meanwhile, then `stop()` for the report. */
export function startLoad(opts: LoadOptions): { stop(): Promise<LoadReport> } {
  checkOptions(opts);
  const controller = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal;
  const done = runLoad({ ...opts, signal });
  // A failure surfaces from stop(); until then it must not count as unhandled.
  done.catch(() => {});
  return {
    stop: () => {
      controller.abort();
      return done;
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
