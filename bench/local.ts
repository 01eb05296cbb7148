// The local target's figures, measured side by side in one run on the dev stack: `local up` from
// nothing, `rebuild` of one host to healthy, memory per idle host, and one configuration change
// applied by fawkes (rebuild) and by Puppet (`puppet apply` in a host of the same image).
// The local target's figures, measured side by side in one run on the dev stack: `local up` from
// nothing, memory per idle host, `rebuild` of the web host to healthy, and one configuration
// change applied by fawkes (rebuild) and in place by Puppet and Ansible (bench/in-place-compare.ts).
import { existsSync, readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { artifactPaths, buildPinnedIfMissing, defaultStore } from "../src/artifact/index.ts";
import { loadStack, type EnvironmentSpec } from "../src/config/index.ts";
import { hostDirs } from "../src/local/host.ts";
import { ensureImage, envLayout, imageOf, localDown, localUp } from "../src/local/index.ts";
import { ansibleImage } from "./ansible.ts";
import { configChange, hostPssKb } from "./config-change.ts";
import { compareInPlace } from "./in-place-compare.ts";
import { goal, median, say, sec } from "./measure.ts";
import { puppetImage } from "./puppet.ts";
import { bootBreakdown, slowSteps, timedRebuild, webHost, type RebuildRun } from "./rebuild.ts";

const STACK = "dev";
const CHANGED_APP = "blog";
const REBUILDS = 5;
const IDLE_MS = 5000;
/** The figures issue 15 asks for. */
export const GOALS = { upSeconds: 5, webMiB: 121, rebuildSeconds: 1.5, rebuildStretchSeconds: 1.0 };

function hostMemory(stack: string, host: string): { mib: number; processes: number } {
  const { kb, processes } = hostPssKb(hostDirs({ dir: join(envLayout(stack).hostsDir, host) }).merged);
  return { mib: kb / 1024, processes };
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
  say("not timed: pinned releases, the golden image and its puppet and ansible variants (built once, cached)");
  await buildPinnedIfMissing(root, spec, say);
  const golden = await ensureImage(imageOf(spec.catalogue.image), say);
  const images = { puppet: await ensureImage(puppetImage(spec), say), ansible: await ensureImage(ansibleImage(spec), say) };
  const cleanup = async () => {
    await localDown(layout).catch((e: Error) => say(`localDown ${STACK} failed: ${e.message}`));
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    console.log(`\n${await header()}`);
    console.log(`  golden image ${golden.hash} (warm); puppet variant ${images.puppet.hash}, ansible variant ${images.ansible.hash}; the machine is shared and noisy: compare ratios`);
    const stale = staleArtifacts(spec, golden.hash);
    if (stale.length > 0) console.log(`  WARNING: ${stale.join(", ")} built in another image: each boot rebuilds the venv, and the boot figures below count it`);

    say(`local down ${STACK}, then local up ${STACK} from nothing`);
    await localDown(layout);
    const t0 = performance.now();
    const up = await localUp(spec);
    const upSeconds = (performance.now() - t0) / 1000;
    if (up.failed.length > 0) throw new Error(`local up ${STACK}: ${up.failed.map((f) => `${f.name} failed at ${f.failedStep}`).join(", ")}`);
    const hosts = Object.keys(up.state.hosts).sort();
    console.log(`  local up ${STACK} from nothing (${hosts.length} hosts, HAProxy, bridge): ${sec(upSeconds)} s; ${goal(`<= ${GOALS.upSeconds} s`, upSeconds <= GOALS.upSeconds)}`);

    await sleep(IDLE_MS);
    const mem = hosts.map((h) => ({ h, ...hostMemory(STACK, h) }));
    const web = mem.find((m) => m.h === webHost(STACK))!;
    console.log(`  memory per idle host (sum of Pss of its processes, ${IDLE_MS / 1000} s idle): ${mem.map((m) => `${m.h} ${m.mib.toFixed(1)} MiB (${m.processes} processes)`).join(", ")}`);
    console.log(`    idle web host ${web.mib.toFixed(1)} MiB; ${goal(`<= ${GOALS.webMiB} MiB`, web.mib <= GOALS.webMiB)}`);

    say(`rebuild the web host x${REBUILDS}`);
    const rebuilds: RebuildRun[] = [];
    for (let i = 0; i < REBUILDS; i++) rebuilds.push(await timedRebuild(spec));
    const rb = median(rebuilds.map((r) => r.seconds));
    const rh = median(rebuilds.map((r) => r.healthySeconds));
    const phase = (k: string) => sec(median(rebuilds.map((r) => r.phases[k]!)));
    console.log(
      `  rebuild of the web host to a new host healthy, median of ${REBUILDS}: ${sec(rh)} s (${rebuilds.map((r) => sec(r.healthySeconds)).join(", ")}); ` +
        `${goal(`<= ${GOALS.rebuildSeconds} s`, rh <= GOALS.rebuildSeconds)}; stretch <= ${GOALS.rebuildStretchSeconds} s: ${rh <= GOALS.rebuildStretchSeconds ? "met" : "NOT met"}`,
    );
    console.log(`  rebuild of the web host to a new host healthy and in rotation, median of ${REBUILDS}: ${sec(rb)} s (${rebuilds.map((r) => sec(r.seconds)).join(", ")})`);
    console.log(`    phases (medians, s): start ${phase("start")}, boot+health ${phase("boot")}, rotation ${phase("rotation")}; then, off that path, drain and stop of the old host ${phase("retireOld")}`);
    const bd = bootBreakdown(STACK, webHost(STACK));
    console.log(
      `    in-host boot (cloud-init --all-stages), median ${sec(median(rebuilds.map((r) => r.bootSeconds)))} s` +
        (bd ? `; last one: ${sec(bd.total!)} s = cloud-init start-up ${sec(bd.startup!)} + fawkes-bootstrap ${sec(bd.bootstrap!)} + cloud-init modules, stage releases and exit ${sec(bd.modules!)}` : ""),
    );
    console.log(`    bootstrap steps of 50 ms or more in the last one: ${slowSteps(STACK, webHost(STACK)).join(", ") || "none"}`);

    await compareInPlace(spec, change, images, up.state.subnet);
  } finally {
    say(`local down ${STACK}`);
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Pinned releases whose venv was built in another image than `image` (their manifest says which). */
function staleArtifacts(spec: EnvironmentSpec, image: string): string[] {
  return spec.catalogue.apps.flatMap((a) => {
    const release = spec.knobs.releases[a.name]!;
    const info = artifactPaths(defaultStore(), a.name, release).buildInfo;
    const built = existsSync(info) ? (JSON.parse(readFileSync(info, "utf8")) as { image?: string }).image : undefined;
    return built !== undefined && built !== image ? [`${a.name} ${release} (image ${built})`] : [];
  });
}
