// `fawkes errors`: the error digest. Python tracebacks of a stack's apps grouped by signature
// across hosts: the top ones with counts, first and last seen, hosts, and one whole sample.
// `--mail`: the daily mail of it, now.
import { durationSeconds, loadStack, type EnvironmentSpec } from "../../config/index.ts";
import { didYouMean } from "../../config/suggest.ts";
import { digestJson, digestOf, ErrorsError, formatDigest, mailErrorDigest, stackErrorSource, type LogsSender, type MailOutcome } from "../../errors/index.ts";
import { UsageError, type Command, type Io } from "../command.ts";
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
    usage: "fawkes errors --stack S [--since 24h] [--app A] [--limit N] [--target local|aws] [--json] | errors --stack S --mail [--target local|aws] [--json]",
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
                  sample: {host, where, time, logLine?, lines}, firstRelease?}]}; firstRelease is
                  the release of the earliest occurrence that names one (a frame under
                  /srv/apps/<app>/releases/<id>/, else the host's current release, locally)
  --mail          send the stack's daily traceback mail now, as the console does every day at the
                  knob errorMail.at: the 24 hours before now, the top errorMail.top kinds per app
                  (count, first and last seen, hosts, the release it started in, one sample), a
                  text and an HTML part, to errorMail.to, from errorMail.from (default
                  fawkes@<the stack's domain>). A day without tracebacks sends a short mail saying
                  so; logs that cannot be read send one saying why. Locally by SMTP to
                  $FAWKES_SMTP_URL (default smtp://127.0.0.1:25; smtp://user:password@host:port,
                  or smtps:// for TLS from the start; credentials are never printed); with
                  --target aws by Amazon SES (SESv2) in the stack's region: the sender must be a
                  verified SES identity, and in the SES sandbox every recipient too. Prints to whom
                  it went (--json: {sent, stack, to, rejected, from, via, subject, messageId, total,
                  kinds, failed?}). --since, --app and --limit do not apply.

Exit codes: 0 the digest printed, also when there is no traceback (--mail: the mail sent); 1 the
logs could not be read (the stack has no hosts here, a log group is missing, a query failed;
--mail: a mail saying so was sent), or the mail could not be sent (the SMTP server or SES said
why); 2 usage; 3 --mail and errorMail.to lists no recipient: nothing sent.`,
    options: { stack: { type: "string", kind: "stack" }, since: { type: "string" }, app: { type: "string", kind: "app" }, limit: { type: "string" }, target: { type: "string" }, json: { type: "boolean" }, mail: { type: "boolean" } },
    async run({ values }, io) {
      if (typeof values.stack !== "string") throw new UsageError("--stack S is required: the digest is per environment");
      const target = values.target ?? "local";
      if (target !== "local" && target !== "aws") throw new UsageError(`--target ${String(target)}: must be local (this machine's hosts) or aws (CloudWatch Logs)`);
      const now = (deps.now ?? Date.now)();
      if (values.mail) {
        const fixed = ["since", "app", "limit"].filter((f) => values[f] !== undefined);
        if (fixed.length > 0) throw new UsageError(`--mail sends the daily digest (the 24 hours before now, every app, the top errorMail.top kinds of each): ${fixed.map((f) => `--${f}`).join(", ")} do${fixed.length === 1 ? "es" : ""} not apply`);
        const spec = loadStack(findProjectRoot(io.cwd, values.project), values.stack);
        return mailNow(spec, target, now, deps, values.json === true, io);
      }
      const since = sinceOf(typeof values.since === "string" ? values.since : "24h", now);
      const limit = limitOf(values.limit);
      const spec = loadStack(findProjectRoot(io.cwd, values.project), values.stack);
      const apps = appsOf(spec, values.app);
      const source = stackErrorSource(spec, target, deps);
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

/** `--mail`: the daily mail now; what was sent to whom on stdout, a failure on stderr. */
async function mailNow(spec: EnvironmentSpec, target: "local" | "aws", now: number, deps: ErrorsDeps, json: boolean, io: Io): Promise<number> {
  let outcome: MailOutcome;
  try {
    outcome = await mailErrorDigest(spec, { target, now, ...(deps.logs ? { logs: deps.logs } : {}), ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}) });
  } catch (e) {
    if (!(e instanceof ErrorsError)) throw e;
    io.err(`error: ${e.message}\n`);
    return 1;
  }
  if (json) io.out(`${JSON.stringify(outcome, null, 2)}\n`);
  if (!outcome.sent) {
    if (!json) io.out(`${outcome.reason}\n`);
    return 3;
  }
  if (!json) {
    const what = outcome.failed !== undefined ? "a mail saying the traceback digest failed" : `the traceback digest (${outcome.total} traceback${outcome.total === 1 ? "" : "s"} of ${outcome.kinds} kind${outcome.kinds === 1 ? "" : "s"})`;
    io.out(`sent ${what} of ${spec.stack} to ${outcome.to.join(", ")} from ${outcome.from} by ${outcome.via}\n`);
    if (outcome.rejected.length > 0) io.out(`refused by the server: ${outcome.rejected.join(", ")}\n`);
  }
  if (outcome.failed !== undefined) {
    io.err(`error: ${outcome.failed}\n`);
    return 1;
  }
  return 0;
}

export const errors = errorsCommand();
