import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { fawkesHome } from "../local/image.ts";

/**
 * maintenance: `fawkes maintenance on|off`, which changes what the load balancer answers, no host.
 * run: `fawkes run`, a one-off command of an app on one host (`host`, `exitCode`); it moves no pin.
 */
export type HistoryKind = "release" | "rollback" | "rebuild" | "maintenance" | "run";
/** succeeded; rolled-back: failed and the previous release serves again; failed: stopped where it failed; cancelled: stopped by someone else (an instance refresh cancelled outside fawkes). */
export type HistoryResult = "succeeded" | "rolled-back" | "failed" | "cancelled";

/** One line of an environment's history: who did what, when, to which hosts, how it ended. */
export interface HistoryEntry {
  id: string;
  stack: string;
  kind: HistoryKind;
  target: "local" | "aws";
  who: string;
  /** The command line that did it. */
  command: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  app?: string;
  /** Release ids; for maintenance, "off" and "on". */
  from?: string;
  to?: string;
  hostsReplaced: string[];
  /** run: the host the command ran on (a local host's name, an instance id on AWS). */
  host?: string;
  /** run: the command's exit code; absent when fawkes lost track of it (the failure says how). */
  exitCode?: number;
  result: HistoryResult;
  /** What failed, where: the step, the host, the gate. */
  failure?: string;
  /** The rollout's own log, and the copies of failed hosts' logs beside it; "" for a run (its output is the caller's). */
  logs: string;
}

/**
 * History lives beside the environments, not in them: `fawkes local down` removes an
 * environment's hosts and data, and its history stays.
 */
export function historyDir(home = fawkesHome()): string {
  return join(home, "history");
}

export function historyFile(stack: string, home = fawkesHome()): string {
  return join(historyDir(home), `${stack}.jsonl`);
}

/** The directory of one rollout's logs. */
export function rolloutLogDir(stack: string, id: string, home = fawkesHome()): string {
  return join(historyDir(home), stack, id);
}

/** Who runs this command: the person behind sudo when there is one, and the machine. */
export function whoAmI(): string {
  const user = process.env.SUDO_USER ?? process.env.USER ?? userInfo().username;
  return `${user}@${hostname()}`;
}

/** A sortable id: the start time and a random suffix. */
export function rolloutId(startedAt: Date): string {
  return `${startedAt.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

/** Appends one entry (one JSON line, one write: lines of concurrent writers do not interleave). */
export function appendHistory(entry: HistoryEntry, home = fawkesHome()): void {
  mkdirSync(historyDir(home), { recursive: true });
  const file = historyFile(entry.stack, home);
  // After a torn last line (a crash mid-write), start a new line: the torn one stays unreadable alone.
  const torn = existsSync(file) && statSync(file).size > 0 && !readFileSync(file, "utf8").endsWith("\n");
  appendFileSync(file, `${torn ? "\n" : ""}${JSON.stringify(entry)}\n`);
}

/** Entries oldest first; a torn last line (a crash mid-write) is skipped, not fatal. */
export function readHistory(stack: string, home = fawkesHome()): HistoryEntry[] {
  const file = historyFile(stack, home);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as HistoryEntry];
      } catch {
        return [];
      }
    });
}

/** Every stack with a history on this machine. */
export function stacksWithHistory(home = fawkesHome()): string[] {
  const dir = historyDir(home);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .map((f) => f.slice(0, -".jsonl".length))
    .sort();
}

/**
 * The release an app ran before its current one in this stack, like Capistrano's previous
 * release dir: successful releases stack up, a rollback goes back down the stack, so two
 * rollbacks in a row go two releases back (r1, r2, r3, rollback, rollback: r1). A release from
 * a release that is not the last one recorded (the pin moved outside fawkes: a stack file edited
 * by hand, an environment of the same name made again) starts the stack anew from there.
 */
export function previousRelease(entries: readonly HistoryEntry[], app: string, current: string): string | undefined {
  const stack: string[] = [];
  for (const e of entries) {
    // Only releases and rollbacks move a pin (a maintenance entry's from/to are off/on).
    if ((e.kind !== "release" && e.kind !== "rollback") || e.app !== app || e.result !== "succeeded" || e.to === undefined) continue;
    if (e.kind === "rollback" && stack.includes(e.to)) {
      while (stack.at(-1) !== e.to) stack.pop();
    } else if (stack.at(-1) !== e.to) {
      if (e.from !== undefined && e.from !== e.to && stack.at(-1) !== e.from) stack.splice(0, stack.length, e.from);
      stack.push(e.to);
    }
  }
  if (stack.at(-1) !== current) return undefined;
  return stack.at(-2);
}
