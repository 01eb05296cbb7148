import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { stackNameProblem } from "../names/index.ts";
import type { EnvLayout } from "./layout.ts";
import { netnsInode, nsInode, processes, terminate, type Proc } from "./proc.ts";
import type { Progress } from "./steps.ts";

/** Every process this environment made: in one of its hosts' network namespaces, or naming its dirs and namespaces. */
export function environmentProcesses(layout: EnvLayout): Proc[] {
  const nets = new Set((existsSync("/run/netns") ? readdirSync("/run/netns") : []).filter((n) => n.startsWith(layout.netnsPrefix)).map(netnsInode));
  return processes().filter((p) => p.pid !== process.pid && (nets.has(nsInode(p.pid, "net")) || p.cmdline.includes(`${layout.dir}/`) || p.cmdline.includes(layout.netnsPrefix)));
}

/**
 * `fawkes local down`: removes every process, mount, namespace, interface and file of the
 * environment, found by name on the machine rather than trusted from a state file, so it also
 * cleans up after a crash or a half-finished `up`.
 */
export async function localDown(layout: EnvLayout, progress: Progress = () => {}): Promise<{ processes: number; netns: number; links: number; mounts: number }> {
  // What is removed below is the stack's own dir, <home>/envs/<stack>, and nothing above it.
  const owned = resolve(layout.dir);
  if (stackNameProblem(layout.stack) !== undefined || owned !== join(resolve(dirname(owned)), layout.stack) || basename(dirname(owned)) !== "envs") {
    throw new Error(`refusing to remove ${layout.dir}: not the dir of stack ${JSON.stringify(layout.stack)} under <home>/envs`);
  }
  const counts = { processes: 0, netns: 0, links: 0, mounts: 0 };
  counts.processes = await terminate(() => environmentProcesses(layout));
  if (counts.processes > 0) progress(`stopped ${counts.processes} processes`);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => m !== undefined && m.startsWith(`${layout.dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    await execa("umount", ["-l", m], { reject: false });
    counts.mounts++;
  }
  const netns = (await execa("ip", ["netns", "list"], { reject: false })).stdout.split("\n").map((l) => l.split(" ")[0]!).filter((n) => n.startsWith(layout.netnsPrefix));
  for (const n of netns) {
    await execa("ip", ["netns", "del", n], { reject: false });
    counts.netns++;
  }
  const links = (await execa("ip", ["-o", "link", "show"], { reject: false })).stdout
    .split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0])
    .filter((n): n is string => n !== undefined && (n.startsWith(layout.ifPrefix) || n === layout.bridge));
  // veths first, the bridge they hang on last.
  for (const l of [...links.filter((n) => n !== layout.bridge), ...links.filter((n) => n === layout.bridge)]) {
    await execa("ip", ["link", "del", l], { reject: false });
    counts.links++;
  }
  if (existsSync(layout.dir)) rmSync(layout.dir, { recursive: true, force: true });
  return counts;
}
