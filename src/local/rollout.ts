// Hosts of a role replaced the phoenix way on the local target: new hosts boot beside the old
// ones (within the rollout's surge), pass the health gate, enter HAProxy, and only then are the
// old ones drained and stopped. The same policy as AWS's instance refresh: canary, batches,
// warmup, checkpoints.
import { cpSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import type { Role, RolloutStep } from "../model/index.ts";
import { bootSlot, LocalTargetError, putInRotation, servedBackends, type Env } from "./fleet.ts";
import { drainHost, haproxyPaths, serverStats, setHostState } from "./haproxy.ts";
import { hostDirs, isHostInit, stopRecordedHost } from "./host.ts";
import type { HostSlot } from "./layout.ts";
import { writeState, type HostState, type LocalState } from "./state.ts";
import type { Progress } from "./steps.ts";

/** What a rollout works on: the target environment (its user-data), the state, the slot pool. */
export interface RolloutContext {
  env: Env;
  state: LocalState;
  slots: readonly HostSlot[];
  shared: Record<string, string>;
  progress: Progress;
  /** Where the logs of a host that failed are copied before it is stopped. */
  logDir?: string;
}

/** A batch failed its health gate: the new hosts of that batch are gone, the old ones serve. */
export class RolloutFailure extends LocalTargetError {
  constructor(
    message: string,
    readonly host: string,
    /** Old hosts replaced before the failure, and the new hosts that replaced them. */
    readonly replaced: string[],
    readonly booted: string[],
  ) {
    super(message);
  }
}

export function slotOf(ctx: Pick<RolloutContext, "slots">, name: string): HostSlot | undefined {
  return ctx.slots.find((s) => s.name === name);
}

/** Slots with no host, or only the record of a host that failed and was stopped. */
export function freeSlots(ctx: Pick<RolloutContext, "slots" | "state">, role: Role): HostSlot[] {
  return ctx.slots.filter((s) => {
    const h = ctx.state.hosts[s.name];
    return s.role === role && (h === undefined || (!h.healthy && !isHostInit(h.init, s)));
  });
}

export function hostsOf(state: LocalState, role: Role): HostState[] {
  return Object.values(state.hosts)
    .filter((h) => h.role === role)
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

/** Is the host's pid 1 alive in its slot? A host whose slot left the pool is not. */
export function isRunning(ctx: Pick<RolloutContext, "slots">, h: HostState): boolean {
  const slot = slotOf(ctx, h.name);
  return slot !== undefined && isHostInit(h.init, slot);
}

function save(ctx: RolloutContext): void {
  writeState(ctx.env.layout.state, ctx.state);
}

/** Boots `count` hosts of the target's `role` in free slots, side by side; records them. */
export async function bootHosts(ctx: RolloutContext, role: Role, count: number): Promise<HostState[]> {
  const free = freeSlots(ctx, role);
  if (free.length < count) throw new LocalTargetError(`no free ${role} slot for ${count} new hosts (${free.length} free)`);
  const plan = ctx.env.plan.hosts.find((p) => p.role === role)!;
  const img = ctx.env.images.find((i) => i.role === role)!;
  const chosen = free.slice(0, count);
  // Claimed before booting, so that a crash leaves them in the state for the next command to clean.
  for (const slot of chosen) ctx.state.hosts[slot.name] = { name: slot.name, role, ip: slot.ip, netns: slot.netns, veth: slot.veth, userDataSha: "", startedAt: new Date().toISOString(), healthy: false, failedStep: "boot", releases: {} };
  save(ctx);
  const settled = await Promise.allSettled(chosen.map((slot) => bootSlot(ctx.env, slot, plan, img, ctx.shared, ctx.progress)));
  const booted: HostState[] = [];
  for (const [i, r] of settled.entries()) {
    if (r.status === "fulfilled") {
      ctx.state.hosts[r.value.name] = r.value;
      booted.push(r.value);
    } else {
      // Could not even start: the record says so, and whatever runs in its slot is stopped.
      const h = ctx.state.hosts[chosen[i]!.name]!;
      h.failedStep = "start";
      h.detail = (r.reason as Error).message;
    }
  }
  save(ctx);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await retireHosts(ctx, booted, { drain: false });
    for (const slot of chosen) await stopRecordedHost(ctx.state.hosts[slot.name] ?? { name: slot.name, role, ip: slot.ip, netns: slot.netns, veth: slot.veth, userDataSha: "", startedAt: "", healthy: false, releases: {} }, slot);
    throw failed.reason as Error;
  }
  return booted;
}

/**
 * Takes hosts out of service: a web host is drained (no new requests; in-flight ones finish,
 * within the load balancer's deregistration delay) and put in maintenance, then stopped.
 */
export async function retireHosts(ctx: RolloutContext, hosts: readonly HostState[], opts: { drain: boolean; keepRecordOf?: string }): Promise<void> {
  const socket = haproxyPaths(ctx.env.layout.haproxyDir).socket;
  const backends = servedBackends(ctx.env.plan);
  const delayMs = ctx.env.spec.catalogue.loadBalancer.deregistrationDelaySeconds * 1000;
  await Promise.all(
    hosts.map(async (h) => {
      const inPool = slotOf(ctx, h.name) !== undefined;
      if (h.role === "web" && inPool && backends.length > 0) {
        if (opts.drain) {
          const d = await drainHost(socket, backends, h.name, delayMs);
          ctx.progress(`${h.name}: drained${d.drained ? "" : ` (${d.left} requests still open after the ${delayMs / 1000} s deregistration delay)`}`);
        }
        await setHostState(socket, backends, h.name, "maint");
      }
      await stopRecordedHost(h, slotOf(ctx, h.name));
      if (!inPool) {
        // A slot that left the pool takes its interface and namespace with it.
        await execa("ip", ["link", "del", h.veth], { reject: false });
        await execa("ip", ["netns", "del", h.netns], { reject: false });
      }
      ctx.progress(`${h.name}: stopped`);
      // A failed host's record stays for `local status` (its step and logs) until its slot is reused.
      if (h.name === opts.keepRecordOf) ctx.state.hosts[h.name] = { ...h, healthy: false, init: undefined, launcher: undefined };
      else delete ctx.state.hosts[h.name];
    }),
  );
  save(ctx);
}

/** Puts healthy new web hosts in rotation (workers have none). */
export async function admitHosts(ctx: RolloutContext, hosts: readonly HostState[]): Promise<void> {
  for (const h of hosts) if (h.role === "web" && h.healthy) await putInRotation(ctx.env, h.name);
}

/** Copies a host's logs (bootstrap, cloud-init, apps) out of its disk before it goes away. */
export function keepLogs(ctx: RolloutContext, h: HostState): string | undefined {
  if (!ctx.logDir) return undefined;
  const slot = slotOf(ctx, h.name);
  if (!slot) return undefined;
  const upper = hostDirs(slot).upper;
  const dest = join(ctx.logDir, h.name);
  mkdirSync(dest, { recursive: true });
  // The bootstrap's log and the apps' log dirs at the top, cloud-init's beside them.
  if (existsSync(join(upper, "var/log/fawkes"))) cpSync(join(upper, "var/log/fawkes"), dest, { recursive: true, dereference: false });
  for (const rel of ["var/log/fawkes-local-boot.log", "var/log/cloud-init-output.log", "var/log/cloud-init.log"]) {
    const src = join(upper, rel);
    if (existsSync(src)) cpSync(src, join(dest, rel.split("/").pop()!), { dereference: false });
  }
  return dest;
}

/**
 * The health gate after admission: for `ms` (at least one look), every new host must stay
 * running, HAProxy must see each of its apps UP, and none of them may answer a 5xx (the error
 * rate HAProxy measures per server). Returns what went wrong, or undefined.
 */
export async function watchHosts(ctx: RolloutContext, hosts: readonly HostState[], ms: number): Promise<string | undefined> {
  const socket = haproxyPaths(ctx.env.layout.haproxyDir).socket;
  const backends = servedBackends(ctx.env.plan);
  const web = hosts.filter((h) => h.role === "web");
  const key = (b: string, s: string) => `${b}/${s}`;
  const errorsAtStart = new Map<string, number>();
  if (web.length > 0) for (const s of await serverStats(socket)) errorsAtStart.set(key(s.backend, s.server), s.http5xx);
  const deadline = Date.now() + ms;
  for (;;) {
    for (const h of hosts) if (!isRunning(ctx, h)) return `${h.name} stopped during the health gate`;
    if (web.length > 0) {
      const rows = (await serverStats(socket)).filter((s) => backends.includes(s.backend) && web.some((h) => h.name === s.server));
      for (const r of rows) {
        if (!r.status.startsWith("UP")) return `${r.server} went ${r.status} in ${r.backend} (check: ${r.checkStatus}) during the health gate`;
        const errors = r.http5xx - (errorsAtStart.get(key(r.backend, r.server)) ?? 0);
        if (errors > 0) return `${r.server} answered ${errors} requests of ${r.backend.replace(/^app_/, "")} with a 5xx during the health gate`;
      }
    }
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
}

/**
 * Boots `count` hosts to bring a role back to its size, admitting them when healthy; a host that
 * fails is stopped with its logs kept and its record left for `local status`.
 */
export async function fillRole(ctx: RolloutContext, role: Role, count: number, replaced: string[]): Promise<string[]> {
  const fresh = await bootHosts(ctx, role, count);
  const bad = fresh.find((h) => !h.healthy);
  if (bad) {
    const logs = keepLogs(ctx, bad);
    const why = `${role}: new host ${bad.name} failed at step ${bad.failedStep}: ${bad.detail ?? ""}`.trim();
    bad.detail = logs ? `${why}\nlogs: ${logs}` : why;
    await retireHosts(ctx, fresh, { drain: false, keepRecordOf: bad.name });
    throw new RolloutFailure(`${why}${logs ? `; its logs: ${logs}` : ""}`, bad.name, replaced, []);
  }
  await admitHosts(ctx, fresh);
  return fresh.map((h) => h.name);
}

export interface ReplaceOptions {
  steps: readonly RolloutStep[];
  warmupMs: number;
  checkpointMs: number;
}

/**
 * Replaces the named hosts batch by batch. Per batch: old hosts beyond the free slots (the
 * surge) are drained and stopped first; new hosts boot side by side; each must boot healthy,
 * enter HAProxy and pass the warmup gate; then the batch's other old hosts are drained and
 * stopped. A checkpoint holds the rollout while every new host is watched. A failing batch's
 * new hosts are stopped (their logs kept) and RolloutFailure is thrown; nothing else changes.
 */
export async function replaceHosts(ctx: RolloutContext, role: Role, names: readonly string[], opts: ReplaceOptions): Promise<{ replaced: string[]; booted: string[] }> {
  const queue = [...names];
  const replaced: string[] = [];
  const booted: HostState[] = [];
  const fail = async (fresh: readonly HostState[], bad: HostState, why: string): Promise<never> => {
    const logs = keepLogs(ctx, bad);
    bad.healthy = false;
    bad.failedStep ??= "health-gate";
    bad.detail = logs ? `${why}\nlogs: ${logs}` : why;
    await retireHosts(ctx, fresh.includes(bad) ? fresh : [...fresh, bad], { drain: true, keepRecordOf: bad.name });
    throw new RolloutFailure(`${why}${logs ? `; its logs: ${logs}` : ""}`, bad.name, replaced, booted.filter((b) => !fresh.includes(b)).map((b) => b.name));
  };
  for (const [i, step] of opts.steps.entries()) {
    if (queue.length === 0) break;
    const batch = queue.splice(0, step.hosts).map((n) => ctx.state.hosts[n]!).filter(Boolean);
    const label = i === 0 && opts.steps.length > 1 ? "canary" : `batch ${i + 1}/${opts.steps.length}`;
    const beside = Math.min(batch.length, freeSlots(ctx, role).length);
    const inPlace = batch.slice(beside);
    ctx.progress(`${role} ${label}: replacing ${batch.map((h) => h.name).join(", ")}${inPlace.length > 0 ? ` (${inPlace.length} stopped first: no surge slot left)` : ""}`);
    if (inPlace.length > 0) {
      await retireHosts(ctx, inPlace, { drain: true });
      replaced.push(...inPlace.map((h) => h.name));
    }
    const fresh = await bootHosts(ctx, role, batch.length);
    booted.push(...fresh);
    const bad = fresh.find((h) => !h.healthy);
    if (bad) await fail(fresh, bad, `${role} ${label}: new host ${bad.name} failed at step ${bad.failedStep}: ${bad.detail ?? ""}`.trim());
    try {
      await admitHosts(ctx, fresh);
    } catch (e) {
      await fail(fresh, fresh[0]!, `${role} ${label}: ${(e as Error).message}`);
    }
    const warm = await watchHosts(ctx, fresh, opts.warmupMs);
    if (warm) await fail(fresh, fresh.find((h) => warm.startsWith(`${h.name} `)) ?? fresh[0]!, `${role} ${label}: ${warm}`);
    ctx.progress(`${role} ${label}: ${fresh.map((h) => h.name).join(", ")} in service`);
    await retireHosts(ctx, batch.slice(0, beside), { drain: true });
    replaced.push(...batch.slice(0, beside).map((h) => h.name));
    if (step.checkpoint && queue.length > 0 && opts.checkpointMs > 0) {
      ctx.progress(`${role} checkpoint: watching ${booted.length} new hosts for ${opts.checkpointMs / 1000} s`);
      const problem = await watchHosts(ctx, booted, opts.checkpointMs);
      if (problem) await fail([], booted.find((h) => problem.startsWith(`${h.name} `)) ?? booted[0]!, `${role} checkpoint after the ${label}: ${problem}`);
    }
  }
  return { replaced, booted: booted.map((h) => h.name) };
}
