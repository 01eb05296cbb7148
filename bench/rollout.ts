// Rollout figures: a release of the blog (v1 -> v2) over 1, 2 and 4 web hosts, under load on
// every app through HAProxy; failed requests and latency during the rollout against the steady
// state just before it; and at 1 web host, the same change deployed by Capistrano to a host of
// its own under the same load (bench/capistrano.ts). Measured side by side in one run.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { loadStack } from "../src/config/index.ts";
import { ensureImage, envLayout, localDown, localUp } from "../src/local/index.ts";
import { runLoad, startLoad, type LoadOptions, type LoadReport } from "../src/local/load.ts";
import { readState } from "../src/local/state.ts";
import { historyFile, lockFile, readHistory } from "../src/release/index.ts";
import { makeRolloutProject } from "../test/helpers/rollout-project.ts";
import { capistranoImage, prepareCapistrano, type CapistranoDeploy, type CapistranoTarget } from "./capistrano.ts";
import { goal, say } from "./measure.ts";
import { slowSteps, webHost } from "./rebuild.ts";

const STACK = "benchroll";
const SIZES = [1, 2, 4];
const STEADY_SECONDS = 5;
/** The same pacing at every size: a canary, then batches of half the fleet, a surge of half. */
const ROLLOUT = { canaryPercent: 25, batchPercent: 50, minHealthyPercent: 100, maxHealthyPercent: 150, warmupSeconds: 2, checkpointDelaySeconds: 2 };

const ms = (x: number) => x.toFixed(1);

function loadOptions(port: number): LoadOptions {
  return {
    port,
    targets: [
      { name: "shop", host: `shop.${STACK}.localhost`, path: "/" },
      { name: "blog", host: `blog.${STACK}.localhost`, path: "/" },
    ],
    concurrency: 4,
    maxRequests: 1_000_000,
    maxSeconds: 600,
  };
}

interface SizeRun {
  hosts: number;
  seconds: number;
  steady: LoadReport;
  during: LoadReport;
  batches: number;
  /** Checkpoints the rollout held (its progress says each). */
  checkpoints: number;
  /** Where the time went, from the rollout's own log (millisecond stamps). */
  phases: string;
  /** The new web host's slow bootstrap steps (1 web host only: read before the stack goes down). */
  slowSteps: string[];
}

/** The rollout log's stamped lines in phases: before the first boot, boots to healthy, to in service, the old hosts' retirement. */
function phasesOf(logDir: string): string {
  const lines = readFileSync(join(logDir, "rollout.log"), "utf8").split("\n").map((l) => ({ at: Date.parse(l.slice(0, 24)), text: l.slice(25) }));
  const first = (re: RegExp) => lines.find((l) => re.test(l.text))?.at ?? NaN;
  const last = (re: RegExp) => lines.findLast((l) => re.test(l.text))?.at ?? NaN;
  const t = { start: lines[0]!.at, boot: first(/: booting \(/), healthy: last(/: healthy in /), service: last(/ in service$/), end: last(/^release succeeded/) };
  const d = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
  return `to the first boot ${d(t.start, t.boot)} s, boot with the release hooks to healthy ${d(t.boot, t.healthy)} s, rotation and warm-up ${d(t.healthy, t.service)} s, the old host drained and stopped ${d(t.service, t.end)} s`;
}

export async function benchRollout(): Promise<void> {
  say("not timed: a project with blog v1 and v2 built (git repository of this one's committed files)");
  const project = await makeRolloutProject();
  const layout = envLayout(STACK);
  const runs: SizeRun[] = [];
  let target: CapistranoTarget | undefined;
  let deploy: CapistranoDeploy | undefined;
  try {
    say("not timed: the golden image's capistrano variant (built once, cached)");
    project.writeStack(STACK, { web: 1, worker: 1 }, ROLLOUT);
    const capImage = await ensureImage(capistranoImage(loadStack(project.root, STACK)), say);
    for (const hosts of SIZES) {
      await localDown(layout);
      rmSync(historyFile(STACK), { force: true });
      rmSync(lockFile(STACK), { force: true });
      project.writeStack(STACK, { web: hosts, worker: 1 }, ROLLOUT);
      say(`${hosts} web hosts: local up (not timed)`);
      const spec = loadStack(project.root, STACK);
      const up = await localUp(spec);
      if (up.failed.length > 0) throw new Error(`local up ${STACK}: ${up.failed.map((f) => `${f.name} at ${f.failedStep}`).join(", ")}`);
      const opts = loadOptions(readState(layout.state)!.port);
      if (hosts === 1) {
        say("capistrano: booting its host (the web user-data, image + capistrano), its HAProxy, a first deploy of blog v1 (not timed)");
        target = await prepareCapistrano(spec, capImage, up.state.subnet, "blog", [project.ids.blog1, project.ids.blog2]);
        await target.inRotation(false);
      }
      const steady = await runLoad({ ...opts, maxSeconds: STEADY_SECONDS });
      say(`${hosts} web hosts: release blog ${project.ids.blog1} -> ${project.ids.blog2} under load`);
      const traffic = startLoad(opts);
      const t0 = performance.now();
      const r = await project.fawkes("release", "blog", project.ids.blog2, "--stack", STACK);
      const seconds = (performance.now() - t0) / 1000;
      const during = await traffic.stop();
      if (r.code !== 0) throw new Error(`release on ${hosts} web hosts failed (exit ${r.code}):\n${r.out}\n${r.err.split("\n").slice(-15).join("\n")}`);
      const log = readHistory(STACK).at(-1)!;
      const batches = (r.err.match(/^web (canary|batch \d+\/\d+): replacing/gm) ?? []).length;
      const checkpoints = (r.err.match(/^web checkpoint: watching/gm) ?? []).length;
      const slow = hosts === 1 ? slowSteps(STACK, webHost(STACK), 200) : [];
      runs.push({ hosts, seconds, steady, during, batches, checkpoints, phases: phasesOf(log.logs), slowSteps: slow });
      say(`${hosts} web hosts: ${seconds.toFixed(1)} s, ${during.failed} failed of ${during.requests}; logs ${log.logs}`);
      if (target && !deploy) {
        say(`capistrano: deploy blog ${project.ids.blog2} under load`);
        await target.inRotation(true);
        deploy = await target.deployUnderLoad((port) => loadOptions(port));
        say(`capistrano: ${deploy.capSeconds.toFixed(1)} s, ${deploy.load.failed} failed of ${deploy.load.requests}`);
      }
    }
  } finally {
    await localDown(layout);
    rmSync(historyFile(STACK), { force: true });
    project.remove();
  }
  console.log(`\nrollout: release of the blog over N web hosts (+1 worker, untouched), under load on both apps (4 connections) through HAProxy`);
  console.log(`  pacing: canary 25%, batches 50%, min healthy 100%, max healthy 150%, warmup ${ROLLOUT.warmupSeconds} s, checkpoint ${ROLLOUT.checkpointDelaySeconds} s`);
  for (const r of runs) {
    console.log(
      `  ${r.hosts} web host${r.hosts === 1 ? " " : "s"}: ${r.seconds.toFixed(1)} s in ${r.batches} batches; failed requests ${r.during.failed} of ${r.during.requests} (goal 0); ` +
        `p50 ${ms(r.during.p50)} ms / p99 ${ms(r.during.p99)} ms during, against ${ms(r.steady.p50)} / ${ms(r.steady.p99)} ms steady (p99 ratio ${(r.during.p99 / r.steady.p99).toFixed(2)})`,
    );
  }
  const first = runs[0]!;
  for (const r of runs.slice(1)) console.log(`  duration ${r.hosts} hosts / 1 host: ${(r.seconds / first.seconds).toFixed(2)}`);
  if (target && deploy) printCapistrano(first, target, deploy);
}

/** How long requests kept failing: from the first failed request to the last (the load is closed-loop, so a fast error makes many). */
function failing(report: LoadReport): string {
  const failed = report.samples.filter((x) => x.status === 0 || x.status >= 500);
  if (failed.length === 0) return "none failed";
  return `failing for ${((failed.at(-1)!.at - failed[0]!.at) / 1000).toFixed(1)} s (statuses ${[...new Set(failed.map((x) => x.status))].sort().join(", ")})`;
}

/** fawkes' rollout at 1 web host beside Capistrano's deploy of the same change, under the same load. */
function printCapistrano(fawkes: SizeRun, target: CapistranoTarget, cap: CapistranoDeploy): void {
  const waits = fawkes.batches * ROLLOUT.warmupSeconds + fawkes.checkpoints * ROLLOUT.checkpointDelaySeconds;
  const beyond = fawkes.seconds - waits;
  const s = (x: number | undefined) => (x === undefined ? "?" : x.toFixed(1));
  console.log(`\nrelease of the blog (v1 -> v2, its migration included) to 1 web host under the same load (4 connections, both apps, through HAProxy): fawkes beside ${target.version}`);
  console.log(
    `  fawkes release: ${s(fawkes.seconds)} s, of which pacing waits ${waits} s (warm-up ${ROLLOUT.warmupSeconds} s x ${fawkes.batches} batch${fawkes.batches === 1 ? "" : "es"}, ` +
      `checkpoint ${ROLLOUT.checkpointDelaySeconds} s x ${fawkes.checkpoints}): ${s(beyond)} s beyond them; failed requests ${fawkes.during.failed} of ${fawkes.during.requests}, ${failing(fawkes.during)}; ${goal("0 failed", fawkes.during.failed === 0)}`,
  );
  console.log(
    `  capistrano deploy + supervisorctl restart (cap production deploy, on the host, SSHKit local backend): ${s(cap.capSeconds)} s (migrate ${s(cap.migrateSeconds)} s, restart ${s(cap.restartSeconds)} s); ` +
      `to the new release answering through HAProxy ${s(cap.liveSeconds)} s; failed requests ${cap.load.failed} of ${cap.load.requests} (blog ${cap.load.byTarget.blog?.failed ?? 0}, shop ${cap.load.byTarget.shop?.failed ?? 0}), ${failing(cap.load)}`,
  );
  console.log(`    fawkes' phases (its rollout log): ${fawkes.phases}`);
  console.log(`    the new host's bootstrap steps of 200 ms or more: ${fawkes.slowSteps.join(", ") || "none"}`);
  const ratio = beyond / cap.capSeconds;
  console.log(`  ratio fawkes beyond its waits / capistrano deploy + restart: ${ratio.toFixed(2)}; ${goal("<= 1.0", ratio <= 1)}`);
}
