import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** Every process of the machine, by pid, as /proc lists them right now. */
export function pids(): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** A file of /proc/<pid>, or undefined when the process ended (or is a kernel thread) meanwhile. */
export function procFile(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}

/** The inode of a namespace of a process (net, uts, user...), or undefined when it cannot be read. */
export function nsInode(pid: number, ns: string): number | undefined {
  try {
    return Number(/\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/${ns}`))?.[1]);
  } catch {
    return undefined;
  }
}

/** The inode of the named network namespace (`ip netns add NAME`), or undefined when there is none. */
export function netnsInode(name: string): number | undefined {
  try {
    return statSync(`/run/netns/${name}`).ino;
  } catch {
    return undefined;
  }
}

/** Is the process there (EPERM: there, but another user's)? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Proc {
  pid: number;
  cmdline: string;
}

/** Every process with its command line (those that end meanwhile are left out). */
export function processes(): Proc[] {
  return pids().flatMap((pid) => {
    const cmdline = procFile(pid, "cmdline");
    return cmdline === undefined ? [] : [{ pid, cmdline: cmdline.replace(/\0/g, " ") }];
  });
}

/**
 * TERM to every process `select` finds, up to `graceMs` for them to go, then KILL to those left.
 * Returns how many got the TERM.
 */
export async function terminate(select: () => Proc[], graceMs = 5000): Promise<number> {
  let termed = 0;
  for (const sig of ["SIGTERM", "SIGKILL"] as const) {
    const procs = select();
    if (sig === "SIGTERM") termed = procs.length;
    for (const p of procs) {
      try {
        process.kill(p.pid, sig);
      } catch {
        // Already gone.
      }
    }
    for (let i = 0; i < graceMs / 100 && select().length > 0; i++) await sleep(100);
  }
  return termed;
}
