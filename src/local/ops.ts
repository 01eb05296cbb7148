import { existsSync, readdirSync, statSync } from "node:fs";
import { appFilesIn } from "../app-tree/index.ts";
import { join } from "node:path";
import type { EnvironmentSpec } from "../config/index.ts";
import { haproxyPaths, haproxyPid, serverStats, type ServerStat } from "./haproxy.ts";
import { hostDirs, isHostInit } from "./host.ts";
import { batchesOf, ROLES, rolloutPolicy } from "../model/index.ts";
import type { HistoryEntry } from "../release/history.ts";
import { recorded } from "../release/record.ts";
import { LocalTargetError } from "./fleet.ts";
import { admitHosts, isRunning, replaceHosts, RolloutFailure, type RolloutContext } from "./rollout.ts";
import { prepareEnvironment, requireLocalTarget } from "./up.ts";
import { envLayout } from "./layout.ts";
import { databaseRunning } from "./database.ts";
import { readState, type DatabaseHostState, type HostState } from "./state.ts";
import type { Progress } from "./steps.ts";

export interface HostStatus extends HostState {
  running: boolean;
  /** Per app backend: HAProxy's view (UP, DOWN, MAINT, DRAIN...). */
  rotation: Record<string, string>;
}

export interface EnvStatus {
  stack: string;
  up: boolean;
  port?: number;
  loadBalancer: "running" | "stopped";
  hosts: HostStatus[];
  /** The db host, when the stack has a database. */
  database?: DatabaseHostState & { running: boolean };
}

export async function localStatus(stack: string): Promise<EnvStatus> {
  const layout = envLayout(stack);
  const state = readState(layout.state);
  if (!state) return { stack, up: false, loadBalancer: "stopped", hosts: [] };
  const hp = haproxyPaths(layout.haproxyDir);
  const lbUp = haproxyPid(hp) !== undefined;
  let stats: ServerStat[] = [];
  if (lbUp) stats = await serverStats(hp.socket).catch(() => []);
  const hosts = Object.values(state.hosts).map((h) => {
    const slot = { name: h.name, role: h.role, index: 0, ip: h.ip, netns: h.netns, veth: h.veth, dir: join(layout.hostsDir, h.name) };
    const rotation = Object.fromEntries(stats.filter((s) => s.server === h.name).map((s) => [s.backend.replace(/^app_/, ""), s.status]));
    return { ...h, running: isHostInit(h.init, slot), rotation };
  });
  const database = state.database ? { ...state.database, running: databaseRunning(layout, state) } : undefined;
  return { stack, up: true, port: state.port, loadBalancer: lbUp ? "running" : "stopped", hosts, ...(database ? { database } : {}) };
}

/**
 * `fawkes local rebuild`: destroys and recreates hosts from the golden image, the phoenix way:
 * each new host boots beside the one it replaces (within the rollout's surge), enters HAProxy
 * only when healthy, and then the old one is drained (no new requests; in-flight ones finish)
 * and stopped. Runs under the deploy lock and is recorded in the environment's history.
 */
export async function localRebuild(spec: EnvironmentSpec, which: { host?: string; all?: boolean }, echo: Progress = () => {}): Promise<HistoryEntry> {
  await requireLocalTarget();
  const layout = envLayout(spec.stack);
  const known = readState(layout.state);
  if (!known) throw new LocalTargetError(`stack ${spec.stack} is not up locally; run fawkes local up --stack ${spec.stack}`);
  const names = Object.keys(known.hosts).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  if (!which.all && !names.includes(which.host ?? "")) throw new LocalTargetError(`no host ${which.host} in ${spec.stack}; hosts: ${names.join(", ")}`);
  const command = `fawkes local rebuild ${which.all ? "--all" : `--host ${which.host}`} --stack ${spec.stack}`;
  return recorded({ stack: spec.stack, kind: "rebuild", target: "local", command }, echo, async (log) => {
    // The environment as the stack says now (slot pool, HAProxy), like any rollout.
    const prepared = await prepareEnvironment(spec, { progress: log.progress });
    const ctx: RolloutContext = { ...prepared.ctx, logDir: log.dir };
    const { state } = ctx;
    const running = Object.values(state.hosts).filter((h) => isRunning(ctx, h));
    if (prepared.lb !== "unchanged") await admitHosts(ctx, running.filter((h) => h.healthy));
    const targets = running.filter((h) => which.all || h.name === which.host).map((h) => h.name);
    if (targets.length === 0) throw new LocalTargetError(`${which.host} is not running (it failed at ${state.hosts[which.host ?? ""]?.failedStep ?? "boot"}); fawkes local up --stack ${spec.stack} replaces it`);
    const replaced: string[] = [];
    try {
      for (const role of ROLES) {
        const mine = targets.filter((n) => state.hosts[n]?.role === role);
        if (mine.length === 0) continue;
        const policy = rolloutPolicy(ctx.env.plan.hosts.find((p) => p.role === role)!.fleet.desired, spec.knobs.rollout);
        const steps = batchesOf(mine.length, policy).map((hosts) => ({ hosts, checkpoint: false }));
        replaced.push(...(await replaceHosts(ctx, role, mine, { steps, warmupMs: 0, checkpointMs: 0 })).replaced);
      }
    } catch (e) {
      if (!(e instanceof RolloutFailure)) throw e;
      return { hostsReplaced: [...replaced, ...e.replaced], result: "failed", failure: e.message };
    }
    return { hostsReplaced: replaced, result: "succeeded" };
  });
}

/**
 * Log files of an app on a host, read from the host's overlay (they outlive a stopped host): the
 * regular files of its log dir, no link. With the group that owns the dir on the machine (the
 * app's): `local logs` reads them as that group and nobody, never as root.
 */
export function appLogFiles(stack: string, app: string, host?: string): { files: string[]; groups: number[] } {
  const layout = envLayout(stack);
  if (!existsSync(layout.hostsDir)) throw new LocalTargetError(`stack ${stack} is not up locally`);
  const all = readdirSync(layout.hostsDir).filter((h) => !h.includes(".old-"));
  const hosts = all.filter((h) => host === undefined || h === host);
  if (hosts.length === 0) throw new LocalTargetError(`no host ${host} in ${stack}; hosts: ${all.join(", ")}`);
  const files: string[] = [];
  // Each host's own: in its user namespace the app's group is its gid plus the host's id base.
  const groups = new Set<number>();
  for (const h of hosts.sort()) {
    const upper = hostDirs({ dir: join(layout.hostsDir, h) }).upper;
    const rel = join("var/log/fawkes", app);
    const names = appFilesIn(upper, rel);
    if (names.length > 0) groups.add(statSync(join(upper, rel)).gid);
    files.push(...names.map((f) => join(upper, rel, f)));
  }
  return { files, groups: [...groups] };
}
