// Rollout figures: a release of the blog (v1 -> v2) over 1, 2 and 4 web hosts, under load on
// every app through HAProxy; failed requests and latency during the rollout against the steady
// state just before it, measured side by side in one run.
import { rmSync } from "node:fs";
import { loadStack } from "../src/config/index.ts";
import { envLayout, localDown, localUp } from "../src/local/index.ts";
import { runLoad, startLoad, type LoadOptions, type LoadReport } from "../src/local/load.ts";
import { readState } from "../src/local/state.ts";
import { historyFile, lockFile, readHistory } from "../src/release/index.ts";
import { makeRolloutProject } from "../test/helpers/rollout-project.ts";

const STACK = "benchroll";
const SIZES = [1, 2, 4];
const STEADY_SECONDS = 5;
/** The same pacing at every size: a canary, then batches of half the fleet, a surge of half. */
const ROLLOUT = { canaryPercent: 25, batchPercent: 50, minHealthyPercent: 100, maxHealthyPercent: 150, warmupSeconds: 2, checkpointDelaySeconds: 2 };

const say = (m: string) => process.stderr.write(`bench: ${m}\n`);
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
}

export async function benchRollout(): Promise<void> {
  say("not timed: a project with blog v1 and v2 built (git repository of this one's committed files)");
  const project = await makeRolloutProject();
  const layout = envLayout(STACK);
  const runs: SizeRun[] = [];
  try {
    for (const hosts of SIZES) {
      await localDown(layout);
      rmSync(historyFile(STACK), { force: true });
      rmSync(lockFile(STACK), { force: true });
      project.writeStack(STACK, { web: hosts, worker: 1 }, ROLLOUT);
      say(`${hosts} web hosts: local up (not timed)`);
      const up = await localUp(loadStack(project.root, STACK));
      if (up.failed.length > 0) throw new Error(`local up ${STACK}: ${up.failed.map((f) => `${f.name} at ${f.failedStep}`).join(", ")}`);
      const opts = loadOptions(readState(layout.state)!.port);
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
      runs.push({ hosts, seconds, steady, during, batches });
      say(`${hosts} web hosts: ${seconds.toFixed(1)} s, ${during.failed} failed of ${during.requests}; logs ${log.logs}`);
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
}
