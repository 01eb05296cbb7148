// `fawkes maintenance on|off APP`: the stack's `maintenance` knob, written like a release pin, then
// applied. Locally through HAProxy's runtime API (no reload, hosts untouched); on AWS by
// `pulumi up`, which adds or removes the app's fixed-response rule on the ALB.
import { existsSync } from "node:fs";
import { loadStack, type EnvironmentSpec } from "../config/index.ts";
import { didYouMean } from "../config/suggest.ts";
import { LocalTargetError } from "../local/fleet.ts";
import { maintenanceFiles, renderMaintenanceFiles } from "../local/haproxy-config.ts";
import { haproxyPaths, haproxyPid, maintenanceList, syncMaintenance, writeHaproxyFiles } from "../local/haproxy.ts";
import { fawkesHome } from "../local/image.ts";
import { envLayout } from "../local/layout.ts";
import { readState } from "../local/state.ts";
import { planEnvironment, servedApps } from "../model/index.ts";
import { pulumiFailure, pulumiUpArgv, runPulumi, type PulumiRunner } from "../release/aws.ts";
import { deployLockOf, withDeployLock } from "../release/deploy-lock.ts";
import type { HistoryEntry } from "../release/history.ts";
import { recorded, type WorkLog, type WorkOutcome } from "../release/record.ts";
import { restoreKnob, setMaintenanceKnob } from "./knob.ts";

/** A request that changed nothing: an unknown app, one the load balancer does not route to. */
export class MaintenanceError extends LocalTargetError {}

export interface MaintenanceRequest {
  root: string;
  stack: string;
  app: string;
  on: boolean;
  target: "local" | "aws";
  /** The command line, for the lock and the history. */
  command: string;
  echo?: (line: string) => void;
  home?: string;
  pulumi?: PulumiRunner;
  /** Who asked, when not this process's user: the deploy console's signed-in user. */
  who?: string;
}

export interface MaintenanceResult {
  stack: string;
  app: string;
  on: boolean;
  target: "local" | "aws";
  /** false: the app already was in (or out of) maintenance; nothing was recorded. */
  changed: boolean;
  /** Where it took effect: HAProxy now, the next `local up`, or `pulumi up`. */
  applied: "load-balancer" | "next-local-up" | "pulumi-up" | "none";
  message: string;
  /** The stack's apps in maintenance afterwards. */
  maintenance: string[];
  entry?: HistoryEntry;
}

/** The app must be one the load balancer routes to: an unknown name gets the closest one. */
export function checkApp(spec: EnvironmentSpec, app: string): void {
  const names = spec.catalogue.apps.map((a) => a.name);
  if (!names.includes(app)) {
    const hint = didYouMean(app, names);
    throw new MaintenanceError(`no app "${app}" in the catalogue (apps: ${names.join(", ")})${hint ? `; ${hint}` : ""}`);
  }
  const served = servedApps(planEnvironment(spec)).map((a) => a.name);
  if (!served.includes(app)) throw new MaintenanceError(`${app} has no web process: the load balancer routes nothing to it, so it has no maintenance page (apps it routes to: ${served.join(", ")})`);
}

/** Is the stack's HAProxy running on this machine? Only then is there something to apply now. */
export function localLoadBalancerUp(stack: string, home = fawkesHome()): boolean {
  const layout = envLayout(stack, home);
  return readState(layout.state) !== undefined && haproxyPid(haproxyPaths(layout.haproxyDir)) !== undefined;
}

/** Applies a spec's maintenance knob to the stack's running HAProxy: list file, then runtime API. */
export async function applyLocalMaintenance(spec: EnvironmentSpec, home = fawkesHome()): Promise<{ added: string[]; removed: string[] }> {
  if (process.getuid?.() !== 0) throw new MaintenanceError(`the local load balancer of ${spec.stack} is reached through its root-only runtime API: run this as root`);
  const hp = haproxyPaths(envLayout(spec.stack, home).haproxyDir);
  const plan = planEnvironment(spec);
  const files = maintenanceFiles(hp.dir, plan);
  writeHaproxyFiles(renderMaintenanceFiles(plan, files, spec.knobs.maintenance));
  return syncMaintenance(hp.socket, files.list, spec.knobs.maintenance.filter((a) => Object.hasOwn(files.pages, a)));
}

/** In catalogue order, so that the stack file does not depend on the order of the commands. */
function toggled(spec: EnvironmentSpec, app: string, on: boolean): string[] {
  const set = new Set(spec.knobs.maintenance);
  if (on) set.add(app);
  else set.delete(app);
  return spec.catalogue.apps.map((a) => a.name).filter((a) => set.has(a));
}

const say = (app: string, on: boolean) => (on ? `${app} is in maintenance` : `${app} is out of maintenance`);

/**
 * Puts an app in or out of maintenance. Under the deploy lock; recorded in the stack's history.
 * Already so: exit 0 and nothing recorded (locally the running HAProxy is still brought in line
 * with the knob). Locally, a stack that is not up gets the knob; its next `local up` applies it.
 */
export async function setMaintenance(req: MaintenanceRequest): Promise<MaintenanceResult> {
  const home = req.home ?? fawkesHome();
  const echo = req.echo ?? (() => {});
  const spec = loadStack(req.root, req.stack);
  checkApp(spec, req.app);
  const base = { stack: req.stack, app: req.app, on: req.on, target: req.target };
  const up = req.target === "local" && localLoadBalancerUp(req.stack, home);
  if (spec.knobs.maintenance.includes(req.app) === req.on) {
    const already = `${req.stack}: ${req.app} already is ${req.on ? "in" : "out of"} maintenance`;
    if (up) {
      await withDeployLock(req.stack, req.command, () => applyLocalMaintenance(spec, home), home);
      return { ...base, changed: false, applied: "load-balancer", message: `${already}; the local load balancer agrees`, maintenance: [...spec.knobs.maintenance] };
    }
    const where = req.target === "aws" ? `; the stack file says so (if the ALB disagrees: pulumi up --stack ${req.stack})` : "";
    return { ...base, changed: false, applied: "none", message: `${already}${where}`, maintenance: [...spec.knobs.maintenance] };
  }
  // What the work found, read after it: the knob it wrote and where it took effect.
  const got: { after: string[]; applied: MaintenanceResult["applied"]; file: string } = { after: [], applied: "none", file: "" };
  // On AWS the lock is the stack's item in its lock table, which every machine sees; locally the file.
  const lock = req.target === "aws" ? { lock: deployLockOf({ target: "aws", spec }) } : {};
  const entry = await recorded({ stack: req.stack, kind: "maintenance", target: req.target, command: req.command, app: req.app, from: req.on ? "off" : "on", to: req.on ? "on" : "off", ...lock, ...(req.who !== undefined ? { who: req.who } : {}) }, echo, async (log): Promise<WorkOutcome> => {
    // Read again under the lock: another command may have changed the knob since.
    got.after = toggled(loadStack(req.root, req.stack), req.app, req.on);
    const write = setMaintenanceKnob(req.root, req.stack, got.after);
    got.file = write.file;
    log.progress(`${write.file}: maintenance: [${got.after.join(", ")}]`);
    try {
      const outcome = req.target === "aws" ? await applyOnAws(req, log) : await applyLocally(req, home, log);
      got.applied = outcome.applied;
      if (outcome.result !== "succeeded") restoreKnob(write);
      return outcome;
    } catch (e) {
      restoreKnob(write);
      throw e;
    }
  }, home);
  if (entry.result !== "succeeded") return { ...base, changed: false, applied: "none", message: `${req.stack}: maintenance ${req.on ? "on" : "off"} of ${req.app} FAILED: ${entry.failure ?? ""}`, maintenance: [...spec.knobs.maintenance], entry };
  const messages: Record<MaintenanceResult["applied"], string> = {
    "next-local-up": `${req.stack}: ${say(req.app, req.on)}, recorded in ${got.file}; ${req.stack} is not up locally: the next fawkes local up --stack ${req.stack} applies it`,
    "pulumi-up": `${req.stack}: ${say(req.app, req.on)}: pulumi up ${req.on ? "added the ALB's 503 fixed-response rule" : "removed the ALB's 503 fixed-response rule"}`,
    "load-balancer": `${req.stack}: ${say(req.app, req.on)}: the local load balancer ${req.on ? "answers its maintenance page (503); its hosts keep running" : "routes it to its hosts again"}`,
    none: `${req.stack}: ${say(req.app, req.on)}`,
  };
  return { ...base, changed: true, applied: got.applied, message: messages[got.applied], maintenance: got.after, entry };
}

async function applyLocally(req: MaintenanceRequest, home: string, log: WorkLog): Promise<WorkOutcome & { applied: MaintenanceResult["applied"] }> {
  if (!localLoadBalancerUp(req.stack, home)) {
    log.progress(`${req.stack} is not up locally: the next fawkes local up --stack ${req.stack} applies the knob`);
    return { hostsReplaced: [], result: "succeeded", applied: "next-local-up" };
  }
  const { added, removed } = await applyLocalMaintenance(loadStack(req.root, req.stack), home);
  log.progress(`local load balancer: ${[...added.map((a) => `${a} in maintenance`), ...removed.map((a) => `${a} out of maintenance`)].join(", ") || "already so"}`);
  return { hostsReplaced: [], result: "succeeded", applied: "load-balancer" };
}

async function applyOnAws(req: MaintenanceRequest, log: WorkLog): Promise<WorkOutcome & { applied: MaintenanceResult["applied"] }> {
  const r = await (req.pulumi ?? runPulumi)(pulumiUpArgv(req.stack), req.root, log.progress);
  if (r.exitCode === 0) return { hostsReplaced: [], result: "succeeded", applied: "pulumi-up" };
  const why = pulumiFailure(r);
  return { hostsReplaced: [], result: "failed", applied: "none", failure: `${why}. The stack file is restored; the ALB keeps what the last successful pulumi up gave it. The run's output: ${log.dir}/rollout.log` };
}

export interface MaintenanceStatus {
  stack: string;
  /** The knob: apps in maintenance per the stack file. */
  apps: string[];
  /** This machine's HAProxy of the stack, when it runs: the apps it answers the page for. */
  local?: { up: boolean; apps?: string[] };
}

/** The knob, and what the stack's local HAProxy actually does when it runs (root only). */
export async function maintenanceStatus(root: string, stack: string, home = fawkesHome()): Promise<MaintenanceStatus> {
  const spec = loadStack(root, stack);
  const status: MaintenanceStatus = { stack, apps: [...spec.knobs.maintenance] };
  if (!localLoadBalancerUp(stack, home)) return { ...status, local: { up: false } };
  const hp = haproxyPaths(envLayout(stack, home).haproxyDir);
  const files = maintenanceFiles(hp.dir, planEnvironment(spec));
  if (process.getuid?.() !== 0 || !existsSync(hp.socket)) return { ...status, local: { up: true } };
  return { ...status, local: { up: true, apps: await maintenanceList(hp.socket, files.list).catch(() => undefined) } };
}
