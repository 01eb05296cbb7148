import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fawkesHome } from "../local/image.ts";
import { acquireDeployLock } from "./deploy-lock.ts";
import { appendHistory, rolloutId, rolloutLogDir, whoAmI, type HistoryEntry, type HistoryKind, type HistoryResult } from "./history.ts";

export interface RecordedWork {
  stack: string;
  kind: HistoryKind;
  target: HistoryEntry["target"];
  /** The command as the user typed it: shown to whoever finds the lock held. */
  command: string;
  app?: string;
  from?: string;
  to?: string;
}

export interface WorkOutcome {
  hostsReplaced: string[];
  result: HistoryResult;
  failure?: string;
}

/** What the work gets: a progress function that also writes the rollout's log, and the log dir. */
export interface WorkLog {
  progress: (line: string) => void;
  dir: string;
  id: string;
}

/**
 * Runs one rollout, release, rollback or rebuild under the environment's deploy lock and appends
 * it to the environment's history, whatever its end: who, when, what, from, to, hosts, result,
 * duration and where its logs are. An exception is recorded as `failed` and rethrown. A refused
 * lock (DeployLockedError) records nothing: nothing ran.
 */
export async function recorded(work: RecordedWork, echo: (line: string) => void, fn: (log: WorkLog) => Promise<WorkOutcome>, home = fawkesHome()): Promise<HistoryEntry> {
  const lock = acquireDeployLock(work.stack, work.command, home);
  const started = new Date();
  const id = rolloutId(started);
  const dir = rolloutLogDir(work.stack, id, home);
  const logFile = join(dir, "rollout.log");
  const progress = (line: string) => {
    appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    echo(line);
  };
  const entry = (o: WorkOutcome): HistoryEntry => {
    const finished = new Date();
    return {
      id,
      stack: work.stack,
      kind: work.kind,
      target: work.target,
      who: whoAmI(),
      command: work.command,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSeconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
      ...(work.app !== undefined ? { app: work.app } : {}),
      ...(work.from !== undefined ? { from: work.from } : {}),
      ...(work.to !== undefined ? { to: work.to } : {}),
      hostsReplaced: o.hostsReplaced,
      result: o.result,
      ...(o.failure !== undefined ? { failure: o.failure } : {}),
      logs: dir,
    };
  };
  try {
    mkdirSync(dir, { recursive: true });
    progress(`${work.kind} on ${work.stack} by ${whoAmI()}: ${work.command}`);
  } catch (e) {
    lock.release();
    throw e;
  }
  try {
    const outcome = await fn({ progress, dir, id });
    const e = entry(outcome);
    progress(`${work.kind} ${e.result} in ${e.durationSeconds} s`);
    appendHistory(e, home);
    return e;
  } catch (err) {
    const e = entry({ hostsReplaced: [], result: "failed", failure: (err as Error).message });
    progress(`${work.kind} failed: ${(err as Error).message}`);
    appendHistory(e, home);
    throw err;
  } finally {
    lock.release();
  }
}
