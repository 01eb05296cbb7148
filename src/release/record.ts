import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fawkesHome } from "../local/image.ts";
import { fileDeployLock } from "./deploy-lock.ts";
import { holdDeployLock, type DeployLockStore } from "./deploy-lock-store.ts";
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
  /** Who asked, when not the person running this process (whoAmI): the deploy console's signed-in user. */
  who?: string;
  /** Where the stack's deploy lock lives (deployLockOf): required on AWS; locally the file under the home. */
  lock?: DeployLockStore;
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
  /** Aborted when the deploy lock was taken from this work (AWS: its lease ran out): stop at the next step. */
  lost: AbortSignal;
}

/**
 * Runs one rollout, release, rollback or rebuild under the environment's deploy lock and appends
 * it to the environment's history, whatever its end: who, when, what, from, to, hosts, result,
 * duration and where its logs are. An exception is recorded as `failed` and rethrown; so is work
 * that lost the lock while it ran. A refused lock (DeployLockedError) records nothing: nothing ran.
 */
export async function recorded(work: RecordedWork, echo: (line: string) => void, fn: (log: WorkLog) => Promise<WorkOutcome>, home = fawkesHome()): Promise<HistoryEntry> {
  if (work.target === "aws" && !work.lock) throw new Error(`internal: ${work.command}: a stack on AWS is locked in its lock table, and no lock was given`);
  const lock = work.lock ?? fileDeployLock(work.stack, home);
  const who = work.who ?? whoAmI();
  // What the lock says before the log exists (a lease taken over) goes into the log once it does.
  const early: string[] = [];
  let progress = (line: string) => void early.push(line);
  return holdDeployLock(
    lock,
    work.command,
    async (lease) => {
      const started = new Date();
      const id = rolloutId(started);
      const dir = rolloutLogDir(work.stack, id, home);
      const logFile = join(dir, "rollout.log");
      const entry = (o: WorkOutcome): HistoryEntry => {
        const finished = new Date();
        return {
          id,
          stack: work.stack,
          kind: work.kind,
          target: work.target,
          who,
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
      mkdirSync(dir, { recursive: true });
      progress = (line: string) => {
        appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
        echo(line);
      };
      progress(`${work.kind} on ${work.stack} by ${who}: ${work.command}`);
      for (const line of early.splice(0)) progress(line);
      try {
        const outcome = await fn({ progress, dir, id, lost: lease.lost });
        // Finished, but someone else held the stack meanwhile: that is a failure, said as one.
        lease.lost.throwIfAborted();
        const e = entry(outcome);
        progress(`${work.kind} ${e.result} in ${e.durationSeconds} s`);
        appendHistory(e, home);
        return e;
      } catch (err) {
        const e = entry({ hostsReplaced: [], result: "failed", failure: (err as Error).message });
        progress(`${work.kind} failed: ${(err as Error).message}`);
        appendHistory(e, home);
        throw err;
      }
    },
    (line) => progress(line),
  );
}
