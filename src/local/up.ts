// `fawkes local up`: the environment's machinery (bridge, HAProxy, stand-ins of S3, SSM and
// EFS), then every role brought to its desired size with hosts of the current user-data.
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import type { EnvironmentSpec } from "../config/index.ts";
import { artifactPaths } from "../artifact/store.ts";
import { ROLES, rolloutPolicy } from "../model/index.ts";
import { appUrls, envOf, LocalTargetError, type Env } from "./fleet.ts";
import { maintenanceFiles, renderHaproxyConfig, renderMaintenanceFiles, renderServerAddresses, serverAddressFile } from "./haproxy-config.ts";
import { haproxyPaths, haproxyPid, portFree, startOrReloadHaproxy, syncMaintenance, writeHaproxyFiles } from "./haproxy.ts";
import { ensureDatabaseHost } from "./database.ts";
import { ensureImage } from "./image.ts";
import { chooseSubnet, hostSlots, type EnvLayout } from "./layout.ts";
import { bridgeUpSteps } from "./network.ts";
import { withDeployLock } from "../release/deploy-lock.ts";
import { ensureLocalSecrets, SecretsError } from "../secrets/index.ts";
import { preflightProblems } from "./preflight.ts";
import { admitHosts, bootHosts, hostsOf, isRunning, replaceHosts, retireHosts, RolloutFailure, type RolloutContext } from "./rollout.ts";
import { readState, writeState, type HostState, type LocalState } from "./state.ts";
import { runSteps, type Progress } from "./steps.ts";

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

/** Pinned releases missing from the local store, each with the command that builds it. */
export function missingArtifacts(env: Env): string[] {
  const missing: string[] = [];
  for (const app of env.spec.catalogue.apps) {
    const release = env.spec.knobs.releases[app.name]!;
    const paths = artifactPaths(env.layout.artifacts, app.name, release);
    if (!existsSync(paths.tarball) || !existsSync(paths.sha256)) missing.push(`${app.name} release ${release} (${paths.tarball}); build it with: fawkes build ${app.name}`);
  }
  return missing;
}

/** Local stand-in of SSM: a 0600 file per app (src/secrets); a declared secret with no value yet gets a random one. */
function ensureSecrets(env: Env, progress: Progress): void {
  try {
    ensureLocalSecrets({ stack: env.spec.stack, secretsDir: env.layout.secretsDir, apps: env.spec.catalogue.apps }, progress);
  } catch (e) {
    if (e instanceof SecretsError) throw new LocalTargetError(e.message);
    throw e;
  }
}

/** Local stand-in of EFS: a dir per app, owned by the app's uid, bind-mounted into its hosts. */
export function ensureSharedDirs(env: Env): Record<string, string> {
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


/** Not root, a missing kernel feature or tool: said before anything is touched, the lock included. */
export async function requireLocalTarget(): Promise<void> {
  const problems = await preflightProblems();
  if (problems.length > 0) throw new LocalTargetError(problems.join("\n"));
}

/**
 * Everything but the hosts (call requireLocalTarget first): checks, image, state, secrets, shared dirs, bridge, host disks and
 * HAProxy (its config lists every slot of the pool, each starting in maintenance). Returns the
 * context hosts are booted in, and whether HAProxy was (re)started.
 */
export async function prepareEnvironment(spec: EnvironmentSpec, opts: UpOptions = {}): Promise<{ ctx: RolloutContext; lb: "started" | "reloaded" | "unchanged" }> {
  const progress = opts.progress ?? (() => {});
  const env = await envOf(spec);
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

  const slots = hostSlots(env.layout, subnet, env.plan.hosts, spec.knobs.rollout);
  // Maintenance mode is the stack's `maintenance` knob: written where a (re)start reads it, and
  // applied to a running HAProxy through its runtime API, so it survives up, rebuild and releases.
  const maintenance = maintenanceFiles(hp.dir, env.plan);
  const addresses = serverAddressFile(hp.dir);
  writeHaproxyFiles({ ...renderMaintenanceFiles(env.plan, maintenance, spec.knobs.maintenance), [addresses]: renderServerAddresses(slots) });
  const config = renderHaproxyConfig({ plan: env.plan, slots, port, socket: hp.socket, addresses, maintenance });
  const lb = await startOrReloadHaproxy(hp, config);
  if (lb !== "unchanged") progress(`load balancer ${lb} on 127.0.0.1:${port}`);
  const toggled = await syncMaintenance(hp.socket, maintenance.list, spec.knobs.maintenance.filter((a) => Object.hasOwn(maintenance.pages, a)));
  for (const app of toggled.added) progress(`${app}: in maintenance (the stack's maintenance knob)`);
  for (const app of toggled.removed) progress(`${app}: out of maintenance (the stack's maintenance knob)`);
  // The database first: app hosts make their roles and run migrations against it at boot.
  await ensureDatabaseHost(env, state, { progress });
  return { ctx: { env, state, slots, shared, progress }, lb };
}

/**
 * `fawkes local up`: the stack's hosts booted on this machine from the same user-data bytes as
 * AWS. Idempotent: a healthy host whose user-data is unchanged is left alone. Missing hosts boot
 * side by side; hosts of changed user-data are replaced by the stack's rollout policy (canary,
 * batches, health gate); a batch that fails stops the rollout with the old hosts serving.
 */
export async function localUp(spec: EnvironmentSpec, opts: UpOptions = {}): Promise<UpResult> {
  await requireLocalTarget();
  // One command changing an environment's hosts at a time: up waits for no rollout, it is refused.
  return withDeployLock(spec.stack, `fawkes local up --stack ${spec.stack}`, () => up(spec, opts));
}

async function up(spec: EnvironmentSpec, opts: UpOptions): Promise<UpResult> {
  const { ctx, lb } = await prepareEnvironment(spec, opts);
  const { env, state } = ctx;
  const result: UpResult = { state, urls: appUrls(env, state.port), replaced: [], unchanged: [], failed: [] };
  const wanted = (role: string) => sha256(env.images.find((i) => i.role === role)!.userDataBytes);

  // Hosts that stopped, failed, or whose slot left the pool go; so do hosts beyond the desired size.
  const gone: HostState[] = [];
  for (const role of ROLES) {
    const desired = env.plan.hosts.find((p) => p.role === role)?.fleet.desired ?? 0;
    const live = hostsOf(state, role).filter((h) => isRunning(ctx, h) && h.healthy);
    gone.push(...hostsOf(state, role).filter((h) => !live.includes(h)));
    // Beyond the desired size, hosts of old user-data go first.
    const ranked = [...live.filter((h) => h.userDataSha === wanted(role)), ...live.filter((h) => h.userDataSha !== wanted(role))];
    gone.push(...ranked.slice(desired));
  }
  // A reload starts every server in maintenance: hosts that stay are back in rotation at once,
  // before those that go are stopped.
  const staying = Object.values(state.hosts).filter((h) => !gone.includes(h));
  if (lb !== "unchanged") await admitHosts(ctx, staying);
  if (gone.length > 0) await retireHosts(ctx, gone, { drain: lb === "unchanged" });

  // Missing hosts of every role boot side by side; each enters rotation once healthy.
  const fills = await Promise.all(
    ROLES.map((role) => {
      const desired = env.plan.hosts.find((p) => p.role === role)?.fleet.desired ?? 0;
      const missing = desired - hostsOf(state, role).length;
      return missing > 0 ? bootHosts(ctx, role, missing) : Promise.resolve([]);
    }),
  );
  for (const h of fills.flat()) {
    if (h.healthy) result.replaced.push(h.name);
    else result.failed.push(h);
  }
  await admitHosts(ctx, fills.flat());

  // Hosts of changed user-data: replaced by the rollout policy.
  for (const role of ROLES) {
    const changed = hostsOf(state, role).filter((h) => h.healthy && h.userDataSha !== wanted(role) && !fills.flat().includes(h));
    const unchanged = hostsOf(state, role).filter((h) => h.healthy && h.userDataSha === wanted(role) && staying.includes(h));
    result.unchanged.push(...unchanged.map((h) => h.name));
    if (changed.length === 0) continue;
    const policy = rolloutPolicy(env.plan.hosts.find((p) => p.role === role)!.fleet.desired, spec.knobs.rollout);
    try {
      const r = await replaceHosts(ctx, role, changed.map((h) => h.name), { steps: policy.steps, warmupMs: spec.knobs.rollout.warmupSeconds * 1000, checkpointMs: spec.knobs.rollout.checkpointDelaySeconds * 1000 });
      result.replaced.push(...r.booted);
    } catch (e) {
      if (!(e instanceof RolloutFailure)) throw e;
      result.replaced.push(...e.booted);
      const h = state.hosts[e.host];
      result.replaced = result.replaced.filter((n) => n !== e.host);
      result.failed.push({ ...(h ?? hostsOf(state, role)[0]!), healthy: false, failedStep: h?.failedStep ?? "rollout", detail: e.message });
    }
  }
  writeState(env.layout.state, state);
  return result;
}
