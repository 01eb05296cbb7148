// The local target's figures, measured side by side in one run on the dev stack: `local up` from
// nothing, `rebuild` of one host to healthy, memory per idle host, and one configuration change
// applied by fawkes (rebuild) and by Puppet (`puppet apply` in a host of the same image).
import { existsSync, readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { buildPinnedIfMissing } from "../src/artifact/index.ts";
import { loadStack, type EnvironmentSpec } from "../src/config/index.ts";
import { httpStatus } from "../src/local/health.ts";
import { hostDirs } from "../src/local/host.ts";
import { ensureImage, envLayout, imageOf, localDown, localRebuild, localUp } from "../src/local/index.ts";
import { readState } from "../src/local/state.ts";
import { planEnvironment, type AppOnHost } from "../src/model/index.ts";
import { acceptsBody, appOnWeb, configChange, gunicornWorkers, hostPssKb, type ConfigChange } from "./config-change.ts";
import { bootPuppetHost, puppetImage, puppetManifest, putManifest, timedPuppetApply, type PuppetHost, type PuppetRun, type Reload } from "./puppet.ts";

const STACK = "dev";
const CHANGED_APP = "blog";
const REBUILDS = 5;
const ROUNDS = 3;
const IDLE_MS = 5000;

const say = (m: string) => process.stderr.write(`bench: ${m}\n`);
const sec = (x: number) => x.toFixed(2);

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Two measurements taken in turn `runs` times, so that the machine's noise hits both alike: the
 * median of each and the last run's extra figure (a size in bytes).
 */
export async function alternate(
  runs: number,
  a: () => Promise<{ ms: number; bytes: number }> | { ms: number; bytes: number },
  b: () => Promise<{ ms: number; bytes: number }> | { ms: number; bytes: number },
): Promise<{ a: number; b: number; aBytes: number; bBytes: number }> {
  const as: number[] = [];
  const bs: number[] = [];
  let aBytes = 0;
  let bBytes = 0;
  for (let i = 0; i < runs; i++) {
    const x = await a();
    const y = await b();
    as.push(x.ms);
    bs.push(y.ms);
    aBytes = x.bytes;
    bBytes = y.bytes;
  }
  return { a: median(as), b: median(bs), aBytes, bBytes };
}

/** The web host of the bench's stack right now: a rebuild moves it to another slot. */
function webHost(): string {
  const hosts = Object.values(readState(envLayout(STACK).state)!.hosts).filter((h) => h.role === "web" && h.healthy);
  if (hosts.length !== 1) throw new Error(`${STACK} should have one healthy web host, has ${hosts.map((h) => h.name).join(", ") || "none"}`);
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

interface RebuildRun {
  /** From the call to the new host healthy and in rotation (the old one still serves until then). */
  seconds: number;
  /** From the call to the new host healthy: booted, every app answering its health path (the issue's measure). */
  healthySeconds: number;
  bootSeconds: number;
  phases: Record<string, number>;
}

/** `localRebuild` of the web host, from its call to the new host healthy, in rotation and (if given) `live()`. */
async function timedRebuild(spec: EnvironmentSpec, live?: () => Promise<boolean>): Promise<RebuildRun> {
  const at: Record<string, number> = {};
  const t0 = performance.now();
  const entry = await localRebuild(spec, { host: webHost() }, (m) => {
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
    bootSeconds: readState(envLayout(STACK).state)!.hosts[webHost()]?.bootSeconds ?? NaN,
    phases: {
      start: d(t0, at.started),
      boot: d(at.started, at.healthy),
      rotation: d(at.healthy, at.inService),
      retireOld: d(at.inService, tEnd),
    },
  };
}

/** Where a host's in-host boot went, from cloud-init's own log (ms stamps) and the init's start/end. */
function bootBreakdown(stack: string, host: string): Record<string, number> | undefined {
  const layout = envLayout(stack);
  const state = readState(layout.state)?.hosts[host];
  const dirs = hostDirs({ dir: join(layout.hostsDir, host) });
  const booted = state?.init !== undefined ? join(`/proc/${state.init}/root`, "run/fawkes-local/booted") : "";
  const log = join(dirs.upper, "var/log/cloud-init.log");
  if (!existsSync(booted) || !existsSync(log)) return undefined;
  const [, start, end] = readFileSync(booted, "utf8").trim().split(" ").map(Number);
  const lines = readFileSync(log, "utf8").split("\n");
  const when = (needle: string) => {
    const l = lines.find((x) => x.includes(needle));
    const m = l && /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})/.exec(l);
    return m ? Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`) / 1000 : NaN;
  };
  const t = {
    runLocal: when("running 'init-local'"),
    finLocal: when("finish: init-local: "),
    runInit: when("running 'init'"),
    finInit: when("finish: init-network: "),
    runConfig: when("running 'modules:config'"),
    finConfig: when("finish: modules-config: "),
    runFinal: when("running 'modules:final'"),
    userStart: when("start: modules-final/config-scripts-user"),
    userEnd: when("finish: modules-final/config-scripts-user"),
  };
  const startups = t.runLocal - start! + (t.runInit - t.finLocal) + (t.runConfig - t.finInit) + (t.runFinal - t.finConfig);
  const bootstrap = t.userEnd - t.userStart;
  const total = end! - start!;
  return { total, startups, bootstrap, modules: total - startups - bootstrap };
}

/** Bootstrap steps that took `minMs` or more, from the bootstrap log's millisecond stamps. */
function slowSteps(stack: string, host: string, minMs = 50): string[] {
  const log = join(hostDirs({ dir: join(envLayout(stack).hostsDir, host) }).upper, "var/log/fawkes/bootstrap.log");
  if (!existsSync(log)) return [];
  const begins = [...readFileSync(log, "utf8").matchAll(/^(\S+Z) fawkes-bootstrap \[([^\]]+)\] (begin|host ready)$/gm)].map((m) => ({ at: Date.parse(m[1]!), step: m[2]! }));
  return begins.slice(0, -1).flatMap((b, i) => (begins[i + 1]!.at - b.at >= minMs ? [`${b.step} ${begins[i + 1]!.at - b.at} ms`] : []));
}

function hostMemory(stack: string, host: string): { mib: number; processes: number } {
  const { kb, processes } = hostPssKb(hostDirs({ dir: join(envLayout(stack).hostsDir, host) }).merged);
  return { mib: kb / 1024, processes };
}

/** The change is live on a host: the app answers 200, runs the side's workers, and nginx applies the side's body limit. */
function liveCheck(change: ConfigChange, app: AppOnHost, ip: string, merged: string, changed: boolean): () => Promise<boolean> {
  return async () =>
    (await httpStatus(ip, app.port, app.health.path, app.hostnames[0]!, 1000)).status === 200 &&
    gunicornWorkers(merged, change.app) === (changed ? change.workers.after : change.workers.before) &&
    (await acceptsBody(ip, app, change.probeBytes, 1000)) === changed;
}

async function header(): Promise<string> {
  const sha = (await execa("git", ["rev-parse", "--short", "HEAD"], { reject: false })).stdout.trim() || "unknown";
  const dirty = (await execa("git", ["status", "--porcelain"], { reject: false })).stdout.trim() !== "";
  return `local target, stack ${STACK}, ${new Date().toISOString().slice(0, 10)}, commit ${sha}${dirty ? " (with uncommitted changes)" : ""}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
}

/** Runs every local figure; takes the dev stack down before and after, even on failure or ^C. */
export async function benchLocal(root: string): Promise<void> {
  const spec = loadStack(root, STACK);
  const layout = envLayout(STACK);
  const change = configChange(root, STACK, CHANGED_APP);
  say("not timed: pinned releases, the golden image and its puppet variant (built once, cached)");
  await buildPinnedIfMissing(root, spec, say);
  const golden = await ensureImage(imageOf(spec.catalogue.image), say);
  const withPuppet = await ensureImage(puppetImage(spec), say);
  const cleanup = async () => {
    await localDown(layout).catch((e: Error) => say(`localDown ${STACK} failed: ${e.message}`));
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    console.log(`\n${await header()}`);
    console.log(`  golden image ${golden.hash} (warm); puppet variant ${withPuppet.hash}; the machine is shared and noisy: compare ratios`);

    say(`local down ${STACK}, then local up ${STACK} from nothing`);
    await localDown(layout);
    const t0 = performance.now();
    const up = await localUp(spec);
    const upSeconds = (performance.now() - t0) / 1000;
    if (up.failed.length > 0) throw new Error(`local up ${STACK}: ${up.failed.map((f) => `${f.name} failed at ${f.failedStep}`).join(", ")}`);
    const hosts = Object.keys(up.state.hosts).sort();
    console.log(`  local up ${STACK} from nothing (${hosts.length} hosts, HAProxy, bridge): ${sec(upSeconds)} s`);

    await sleep(IDLE_MS);
    const mem = hosts.map((h) => ({ h, ...hostMemory(STACK, h) }));
    console.log(`  memory per idle host (sum of Pss of its processes, ${IDLE_MS / 1000} s idle): ${mem.map((m) => `${m.h} ${m.mib.toFixed(1)} MiB (${m.processes} processes)`).join(", ")}`);

    say(`rebuild the web host x${REBUILDS}`);
    const rebuilds: RebuildRun[] = [];
    for (let i = 0; i < REBUILDS; i++) rebuilds.push(await timedRebuild(spec));
    const rb = median(rebuilds.map((r) => r.seconds));
    const rh = median(rebuilds.map((r) => r.healthySeconds));
    const phase = (k: string) => sec(median(rebuilds.map((r) => r.phases[k]!)));
    console.log(`  rebuild of the web host to a new host healthy, median of ${REBUILDS}: ${sec(rh)} s (${rebuilds.map((r) => sec(r.healthySeconds)).join(", ")}); goal < 2 s: ${rh < 2 ? "met" : "NOT met"}`);
    console.log(`  rebuild of the web host to a new host healthy and in rotation, median of ${REBUILDS}: ${sec(rb)} s (${rebuilds.map((r) => sec(r.seconds)).join(", ")})`);
    console.log(`    phases (medians, s): start ${phase("start")}, boot+health ${phase("boot")}, rotation ${phase("rotation")}; then, off that path, drain and stop of the old host ${phase("retireOld")}`);
    const bd = bootBreakdown(STACK, webHost());
    console.log(
      `    in-host boot (cloud-init's four stages), median ${sec(median(rebuilds.map((r) => r.bootSeconds)))} s` +
        (bd ? `; last one: ${sec(bd.total!)} s = cloud-init process start-ups ${sec(bd.startups!)} + fawkes-bootstrap ${sec(bd.bootstrap!)} + cloud-init modules and exits ${sec(bd.modules!)}` : ""),
    );
    console.log(`    bootstrap steps of 50 ms or more in the last one: ${slowSteps(STACK, webHost()).join(", ") || "none"}`);

    await comparePuppet(spec, change, withPuppet, up.state.subnet);
  } finally {
    say(`local down ${STACK}`);
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** The same configuration change, forward and back, by Puppet (two reload styles) and by a fawkes rebuild, interleaved. */
async function comparePuppet(spec: EnvironmentSpec, change: ConfigChange, image: ReturnType<typeof puppetImage>, subnet: string): Promise<void> {
  console.log(`configuration change: ${change.summary}; files ${change.after.map((f) => f.path).join(", ")}`);
  say("booting the puppet host (same user-data as the web host, image + puppet)");
  const ph: PuppetHost = await bootPuppetHost(spec, image, subnet);
  const app = appOnWeb(spec, change.app);
  const plan = planEnvironment(spec).hosts.find((h) => h.role === "web")!;
  const manifests = {} as Record<`${Reload}-${"fwd" | "back"}`, string>;
  for (const reload of ["restart", "hup"] as const) {
    manifests[`${reload}-fwd`] = putManifest(ph, `${reload}-fwd.pp`, puppetManifest(change.after, plan, reload));
    manifests[`${reload}-back`] = putManifest(ph, `${reload}-back.pp`, puppetManifest(change.before, plan, reload));
  }
  const pLive = (changed: boolean) => liveCheck(change, app, ph.slot.ip, ph.merged, changed);
  if (!(await pLive(false)())) throw new Error("the puppet host does not serve the unchanged configuration");
  // Warm Ruby, facter and the page cache: the files are already in place, so nothing changes.
  const warm = await timedPuppetApply(ph, manifests["restart-back"], pLive(false), false);
  say(`puppet warm-up (no change): ${sec(warm.puppetSeconds)} s`);

  // Asked of whichever host serves now: each rebuild brings up a new host in another slot.
  const fLive = (changed: boolean) => () => {
    const web = readState(envLayout(STACK).state)!.hosts[webHost()]!;
    return liveCheck(change, app, web.ip, hostDirs({ dir: join(envLayout(STACK).hostsDir, web.name) }).merged, changed)();
  };
  const runs: Record<"restart" | "hup", PuppetRun[]> = { restart: [], hup: [] };
  const fawkes: RebuildRun[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    say(`round ${round}/${ROUNDS}: puppet (restart, HUP) and fawkes rebuild, forward and back`);
    for (const reload of ["restart", "hup"] as const) {
      runs[reload].push(await timedPuppetApply(ph, manifests[`${reload}-fwd`], pLive(true)));
      runs[reload].push(await timedPuppetApply(ph, manifests[`${reload}-back`], pLive(false)));
    }
    fawkes.push(await timedRebuild(change.changed, fLive(true)));
    fawkes.push(await timedRebuild(spec, fLive(false)));
  }
  const n = 2 * ROUNDS;
  const f = median(fawkes.map((r) => r.seconds));
  const line = (label: string, rs: PuppetRun[]) => {
    const m = median(rs.map((r) => r.seconds));
    const part = (k: "puppetSeconds" | "compile" | "apply") => sec(median(rs.map((r) => r[k] ?? NaN)));
    console.log(`  ${label}: ${sec(m)} s (${rs.map((r) => sec(r.seconds)).join(", ")})`);
    console.log(`    puppet apply process ${part("puppetSeconds")} s, of which catalog compile ${part("compile")} s and catalog apply (files + reloads) ${part("apply")} s`);
    return m;
  };
  console.log(`  medians of ${n} (the change and its revert, ${ROUNDS} times each), to the change live and the app answering 200:`);
  console.log(`  fawkes rebuild of the web host (new host beside the old, healthy, in rotation, change live): ${sec(f)} s (${fawkes.map((r) => sec(r.seconds)).join(", ")})`);
  const restart = line("puppet apply, files + nginx reload + supervisorctl restart", runs.restart);
  const hup = line("puppet apply, files + nginx reload + gunicorn HUP (no restart)", runs.hup);
  console.log(`  ratio rebuild / puppet (restart): ${(f / restart).toFixed(2)}; goal <= 0.5: ${f / restart <= 0.5 ? "met" : "NOT met"}`);
  console.log(`  ratio rebuild / puppet (HUP):     ${(f / hup).toFixed(2)}`);
}
