// A one-off command in the environment's history, beside its releases and rebuilds: who ran what
// (the argv quoted, as typed: fawkes adds no value to it, and the environment the command got,
// secrets included, is never written), on which host, when, how long, and its exit code. Recorded
// once the command was started, whatever its end; nothing is recorded when fawkes refused first.
import { fawkesHome } from "../local/image.ts";
import { appendHistory, rolloutId, whoAmI, type HistoryEntry } from "../release/history.ts";
import { runCommandLine, type RunRequest } from "./plan.ts";

export interface RunOutcome {
  host: string;
  exitCode: number;
}

/** The history's entry of a run that started at `started` on `host`: its exit code, or why fawkes lost it. */
export function runEntry(req: RunRequest, host: string, started: Date, finished: Date, end: { exitCode: number } | { failure: string }): HistoryEntry {
  const exit = "exitCode" in end;
  return {
    id: rolloutId(started),
    stack: req.stack,
    kind: "run",
    target: req.target,
    who: whoAmI(),
    command: runCommandLine(req, host),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
    app: req.app,
    host,
    hostsReplaced: [],
    ...(exit ? { exitCode: end.exitCode } : {}),
    result: exit && end.exitCode === 0 ? "succeeded" : "failed",
    ...(exit ? (end.exitCode === 0 ? {} : { failure: `exited ${end.exitCode}` }) : { failure: end.failure }),
    logs: "",
  };
}

/**
 * Runs `run`, which calls `started(host)` when the command starts on a host, and appends the run to
 * the stack's history once it ends (or fawkes fails after that). Returns the run's outcome; a
 * history that cannot be written then is `unrecorded` (why), never a lost exit code.
 */
export async function recordedRun(
  req: RunRequest,
  run: (started: (host: string) => void) => Promise<RunOutcome>,
  home = fawkesHome(),
): Promise<RunOutcome & { entry: HistoryEntry; unrecorded?: string }> {
  let start: { host: string; at: Date } | undefined;
  let outcome: RunOutcome;
  try {
    outcome = await run((host) => void (start ??= { host, at: new Date() }));
  } catch (e) {
    if (start) {
      try {
        appendHistory(runEntry(req, start.host, start.at, new Date(), { failure: (e as Error).message }), home);
      } catch {
        // The command's own failure is what the user needs to see.
      }
    }
    throw e;
  }
  const entry = runEntry(req, outcome.host, start?.at ?? new Date(), new Date(), { exitCode: outcome.exitCode });
  try {
    appendHistory(entry, home);
    return { ...outcome, entry };
  } catch (e) {
    return { ...outcome, entry, unrecorded: (e as Error).message };
  }
}
