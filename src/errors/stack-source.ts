// Where a stack's tracebacks are read, by target: its hosts' log files on this machine, or its
// apps' CloudWatch log groups in its region. One place, for `fawkes errors` and the daily mail.
import type { EnvironmentSpec } from "../config/index.ts";
import { envLayout } from "../local/layout.ts";
import { appLogGroup } from "../model/index.ts";
import { cloudWatchErrorSource, type LogsSender } from "./cloudwatch.ts";
import { localErrorSource } from "./local-source.ts";
import type { ErrorSource } from "./source.ts";

export type ErrorTarget = "local" | "aws";

export interface StackSourceOptions {
  /** A CloudWatch Logs client (tests: a recording double). */
  logs?: LogsSender;
  /** Between Insights polls (tests: 0). */
  pollMs?: number;
}

export function stackErrorSource(spec: EnvironmentSpec, target: ErrorTarget, opts: StackSourceOptions = {}): ErrorSource {
  if (target === "local") return localErrorSource(spec.stack, envLayout(spec.stack).hostsDir);
  return cloudWatchErrorSource({
    groupOf: (app) => appLogGroup(spec, app),
    region: spec.knobs.region,
    ...(opts.logs ? { client: opts.logs } : {}),
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
  });
}
