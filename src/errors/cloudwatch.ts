// The AWS target's tracebacks: a CloudWatch Logs Insights query per app on its log group
// (`/<project>/<stack>/apps/<app>`, one stream per instance), then the same grouping as locally.
// Insights returns at most 10,000 rows per query, so a full page is followed by a query from its
// last timestamp on (rows seen twice dropped by @ptr). The SDK loads on first use.
// Unverified against AWS: written against the SDK's types, tested with a recording double.
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { awsClient } from "../aws/clients.ts";
import type { Occurrence } from "./digest.ts";
import { ErrorsError, occurrencesIn, type ErrorSource } from "./source.ts";

/** The one method of CloudWatchLogsClient fawkes calls: tests hand a recording double. */
export interface LogsSender {
  send(command: object): Promise<unknown>;
}

export interface CloudWatchSourceOptions {
  /** The app's log group: `appLogGroup(spec, app)`. */
  groupOf: (app: string) => string;
  region: string;
  /** A ready client (tests); `region` then only names where the logs are. */
  client?: LogsSender;
  sleep?: (ms: number) => Promise<void>;
  /** Between GetQueryResults polls; 1 s. */
  pollMs?: number;
  /** A query still running after this fails; 120 s. */
  maxWaitMs?: number;
  /** Queries per app at most (each up to 10,000 lines); 20. */
  maxPages?: number;
}

/** Insights' own ceiling on the rows of one query. */
export const PAGE_ROWS = 10_000;

/**
 * Only lines a traceback can hold: its header, frames and source lines (indented), the chain
 * separators and `Type: message` lines; the parser skips what else matches. An event shipped as a
 * whole multi-line record (an agent with multi_line_start_pattern) matches by its header line.
 */
export const TRACEBACK_QUERY = [
  "fields @timestamp, @logStream, @message, @ptr",
  "| filter @message like /Traceback \\(most recent call last\\)|^\\s|^[A-Za-z_][\\w.]*(:|$)|During handling of the above exception|The above exception was the direct cause/",
  "| sort @timestamp asc",
  `| limit ${PAGE_ROWS}`,
].join("\n");

interface Row {
  timestamp: number;
  stream: string;
  message: string;
  ptr: string;
}

type ResultField = { field?: string; value?: string };

/** `2026-11-23 17:22:43.123`, Insights' @timestamp, in UTC. */
function insightsTime(value: string): number {
  const t = Date.parse(`${value.replace(" ", "T")}Z`);
  if (Number.isNaN(t)) throw new ErrorsError(`CloudWatch Logs Insights returned a @timestamp fawkes cannot read: ${value}`);
  return t;
}

function rowOf(fields: ResultField[]): Row {
  const get = (name: string) => fields.find((f) => f.field === name)?.value ?? "";
  return { timestamp: insightsTime(get("@timestamp")), stream: get("@logStream"), message: get("@message"), ptr: get("@ptr") };
}

export function cloudWatchErrorSource(opts: CloudWatchSourceOptions): ErrorSource {
  type Sdk = typeof import("@aws-sdk/client-cloudwatch-logs");
  let ready: Promise<{ sdk: Sdk; client: LogsSender }> | undefined;
  const logs = () =>
    (ready ??= import("@aws-sdk/client-cloudwatch-logs").then((sdk) => ({
      sdk,
      client: opts.client ?? (awsClient(sdk.CloudWatchLogsClient, opts.region) as CloudWatchLogsClient as LogsSender),
    })));
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollMs = opts.pollMs ?? 1000;
  const maxWaitMs = opts.maxWaitMs ?? 120_000;
  const maxPages = opts.maxPages ?? 20;

  const failure = (op: string, group: string, e: unknown) => {
    const name = (e as { name?: string })?.name ?? "";
    if (name === "ResourceNotFoundException") return new ErrorsError(`log group ${group} does not exist: is the stack deployed (pulumi up)?`);
    return new ErrorsError(`CloudWatch Logs ${op} on ${group} failed: ${name && name !== "Error" ? `${name}: ` : ""}${(e as Error)?.message ?? String(e)} (AWS credentials come from the SDK's default chain; the caller needs logs:StartQuery and logs:GetQueryResults)`);
  };

  /** One query's rows, polled until Insights says Complete. */
  async function query(group: string, startSeconds: number, endSeconds: number): Promise<Row[]> {
    const { sdk, client } = await logs();
    let queryId: string | undefined;
    try {
      const started = (await client.send(new sdk.StartQueryCommand({ logGroupName: group, startTime: startSeconds, endTime: endSeconds, queryString: TRACEBACK_QUERY, limit: PAGE_ROWS }))) as { queryId?: string };
      queryId = started.queryId;
    } catch (e) {
      throw failure("StartQuery", group, e);
    }
    if (!queryId) throw new ErrorsError(`CloudWatch Logs StartQuery on ${group} returned no query id`);
    for (let waited = 0; ; waited += pollMs) {
      let res: { status?: string; results?: ResultField[][] };
      try {
        res = (await client.send(new sdk.GetQueryResultsCommand({ queryId }))) as typeof res;
      } catch (e) {
        throw failure("GetQueryResults", group, e);
      }
      if (res.status === "Complete") return (res.results ?? []).map(rowOf);
      if (res.status !== "Scheduled" && res.status !== "Running") throw new ErrorsError(`CloudWatch Logs Insights query ${queryId} on ${group} ended ${res.status ?? "without a status"}`);
      if (waited >= maxWaitMs) throw new ErrorsError(`CloudWatch Logs Insights query ${queryId} on ${group} still ${res.status} after ${Math.round(maxWaitMs / 1000)} s`);
      await sleep(pollMs);
    }
  }

  return {
    where: `CloudWatch Logs ${opts.groupOf("*")} (${opts.region})`,
    async collect(q) {
      const occurrences: Occurrence[] = [];
      let cutShort = 0;
      let lines = 0;
      const streams = new Set<string>();
      let partial: string | undefined;
      const endSeconds = Math.ceil(q.until / 1000);
      for (const app of q.apps) {
        const group = opts.groupOf(app);
        const seen = new Set<string>();
        const rows: Row[] = [];
        let start = Math.floor(q.since / 1000);
        for (let page = 1; ; page++) {
          const got = await query(group, start, endSeconds);
          for (const r of got) {
            if (r.ptr !== "" && seen.has(r.ptr)) continue;
            if (r.ptr !== "") seen.add(r.ptr);
            rows.push(r);
          }
          if (got.length < PAGE_ROWS) break;
          // A full page: the window goes on after its last row. Insights takes whole seconds.
          const next = Math.floor(got.at(-1)!.timestamp / 1000);
          if (next <= start || page >= maxPages) {
            partial = `${group}: more than ${page * PAGE_ROWS} traceback lines since ${new Date(q.since).toISOString()}; only those up to ${new Date(got.at(-1)!.timestamp).toISOString()} were read (narrow --since)`;
            break;
          }
          start = next;
        }
        lines += rows.length;
        // Each stream (an instance) is one log, in time order, as the parser reads a file.
        const byStream = new Map<string, Row[]>();
        for (const r of rows) {
          const its = byStream.get(r.stream) ?? [];
          its.push(r);
          byStream.set(r.stream, its);
        }
        for (const [stream, its] of byStream) {
          streams.add(stream);
          const lineTimes: number[] = [];
          const text: string[] = [];
          for (const r of its.sort((a, b) => a.timestamp - b.timestamp)) {
            for (const line of r.message.replace(/\r?\n$/, "").split(/\r?\n/)) {
              text.push(line);
              lineTimes.push(r.timestamp);
            }
          }
          const found = occurrencesIn(text.join("\n"), { app, host: stream, where: `${group}:${stream}`, fallbackTime: its[0]!.timestamp, lineTimes }, q);
          occurrences.push(...found.occurrences);
          cutShort += found.cutShort;
        }
      }
      return { occurrences, cutShort, scanned: `${streams.size} log stream${streams.size === 1 ? "" : "s"}, ${lines} matching line${lines === 1 ? "" : "s"}`, ...(partial ? { partial } : {}) };
    },
  };
}
