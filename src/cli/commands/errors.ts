// `fawkes errors`: the error digest. Python tracebacks of a stack's apps grouped by signature
// across hosts: the top ones with counts, first and last seen, hosts, and one whole sample.
import { durationSeconds, loadStack, type EnvironmentSpec } from "../../config/index.ts";
import { didYouMean } from "../../config/suggest.ts";
import { cloudWatchErrorSource, digestJson, digestOf, ErrorsError, formatDigest, localErrorSource, type ErrorSource, type LogsSender } from "../../errors/index.ts";
import { envLayout } from "../../local/index.ts";
import { appLogGroup } from "../../model/index.ts";
import { UsageError, type Command } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

/** What the command reaches outside: tests hand a CloudWatch Logs double and a clock. */
export interface ErrorsDeps {
  logs?: LogsSender;
  now?: () => number;
  /** Between Insights polls (tests: 0). */
  pollMs?: number;
}

/** `24h`, `30m`, `7d` back from now, or a moment: `2026-11-23`, `2026-11-23T08:00:00Z`. */
export function sinceOf(value: string, now: number): number {
  if (/^[0-9]+[smhdw]$/.test(value)) return now - durationSeconds(value) * 1000;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(value)) {
    const zoned = /(Z|[+-]\d{2}:\d{2})$/.test(value) || value.length === 10 ? value : `${value}Z`;
    const t = Date.parse(zoned.replace(" ", "T"));
    if (!Number.isNaN(t)) return t;
  }
  throw new UsageError(`--since ${value}: a duration back from now (30m, 24h, 7d, 2w) or a UTC date or time (2026-11-23, 2026-11-23T08:00:00Z)`);
}

function limitOf(value: unknown): number {
  if (value === undefined) return 10;
  const n = Number(value);
  if (!/^[0-9]+$/.test(String(value)) || n < 1) throw new UsageError(`--limit ${String(value)}: a whole number of 1 or more`);
  return n;
}

function appsOf(spec: EnvironmentSpec, app: unknown): string[] {
  const names = spec.catalogue.apps.map((a) => a.name);
  if (app === undefined) return names;
  if (typeof app === "string" && names.includes(app)) return [app];
  const hint = didYouMean(String(app), names);
  throw new UsageError(`no app "${String(app)}" in the catalogue (Pulumi.yaml); apps: ${names.join(", ")}${hint ? `; ${hint}` : ""}`);
}

export function errorsCommand(deps: ErrorsDeps = {}): Command {
  return {
    name: "errors",
    summary: "The top Python tracebacks of a stack's apps, grouped by signature across hosts, with counts and a sample.",
    usage: "fawkes errors --stack S [--since 24h] [--app A] [--limit N] [--target local|aws] [--json]",
    help: `Reads the apps' logs, finds Python tracebacks (chained ones as one) and groups them by
signature: the exception types and each frame's file and function, never line numbers, messages,
addresses or request ids, so the same bug groups together across hosts, requests and releases.
Prints the top ones by count (count, first and last seen, app, hosts, type and message; a message
that varies is shown normalised: numbers as N, quoted values as '…'), then one whole traceback of
each, the most recent. A traceback's time is its log record's timestamp (Flask's, gunicorn's,
Python logging's asctime; UTC when it has no zone), else the nearest timestamped line after it
(gunicorn's access-log line of the failed request), else before it, else the file's mtime.

Flags:
  --stack S       the environment (required)
  --since T       how far back: 30m, 24h (default), 7d, 2w; or a UTC date or time
  --app A         one app's tracebacks (default: every app of the catalogue)
  --limit N       how many kinds to show (default 10)
  --target T      local (default): the log files of the stack's hosts on this machine, running
                  or stopped and kept (/var/log/fawkes/<app>/*.log* in each host's disk under
                  \${FAWKES_HOME:-/var/lib/fawkes}/envs/<S>/hosts); aws: a CloudWatch Logs Insights
                  query on each app's log group /<project>/<S>/apps/<app> in the stack's region
                  (AWS credentials from the SDK's default chain; logs:StartQuery, logs:GetQueryResults)
  --json          {stack, target, since, until, total, signatures, cutShort, groups: [{signature,
                  app, type, message, count, firstSeen, lastSeen, hosts: [{host, count}], frames,
                  sample: {host, where, time, logLine?, lines}}]}

Exit codes: 0 the digest printed, also when there is no traceback; 1 the logs could not be read
(the stack has no hosts here, a log group is missing, a query failed); 2 usage.`,
    options: { stack: { type: "string", kind: "stack" }, since: { type: "string" }, app: { type: "string", kind: "app" }, limit: { type: "string" }, target: { type: "string" }, json: { type: "boolean" } },
    async run({ values }, io) {
      if (typeof values.stack !== "string") throw new UsageError("--stack S is required: the digest is per environment");
      const target = values.target ?? "local";
      if (target !== "local" && target !== "aws") throw new UsageError(`--target ${String(target)}: must be local (this machine's hosts) or aws (CloudWatch Logs)`);
      const now = (deps.now ?? Date.now)();
      const since = sinceOf(typeof values.since === "string" ? values.since : "24h", now);
      const limit = limitOf(values.limit);
      const spec = loadStack(findProjectRoot(io.cwd, values.project), values.stack);
      const apps = appsOf(spec, values.app);
      const source: ErrorSource =
        target === "aws"
          ? cloudWatchErrorSource({ groupOf: (app) => appLogGroup(spec, app), region: spec.knobs.region, ...(deps.logs ? { client: deps.logs } : {}), ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}) })
          : localErrorSource(spec.stack, envLayout(spec.stack).hostsDir);
      let collected;
      try {
        collected = await source.collect({ since, until: now, apps });
      } catch (e) {
        if (!(e instanceof ErrorsError)) throw e;
        io.err(`error: ${e.message}\n`);
        return 1;
      }
      const digest = digestOf(collected, { stack: spec.stack, target, where: source.where, since, until: now, apps }, limit);
      io.out(values.json ? digestJson(digest) : formatDigest(digest));
      return 0;
    },
  };
}

export const errors = errorsCommand();
