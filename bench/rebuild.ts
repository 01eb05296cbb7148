// A fawkes rebuild of the bench stack's web host, timed from its progress messages, and where
// the new host's boot went (cloud-init's log, the bootstrap's log).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { EnvironmentSpec } from "../src/config/index.ts";
import { httpStatus } from "../src/local/health.ts";
import { hostDirs } from "../src/local/host.ts";
import { envLayout, localRebuild } from "../src/local/index.ts";
import { readState } from "../src/local/state.ts";
import type { AppOnHost } from "../src/model/index.ts";
import { acceptsBody, gunicornWorkers, type ConfigChange } from "./config-change.ts";

/** The web host of `stack` right now: a rebuild moves it to another slot. */
export function webHost(stack: string): string {
  const hosts = Object.values(readState(envLayout(stack).state)!.hosts).filter((h) => h.role === "web" && h.healthy);
  if (hosts.length !== 1) throw new Error(`${stack} should have one healthy web host, has ${hosts.map((h) => h.name).join(", ") || "none"}`);
  return hosts[0]!.name;
}

/** Phases of `localRebuild`, stamped from its progress messages. */
const MARKS: Array<[RegExp, string]> = [
  [/: booting \(/, "started"],
  [/: healthy in/, "healthy"],
  [/ in service$/, "inService"],
  [/: drained/, "drained"],
  [/: stopped$/, "stopped"],
];

export interface RebuildRun {
  /** From the call to the new host healthy and in rotation (the old one still serves until then). */
  seconds: number;
  /** From the call to the new host healthy: booted, every app answering its health path (the measure). */
  healthySeconds: number;
  bootSeconds: number;
  phases: Record<string, number>;
}

/** `localRebuild` of the web host, from its call to the new host healthy, in rotation and (if given) `live()`. */
export async function timedRebuild(spec: EnvironmentSpec, live?: () => Promise<boolean>): Promise<RebuildRun> {
  const stack = spec.stack;
  const at: Record<string, number> = {};
  const t0 = performance.now();
  const entry = await localRebuild(spec, { host: webHost(stack) }, (m) => {
    for (const [re, name] of MARKS) if (re.test(m) && at[name] === undefined) at[name] = performance.now();
  });
  if (entry.result !== "succeeded") throw new Error(`rebuild failed: ${entry.failure}`);
  const tEnd = performance.now();
  if (live && !(await live())) throw new Error("after the rebuild the change is not live");
  // New requests reach only the new host from the moment it is in service (the old one drains
  // right after): that is when the change is live. `live()` checks it from outside, after.
  const tLive = at.inService ?? NaN;
  const d = (a: number | undefined, b: number | undefined) => ((b ?? NaN) - (a ?? NaN)) / 1000;
  return {
    seconds: (tLive - t0) / 1000,
    healthySeconds: ((at.healthy ?? NaN) - t0) / 1000,
    bootSeconds: readState(envLayout(stack).state)!.hosts[webHost(stack)]?.bootSeconds ?? NaN,
    phases: {
      start: d(t0, at.started),
      boot: d(at.started, at.healthy),
      rotation: d(at.healthy, at.inService),
      retireOld: d(at.inService, tEnd),
    },
  };
}

/** Where a host's in-host boot went, from cloud-init's own log (ms stamps) and the init's start/end. */
export function bootBreakdown(stack: string, host: string): Record<string, number> | undefined {
  const layout = envLayout(stack);
  const state = readState(layout.state)?.hosts[host];
  const dirs = hostDirs({ dir: join(layout.hostsDir, host) });
  const booted = state?.init !== undefined ? join(`/proc/${state.init}/root`, "run/fawkes-local/booted") : "";
  const log = join(dirs.upper, "var/log/cloud-init.log");
  if (!existsSync(booted) || !existsSync(log)) return undefined;
  const [, start, end] = readFileSync(booted, "utf8").split("\n")[0]!.trim().split(" ").map(Number);
  const lines = readFileSync(log, "utf8").split("\n");
  const when = (needle: string) => {
    const l = lines.find((x) => x.includes(needle));
    const m = l && /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})/.exec(l);
    return m ? Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`) / 1000 : NaN;
  };
  // One cloud-init process runs every stage (--all-stages): its start-up is before the first stage.
  const firstStage = when("running 'init-local'");
  const userStart = when("start: modules-final/config-scripts-user");
  const userEnd = when("finish: modules-final/config-scripts-user");
  const startup = firstStage - start!;
  const bootstrap = userEnd - userStart;
  const total = end! - start!;
  return { total, startup, bootstrap, modules: total - startup - bootstrap };
}

/** Bootstrap steps that took `minMs` or more, from the bootstrap log's millisecond stamps. */
export function slowSteps(stack: string, host: string, minMs = 50): string[] {
  const log = join(hostDirs({ dir: join(envLayout(stack).hostsDir, host) }).upper, "var/log/fawkes/bootstrap.log");
  if (!existsSync(log)) return [];
  const begins = [...readFileSync(log, "utf8").matchAll(/^(\S+Z) fawkes-bootstrap \[([^\]]+)\] (begin|host ready)$/gm)].map((m) => ({ at: Date.parse(m[1]!), step: m[2]! }));
  return begins.slice(0, -1).flatMap((b, i) => (begins[i + 1]!.at - b.at >= minMs ? [`${b.step} ${begins[i + 1]!.at - b.at} ms`] : []));
}

/** The change is live on a host: the app answers 200, runs the side's workers, and nginx applies the side's body limit. */
export function liveCheck(change: ConfigChange, app: AppOnHost, ip: string, merged: string, changed: boolean): () => Promise<boolean> {
  return async () =>
    (await httpStatus(ip, app.port, app.health.path, app.hostnames[0]!, 1000)).status === 200 &&
    gunicornWorkers(merged, change.app) === (changed ? change.workers.after : change.workers.before) &&
    (await acceptsBody(ip, app, change.probeBytes, 1000)) === changed;
}
