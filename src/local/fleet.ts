// The local target's environment (plan, rendered images, layout, golden image) and the boot of
// one host into its slot.
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";
import type { EnvironmentSpec } from "../config/index.ts";
import { planEnvironment, servedApps, type EnvironmentPlan, type HostPlan } from "../model/index.ts";
import { localStore, releaseSumsIn } from "../artifact/index.ts";
import { renderEnvironment, type HostImage, type ReleaseSums } from "../render/index.ts";
import { haproxyPaths, untilUp } from "./haproxy.ts";
import { waitHealthy } from "./health.ts";
import { waitForBoot } from "./boot-record.ts";
import { prepareHost, startHost, type HostBox, type HostMounts } from "./host.ts";
import { imageOf, type GoldenImage } from "./image.ts";
import { envLayout, hostIdBase, type EnvLayout, type HostSlot } from "./layout.ts";
import { hostFirewallSteps, hostNetworkSteps } from "./network.ts";
import { ensureUnpacked } from "./unpacked.ts";
import type { HostState } from "./state.ts";
import { runSteps, type Progress } from "./steps.ts";

/** A problem of the local target that changed nothing: printed as `error: ...`, exit 1. */
export class LocalTargetError extends Error {}

export interface Env {
  spec: EnvironmentSpec;
  plan: EnvironmentPlan;
  /** Each pinned release's sha256, read from the local store when the environment was rendered. */
  sums: ReleaseSums;
  images: HostImage[];
  layout: EnvLayout;
  image: GoldenImage;
}

/**
 * The environment as local up and release deploy it: the pinned releases' sums read from the
 * machine's artifact store now, once, and pinned in each host's bundle (a store changed later is
 * refused at boot). A pin the store lacks is an error naming the build that makes it.
 */
export async function envOf(spec: EnvironmentSpec): Promise<Env> {
  const plan = planEnvironment(spec);
  const layout = envLayout(spec.stack);
  const { sums, missing } = await releaseSumsIn(localStore(layout.artifacts), spec.knobs.releases);
  if (missing.length > 0) {
    throw new LocalTargetError(`artifacts missing from the local store:\n  ${missing.map((m) => `${m.app} release ${m.release} ${m.why}; build it with: fawkes build ${m.app}`).join("\n  ")}`);
  }
  return { spec, plan, sums, images: renderEnvironment(plan, sums), layout, image: imageOf(spec.catalogue.image) };
}

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

export function servedBackends(plan: EnvironmentPlan): string[] {
  return servedApps(plan).map((a) => `app_${a.name}`);
}

async function netnsExists(name: string): Promise<boolean> {
  return (await execa("ip", ["netns", "list"], { reject: false })).stdout.split("\n").some((l) => l.split(" ")[0] === name);
}

/**
 * The slot's namespace and veth, with the slot's address: one left by another layout (an older
 * fawkes numbered hosts differently) is made again rather than reused with a stale address.
 */
export async function ensureSlotNetwork(layout: EnvLayout, slot: HostBox): Promise<void> {
  if (await netnsExists(slot.netns)) {
    const addrs = (await execa("ip", ["-n", slot.netns, "-o", "-4", "addr", "show", "dev", "eth0"], { reject: false })).stdout;
    if (addrs.includes(` ${slot.ip}/`)) return runSteps(hostFirewallSteps(slot));
    await execa("ip", ["netns", "del", slot.netns], { reject: false });
  }
  // A veth without its namespace (a half-made slot) would make `ip link add` fail.
  await execa("ip", ["link", "del", slot.veth], { reject: false });
  await runSteps([...hostNetworkSteps(layout, slot), ...hostFirewallSteps(slot)]);
}

/**
 * The host's bundle in the machine's artifact store, where its stage-1 script fetches it by key (as
 * an instance fetches it from S3): content-addressed, so a file there that still matches its key is
 * left alone, and one that does not (damaged) is written again from the rendered bytes, which the
 * host would refuse anyway.
 */
export function storeBundle(artifacts: string, img: HostImage): string {
  const path = join(artifacts, img.bundle.key);
  if (existsSync(path) && createHash("sha256").update(readFileSync(path)).digest("hex") === img.bundle.sha256) return path;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.partial`;
  writeFileSync(tmp, img.bundle.bytes, { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

/** Boots one host into its slot and checks it from the machine; never puts it in rotation. */
export async function bootSlot(env: Env, slot: HostSlot, plan: HostPlan, img: HostImage, shared: Record<string, string>, progress: Progress): Promise<HostState> {
  await ensureSlotNetwork(env.layout, slot);
  const bootId = randomBytes(4).toString("hex");
  const mounts: HostMounts = {
    rootfs: env.image.rootfs,
    artifacts: env.layout.artifacts,
    unpacked: env.layout.unpacked,
    secrets: env.layout.secretsDir,
    locks: env.layout.locksDir,
    // Hosts of apps with a database write their dumps before a release's hooks there.
    ...(plan.database ? { backups: env.layout.backupsDir } : {}),
    shared: Object.fromEntries(plan.apps.map((a) => [a.name, shared[a.name]!])),
  };
  // Root's alone: inside a host, the store and the unpacked releases hold every app's code, and
  // no app's user may read another's (the bootstrap reads them as root); nor may one plant a
  // link among the locks, which root opens for writing.
  for (const d of [env.layout.artifacts, env.layout.unpacked, env.layout.locksDir]) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o700);
  }
  // Each release unpacked once on this machine; the host mounts it rather than unpacking it.
  for (const a of plan.apps) await ensureUnpacked(env.layout.artifacts, env.layout.unpacked, { name: a.name, release: a.release, sha256: env.sums[a.name]![a.release]!, uid: a.uid, gid: a.gid }, progress);
  storeBundle(env.layout.artifacts, img);
  const idBase = hostIdBase(slot);
  prepareHost(slot, mounts, img.userDataBytes, bootId, idBase);
  const startedAt = new Date().toISOString();
  const pids = await startHost(slot, mounts, { idBase });
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
    ...(boot.stages ? { bootStages: boot.stages } : {}),
    healthy: boot.ok,
    releases: Object.fromEntries(plan.apps.map((a) => [a.name, a.release])),
  };
  if (!boot.ok) {
    state.failedStep = boot.failedStep ?? "cloud-init";
    state.detail = boot.detail.split("\n").slice(0, 6).join("\n");
    return state;
  }
  for (const app of plan.apps.filter((a) => a.gunicorn)) {
    if (!(await waitHealthy(slot.ip, app.port, app.health))) {
      state.healthy = false;
      state.failedStep = `${app.name}/health-from-machine`;
      state.detail = `${app.health.method} http://${slot.ip}:${app.port}${app.health.path} did not answer ${app.health.statuses}`;
      return state;
    }
  }
  progress(`${slot.name}: healthy in ${boot.seconds?.toFixed(1)} s`);
  return state;
}

/** Puts a healthy web host in rotation and waits for HAProxy's own checks to see it UP. */
export async function putInRotation(env: Env, host: string, timeoutMs = 20_000): Promise<void> {
  const up = await untilUp(haproxyPaths(env.layout.haproxyDir).socket, servedBackends(env.plan), host, timeoutMs);
  if (up !== true) throw new LocalTargetError(`${host} is healthy but HAProxy does not see it UP after ${timeoutMs / 1000} s: ${up}`);
}

export function appUrls(env: Env, port: number): Record<string, string> {
  return Object.fromEntries(servedApps(env.plan).map((a) => [a.name, `http://${a.localHostnames[0]}:${port}/`]));
}
