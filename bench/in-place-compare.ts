// One configuration change, forward and back, applied three ways side by side: a fawkes rebuild
// of the web host, `puppet apply` and `ansible-playbook` in place, each tool in its own host of
// the same image booted from the same user-data. Interleaved per round, so noise hits all alike.
import { join } from "node:path";
import type { EnvironmentSpec } from "../src/config/index.ts";
import { hostDirs } from "../src/local/host.ts";
import type { GoldenImage } from "../src/local/image.ts";
import { envLayout } from "../src/local/index.ts";
import { readState } from "../src/local/state.ts";
import { planEnvironment } from "../src/model/index.ts";
import { ansiblePlaybook, timedAnsiblePlaybook } from "./ansible.ts";
import { appOnWeb, type ConfigChange } from "./config-change.ts";
import { BENCH_DIR, bootToolHost, putFile, toolVersion, type Reload, type ToolHost, type ToolRun } from "./in-place.ts";
import { goal, median, say, sec } from "./measure.ts";
import { puppetManifest, timedPuppetApply } from "./puppet.ts";
import { liveCheck, timedRebuild, webHost, type RebuildRun } from "./rebuild.ts";

const ROUNDS = 3;
const RELOADS = ["restart", "hup"] as const;
/** Issue 15: a rebuild within Puppet's half, and no slower than Ansible. */
const GOAL_RATIO = { puppet: 0.5, ansible: 1.0 };

type Direction = "fwd" | "back";
type Run = ToolRun & { detail: string };

/** A tool as the comparison drives it: its input per reload and direction, and one timed run. */
interface Side {
  tool: "puppet" | "ansible";
  host: ToolHost;
  version: string;
  label: string;
  inputs: Record<`${Reload}-${Direction}`, string>;
  run(input: string, live: () => Promise<boolean>, expectChanges: boolean): Promise<Run>;
}

/** What differs between the tools: their input's file type and renderer, their packages, one timed run. */
const TOOLS = {
  puppet: {
    ext: "pp",
    render: puppetManifest,
    packages: ["puppet-agent"],
    label: "puppet apply",
    run: async (host: ToolHost, input: string, live: () => Promise<boolean>, expectChanges: boolean): Promise<Run> => {
      const r = await timedPuppetApply(host, input, live, expectChanges);
      return { ...r, detail: `catalog compile ${sec(r.compile ?? NaN)} s, catalog apply (files + reloads) ${sec(r.apply ?? NaN)} s` };
    },
  },
  ansible: {
    ext: "yml",
    render: ansiblePlaybook,
    packages: ["ansible", "ansible-core"],
    label: "ansible-playbook -c local",
    run: async (host: ToolHost, input: string, live: () => Promise<boolean>, expectChanges: boolean): Promise<Run> => {
      const r = await timedAnsiblePlaybook(host, input, live, expectChanges);
      return { ...r, detail: `${r.changed} tasks and handlers changed` };
    },
  },
} as const;

/** A tool's side: its four inputs (restart or HUP, forward or back) written into its host. */
async function sideOf(tool: Side["tool"], host: ToolHost, change: ConfigChange, spec: EnvironmentSpec): Promise<Side> {
  const t = TOOLS[tool];
  const plan = planEnvironment(spec).hosts.find((h) => h.role === "web")!;
  const put = (reload: Reload, d: Direction) => putFile(host, `${BENCH_DIR}/${reload}-${d}.${t.ext}`, t.render(d === "fwd" ? change.after : change.before, plan, reload));
  const versions = await Promise.all(t.packages.map((p) => toolVersion(host, p)));
  return {
    tool,
    host,
    version: versions.join(", "),
    label: t.label,
    inputs: { "restart-fwd": put("restart", "fwd"), "restart-back": put("restart", "back"), "hup-fwd": put("hup", "fwd"), "hup-back": put("hup", "back") },
    run: (input, live, expectChanges) => t.run(host, input, live, expectChanges),
  };
}

const RELOAD_LABEL: Record<Reload, string> = { restart: "files + nginx reload + supervisorctl restart", hup: "files + nginx reload + gunicorn HUP (no restart)" };

/** The comparison: boots the tools' hosts into the stack, runs the rounds, prints medians and ratios with their goals. */
export async function compareInPlace(spec: EnvironmentSpec, change: ConfigChange, images: Record<"puppet" | "ansible", GoldenImage>, subnet: string): Promise<void> {
  const stack = spec.stack;
  console.log(`configuration change: ${change.summary}; files ${change.after.map((f) => f.path).join(", ")}`);
  const app = appOnWeb(spec, change.app);
  const live = (host: ToolHost, changed: boolean) => liveCheck(change, app, host.slot.ip, host.merged, changed);
  const sides: Side[] = [];
  for (const tool of ["puppet", "ansible"] as const) {
    say(`booting the ${tool} host (same user-data as the web host, image + ${tool})`);
    const host = await bootToolHost(spec, images[tool], subnet, tool);
    const side = await sideOf(tool, host, change, spec);
    if (!(await live(host, false)())) throw new Error(`the ${tool} host does not serve the unchanged configuration`);
    // Warm the tool's runtime, its facts and the page cache: the files are in place, nothing changes.
    const warm = await side.run(side.inputs["restart-back"], live(host, false), false);
    say(`${tool} warm-up (no change): ${sec(warm.toolSeconds)} s`);
    sides.push(side);
  }
  console.log(`  in-place hosts: ${sides.map((s) => `${s.version} (image ${images[s.tool].hash}, booted in ${sec(s.host.bootSeconds)} s)`).join("; ")}`);

  // Asked of whichever host serves now: each rebuild brings up a new host in another slot.
  const fLive = (changed: boolean) => () => {
    const web = readState(envLayout(stack).state)!.hosts[webHost(stack)]!;
    return liveCheck(change, app, web.ip, hostDirs({ dir: join(envLayout(stack).hostsDir, web.name) }).merged, changed)();
  };
  const runs = new Map<string, Run[]>(sides.flatMap((s) => RELOADS.map((r) => [`${s.tool}-${r}`, []] as [string, Run[]])));
  const fawkes: RebuildRun[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    say(`round ${round}/${ROUNDS}: ${sides.map((s) => s.tool).join(", ")} (restart, HUP) and a fawkes rebuild, forward and back`);
    for (const s of sides) {
      for (const reload of RELOADS) {
        runs.get(`${s.tool}-${reload}`)!.push(await s.run(s.inputs[`${reload}-fwd`], live(s.host, true), true));
        runs.get(`${s.tool}-${reload}`)!.push(await s.run(s.inputs[`${reload}-back`], live(s.host, false), true));
      }
    }
    fawkes.push(await timedRebuild(change.changed, fLive(true)));
    fawkes.push(await timedRebuild(spec, fLive(false)));
  }

  const f = median(fawkes.map((r) => r.seconds));
  console.log(`  medians of ${2 * ROUNDS} (the change and its revert, ${ROUNDS} times each), to the change live and the app answering 200:`);
  console.log(`  fawkes rebuild of the web host (new host beside the old, healthy, in rotation, change live): ${sec(f)} s (${fawkes.map((r) => sec(r.seconds)).join(", ")})`);
  const medians = new Map<string, number>();
  for (const s of sides) {
    for (const reload of RELOADS) {
      const rs = runs.get(`${s.tool}-${reload}`)!;
      const m = median(rs.map((r) => r.seconds));
      medians.set(`${s.tool}-${reload}`, m);
      console.log(`  ${s.label}, ${RELOAD_LABEL[reload]}: ${sec(m)} s (${rs.map((r) => sec(r.seconds)).join(", ")})`);
      console.log(`    ${s.tool} process ${sec(median(rs.map((r) => r.toolSeconds)))} s (median); last run: ${rs.at(-1)!.detail}`);
    }
  }
  for (const s of sides) {
    for (const reload of RELOADS) {
      const ratio = f / medians.get(`${s.tool}-${reload}`)!;
      const target = GOAL_RATIO[s.tool];
      const g = reload === "restart" || s.tool === "ansible" ? `; ${goal(`<= ${target.toFixed(1)}`, ratio <= target)}` : "";
      const label = `ratio rebuild / ${s.tool} (${reload === "hup" ? "HUP" : reload}):`;
      console.log(`  ${label.padEnd(36)}${ratio.toFixed(2)}${g}`);
    }
  }
}
