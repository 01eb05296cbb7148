import { createHash, randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import type { EnvironmentSpec } from "../config/index.ts";
import { artifactPaths } from "../artifact/store.ts";
import { planEnvironment, servedApps, type EnvironmentPlan, type HostPlan } from "../model/index.ts";
import { renderEnvironment, type HostImage } from "../render/index.ts";
import { localHostnames, renderHaproxyConfig } from "./haproxy-config.ts";
import { drainHost, haproxyPaths, haproxyPid, portFree, serverStats, setHostState, startOrReloadHaproxy } from "./haproxy.ts";
import { waitHealthy } from "./health.ts";
import { isHostInit, prepareHost, startHost, stopHost, waitForBoot, type HostMounts } from "./host.ts";
import { ensureImage, imageOf, type GoldenImage } from "./image.ts";
import { chooseSubnet, envLayout, hostSlots, type EnvLayout, type HostSlot } from "./layout.ts";
import { bridgeUpSteps, hostNetworkSteps } from "./network.ts";
import { preflightProblems } from "./preflight.ts";
import { readState, writeState, type HostState, type LocalState } from "./state.ts";
import { runSteps, type Progress } from "./steps.ts";

/** A problem of the local target that changed nothing: printed as `error: ...`, exit 1. */
export class LocalTargetError extends Error {}

export interface Env {
  spec: EnvironmentSpec;
  plan: EnvironmentPlan;
  images: HostImage[];
  layout: EnvLayout;
  image: GoldenImage;
}

export function envOf(spec: EnvironmentSpec): Env {
  const plan = planEnvironment(spec);
  return { spec, plan, images: renderEnvironment(plan), layout: envLayout(spec.stack), image: imageOf(spec.catalogue.image) };
}

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

export function servedBackends(plan: EnvironmentPlan): string[] {
  return servedApps(plan).map((a) => `app_${a.name}`);
}

function missingArtifacts(env: Env): string[] {
  const missing: string[] = [];
  for (const app of env.spec.catalogue.apps) {
    const release = env.spec.knobs.releases[app.name]!;
    const paths = artifactPaths(env.layout.artifacts, app.name, release);
    if (!existsSync(paths.tarball) || !existsSync(paths.sha256)) missing.push(`${app.name} release ${release} (${paths.tarball}); build it with: fawkes build ${app.name}`);
  }
  return missing;
}

/** Local stand-in of SSM: a 0600 file per app; a secret with no value yet gets a random one. */
function ensureSecrets(env: Env, progress: Progress): void {
  mkdirSync(env.layout.secretsDir, { recursive: true, mode: 0o700 });
  for (const app of env.spec.catalogue.apps) {
    const file = join(env.layout.secretsDir, `${app.name}.env`);
    const have = existsSync(file) ? readFileSync(file, "utf8") : "";
    const names = new Set(have.split("\n").map((l) => l.split("=")[0]));
    const add = app.secrets.filter((s) => !names.has(s));
    if (add.length > 0) {
      progress(`secrets of ${app.name}: generated a random value for ${add.join(", ")} (set your own in ${file})`);
      writeFileSync(file, have + add.map((s) => `${s}=${randomBytes(24).toString("base64url")}\n`).join(""), { mode: 0o600 });
    }
    if (!existsSync(file)) writeFileSync(file, "", { mode: 0o600 });
    chmodSync(file, 0o600);
  }
}

/** Local stand-in of EFS: a dir per app, owned by the app's uid, bind-mounted into its hosts. */
function ensureSharedDirs(env: Env): Record<string, string> {
  const dirs: Record<string, string> = {};
  for (const app of env.spec.catalogue.apps) {
    const dir = join(env.layout.sharedDir, app.name);
    mkdirSync(dir, { recursive: true });
    chownSync(dir, app.uid, app.uid);
    chmodSync(dir, 0o750);
    dirs[app.name] = dir;
  }
  return dirs;
}

/**
 * Hosts' disks (overlay upper dirs) live in a tmpfs, like an instance's ephemeral disk: unpacking
 * a release there is several times faster than on the machine's disk, and nothing of a host
 * outlives the environment. Shared data stays on disk, outside it.
 */
async function ensureHostDisks(layout: EnvLayout): Promise<void> {
  if ((await execa("mountpoint", ["-q", layout.hostsDir], { reject: false })).exitCode === 0) return;
  mkdirSync(layout.hostsDir, { recursive: true });
  if (readdirSync(layout.hostsDir).length > 0) return; // hosts of an older up run from disk: leave them
  await runSteps([{ kind: "run", title: `tmpfs for the hosts' disks at ${layout.hostsDir}`, argv: ["mount", "-t", "tmpfs", "-o", "mode=0755", "fawkes-hosts", layout.hostsDir] }]);
}

async function linkExists(name: string): Promise<boolean> {
  return (await execa("ip", ["link", "show", name], { reject: false })).exitCode === 0;
}

async function netnsExists(name: string): Promise<boolean> {
  return (await execa("ip", ["netns", "list"], { reject: false })).stdout.split("\n").some((l) => l.split(" ")[0] === name);
}

export interface UpOptions {
  port?: number;
  progress?: Progress;
}

export interface UpResult {
  state: LocalState;
  urls: Record<string, string>;
  replaced: string[];
  unchanged: string[];
  failed: HostState[];
}

/** Boots one host into its slot and checks it from the machine; never puts it in rotation. */
export async function bootSlot(env: Env, slot: HostSlot, plan: HostPlan, img: HostImage, shared: Record<string, string>, progress: Progress): Promise<HostState> {
  if (!(await netnsExists(slot.netns))) await runSteps(hostNetworkSteps(env.layout, slot));
  const bootId = randomBytes(4).toString("hex");
  prepareHost(slot, plan, img.userDataBytes, bootId);
  const mounts: HostMounts = {
    rootfs: env.image.rootfs,
    artifacts: env.layout.artifacts,
    secrets: env.layout.secretsDir,
    shared: Object.fromEntries(plan.apps.map((a) => [a.name, shared[a.name]!])),
  };
  const startedAt = new Date().toISOString();
  const pids = await startHost(slot, mounts);
  progress(`${slot.name}: booting (${slot.ip})`);
  const boot = await waitForBoot(pids.init);
  const state: HostState = {
    name: slot.name,
    role: slot.role,
    ip: slot.ip,
    netns: slot.netns,
    veth: slot.veth,
    launcher: pids.launcher,
    init: pids.init,
    userDataSha: sha256(img.userDataBytes),
    startedAt,
    bootSeconds: boot.seconds,
    healthy: boot.ok,
    releases: Object.fromEntries(plan.apps.map((a) => [a.name, a.release])),
  };
  if (!boot.ok) {
    state.failedStep = boot.failedStep ?? "cloud-init";
    state.detail = boot.detail.split("\n").slice(-6).join("\n");
    return state;
  }
  for (const app of plan.apps.filter((a) => a.gunicorn)) {
    if (!(await waitHealthy(slot.ip, app.port, app.health.path, app.hostnames[0]!))) {
      state.healthy = false;
      state.failedStep = `${app.name}/health-from-machine`;
      state.detail = `http://${slot.ip}:${app.port}${app.health.path} did not answer 200`;
      return state;
    }
  }
  progress(`${slot.name}: healthy in ${boot.seconds?.toFixed(1)} s`);
  return state;
}

/** Puts a healthy web host in rotation and waits for HAProxy's own checks to see it UP. */
export async function putInRotation(env: Env, host: string, timeoutMs = 20_000): Promise<void> {
  const backends = servedBackends(env.plan);
  const socket = haproxyPaths(env.layout.haproxyDir).socket;
  await setHostState(socket, backends, host, "ready");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = (await serverStats(socket)).filter((s) => s.server === host && backends.includes(s.backend));
    if (rows.length === backends.length && rows.every((r) => r.status === "UP")) return;
    if (Date.now() > deadline) throw new LocalTargetError(`${host} is healthy but HAProxy does not see it UP after ${timeoutMs / 1000} s: ${rows.map((r) => `${r.backend} ${r.status} ${r.checkStatus}`).join(", ")}`);
    await sleep(200);
  }
}

async function choosePort(state: LocalState | undefined, wanted: number | undefined, running: boolean): Promise<number> {
  if (state && (wanted === undefined || wanted === state.port)) {
    if (running || (await portFree(state.port))) return state.port;
    throw new LocalTargetError(`port 127.0.0.1:${state.port} of this environment is in use by another program; free it or pass --port`);
  }
  if (wanted !== undefined) {
    if (await portFree(wanted)) return wanted;
    throw new LocalTargetError(`port 127.0.0.1:${wanted} is in use; pick another with --port`);
  }
  for (let p = 8080; p < 8180; p++) if (await portFree(p)) return p;
  throw new LocalTargetError("no free port in 127.0.0.1:8080-8179 for the load balancer; pass --port");
}

export function appUrls(env: Env, port: number): Record<string, string> {
  return Object.fromEntries(servedApps(env.plan).map((a) => [a.name, `http://${localHostnames(a, env.spec.knobs.domain, env.spec.stack)[0]}:${port}/`]));
}

/**
 * Replaces the host in a slot: a web host is drained from HAProxy first (no new requests,
 * in-flight ones finish) and put in maintenance, then stopped, and a fresh one boots from the
 * golden image. The new host is not put in rotation here.
 */
export async function replaceHost(env: Env, slot: HostSlot, old: HostState | undefined, shared: Record<string, string>, progress: Progress, opts: { drain: boolean }): Promise<HostState> {
  if (slot.role === "web" && opts.drain) {
    const socket = haproxyPaths(env.layout.haproxyDir).socket;
    const backends = servedBackends(env.plan);
    const d = await drainHost(socket, backends, slot.name);
    progress(`${slot.name}: drained${d.drained ? "" : ` (${d.left} requests still open at the deadline)`}`);
    await setHostState(socket, backends, slot.name, "maint");
  }
  if (old) {
    await stopHost(old.init, old.launcher);
    progress(`${slot.name}: stopped; rebuilding from the golden image`);
  }
  const plan = env.plan.hosts.find((p) => p.role === slot.role)!;
  const img = env.images.find((i) => i.role === slot.role)!;
  return bootSlot(env, slot, plan, img, shared, progress);
}

/**
 * `fawkes local up`: the stack's hosts booted on this machine from the same user-data bytes as
 * AWS. Idempotent: a healthy host whose user-data is unchanged is left alone.
 */
export async function localUp(spec: EnvironmentSpec, opts: UpOptions = {}): Promise<UpResult> {
  const progress = opts.progress ?? (() => {});
  const problems = await preflightProblems();
  if (problems.length > 0) throw new LocalTargetError(problems.join("\n"));
  const env = envOf(spec);
  const previous = readState(env.layout.state);
  const hp = haproxyPaths(env.layout.haproxyDir);
  const port = await choosePort(previous, opts.port, haproxyPid(hp) !== undefined);
  const missing = missingArtifacts(env);
  if (missing.length > 0) throw new LocalTargetError(`artifacts missing from the local store:\n  ${missing.join("\n  ")}`);
  await ensureImage(env.image, progress);

  const routes = (await execa("ip", ["-o", "route", "show"])).stdout.split("\n");
  const subnet = previous?.subnet ?? chooseSubnet(spec.stack, routes);
  const state: LocalState = previous ?? { stack: spec.stack, subnet, port, createdAt: new Date().toISOString(), hosts: {} };
  state.port = port;
  writeState(env.layout.state, state);
  ensureSecrets(env, progress);
  const shared = ensureSharedDirs(env);
  if (!(await linkExists(env.layout.bridge))) await runSteps(bridgeUpSteps(env.layout, subnet));
  await ensureHostDisks(env.layout);

  const slots = hostSlots(env.layout, subnet, env.plan.hosts);
  const config = renderHaproxyConfig({ plan: env.plan, slots, port, socket: hp.socket });
  const lb = await startOrReloadHaproxy(hp, config);
  if (lb !== "unchanged") progress(`load balancer ${lb} on 127.0.0.1:${port}`);

  const result: UpResult = { state, urls: appUrls(env, port), replaced: [], unchanged: [], failed: [] };
  const todo: HostSlot[] = [];
  for (const slot of slots) {
    const img = env.images.find((i) => i.role === slot.role)!;
    const h = state.hosts[slot.name];
    if (h && h.healthy && isHostInit(h.init, slot) && h.userDataSha === sha256(img.userDataBytes)) result.unchanged.push(slot.name);
    else todo.push(slot);
  }
  // A reload starts every server in maintenance: hosts that stay are back in rotation at once.
  if (lb !== "unchanged") {
    for (const name of result.unchanged) if (state.hosts[name]!.role === "web") await putInRotation(env, name);
  }
  // New and changed hosts boot side by side; each enters rotation only once it is healthy.
  // After a reload every server is in maintenance already: only a host HAProxy still routes to
  // is drained.
  const booted = await Promise.all(
    todo.map((slot) => {
      const old = state.hosts[slot.name];
      return replaceHost(env, slot, old, shared, progress, { drain: old !== undefined && lb === "unchanged" });
    }),
  );
  for (const h of booted) {
    state.hosts[h.name] = h;
    if (h.healthy) result.replaced.push(h.name);
    else result.failed.push(h);
  }
  // Hosts beyond the fleet's desired size go away.
  for (const name of Object.keys(state.hosts)) {
    if (!slots.some((s) => s.name === name)) {
      const h = state.hosts[name]!;
      await stopHost(h.init, h.launcher);
      await execa("ip", ["link", "del", h.veth], { reject: false });
      await execa("ip", ["netns", "del", h.netns], { reject: false });
      delete state.hosts[name];
    }
  }
  writeState(env.layout.state, state);
  for (const name of result.replaced) if (state.hosts[name]!.role === "web") await putInRotation(env, name);
  return result;
}
