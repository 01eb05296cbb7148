import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { EnvironmentSpec } from "../config/index.ts";
import { haproxyPaths, haproxyPid, serverStats, type ServerStat } from "./haproxy.ts";
import { hostDirs, isHostInit } from "./host.ts";
import { envOf, LocalTargetError, putInRotation, replaceHost } from "./fleet.ts";
import { envLayout, hostSlots } from "./layout.ts";
import { readState, writeState, type HostState } from "./state.ts";
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
  return { stack, up: true, port: state.port, loadBalancer: lbUp ? "running" : "stopped", hosts };
}

/**
 * `fawkes local rebuild`: destroy and recreate hosts one at a time. Each is drained from HAProxy
 * first (no new requests; in-flight ones finish), replaced, and put back only when healthy.
 */
export async function localRebuild(spec: EnvironmentSpec, which: { host?: string; all?: boolean }, progress: Progress = () => {}): Promise<HostState[]> {
  const env = envOf(spec);
  const state = readState(env.layout.state);
  if (!state) throw new LocalTargetError(`stack ${spec.stack} is not up locally; run fawkes local up --stack ${spec.stack}`);
  const slots = hostSlots(env.layout, state.subnet, env.plan.hosts);
  const targets = which.all ? slots : slots.filter((s) => s.name === which.host);
  if (targets.length === 0) throw new LocalTargetError(`no host ${which.host} in ${spec.stack}; hosts: ${slots.map((s) => s.name).join(", ")}`);
  const shared = Object.fromEntries(spec.catalogue.apps.map((a) => [a.name, join(env.layout.sharedDir, a.name)]));
  const out: HostState[] = [];
  for (const slot of targets) {
    const h = await replaceHost(env, slot, state.hosts[slot.name], shared, progress, { drain: true });
    state.hosts[slot.name] = h;
    writeState(env.layout.state, state);
    if (!h.healthy) throw new LocalTargetError(`${slot.name} failed to boot at step ${h.failedStep}; it stays out of rotation (fawkes local status, fawkes local logs)\n${h.detail ?? ""}`);
    if (slot.role === "web") await putInRotation(env, slot.name);
    out.push(h);
  }
  return out;
}

/** Log files of an app on a host, read from the host's overlay (they outlive a stopped host). */
export function appLogFiles(stack: string, app: string, host?: string): string[] {
  const layout = envLayout(stack);
  if (!existsSync(layout.hostsDir)) throw new LocalTargetError(`stack ${stack} is not up locally`);
  const all = readdirSync(layout.hostsDir).filter((h) => !h.includes(".old-"));
  const hosts = all.filter((h) => host === undefined || h === host);
  if (hosts.length === 0) throw new LocalTargetError(`no host ${host} in ${stack}; hosts: ${all.join(", ")}`);
  const files: string[] = [];
  for (const h of hosts.sort()) {
    const dir = join(hostDirs({ dir: join(layout.hostsDir, h) }).upper, "var/log/fawkes", app);
    if (existsSync(dir)) for (const f of readdirSync(dir).sort()) files.push(join(dir, f));
  }
  return files;
}
