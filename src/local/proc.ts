import { readdirSync, readFileSync, readlinkSync } from "node:fs";

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

/** A link of /proc/<pid> (root, cwd, exe), or undefined when it cannot be read. */
export function procLink(pid: number, link: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/${link}`);
  } catch {
    return undefined;
  }
}
