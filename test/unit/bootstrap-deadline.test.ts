// The bootstrap's own deadline (issue 16, finding 3): a host whose bootstrap hangs fails itself at
// rollout.bootSeconds less the report margin, so its failure report reaches the group before the
// grace period ends; lock waits are bounded by the same deadline, never by a constant of their own.
// The watchdog runs here in bash as rendered, around a step that hangs.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { BOOT_REPORT_MARGIN_SECONDS, planEnvironment } from "../../src/model/index.ts";
import { renderHostImage } from "../../src/render/index.ts";
import { testSumsOfHost } from "../helpers/release-sums.ts";

const ROOT = join(import.meta.dirname, "../..");

function bootstrapOf(stack: string, bootSeconds?: number): string {
  const spec = loadStack(ROOT, stack);
  const knobs = bootSeconds === undefined ? spec.knobs : { ...spec.knobs, rollout: { ...spec.knobs.rollout, bootSeconds } };
  const web = planEnvironment({ ...spec, knobs }).hosts.find((h) => h.role === "web")!;
  return renderHostImage(web, testSumsOfHost(web)).files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content;
}

const rendered = bootstrapOf("staging");

/** A shell function of the rendered bootstrap, as rendered. */
function fn(name: string): string {
  const m = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?\\n\\}\\n`, "m").exec(rendered);
  if (!m) throw new Error(`the bootstrap has no function ${name}`);
  return m[0];
}

/** The rendered watchdog, its trap and a `fail` that says how the bootstrap ended. */
function prelude(seconds: number): string {
  const trap = /^trap 'fail 124' USR1$/m.exec(rendered)?.[0];
  if (!trap) throw new Error("the bootstrap sets no USR1 trap for its deadline");
  return [
    "set -euo pipefail",
    `SELF_TIMEOUT_SECONDS=${seconds}`,
    "STEP=start",
    'log() { printf "log: %s\\n" "$*"; }',
    'fail() { deadline_stop; printf "failed %s in step %s\\n" "$1" "$STEP"; exit "$1"; }',
    fn("deadline_start"),
    fn("deadline_stop"),
    trap,
  ].join("\n");
}

async function run(body: string, seconds: number) {
  const script = `${prelude(seconds)}\n${body}`;
  // The watchdog's log line goes to the bootstrap's log file on a host; here log prints, and its stdout is /dev/null.
  const r = await execa("bash", ["--norc", "--noprofile", "-c", script], { env: { PATH: "/usr/bin:/bin" }, extendEnv: false, reject: false, all: true, stdin: "ignore", timeout: 60_000 });
  return { code: r.exitCode, out: r.all ?? "", timedOut: r.timedOut };
}

describe("the bootstrap's own deadline", () => {
  it("comes from rollout.bootSeconds: the bootstrap fails itself, and waits for a lock, at most bootSeconds less the report margin", () => {
    for (const bootSeconds of [180, 600, 1800]) {
      const text = bootstrapOf("staging", bootSeconds);
      expect(text).toContain(`readonly SELF_TIMEOUT_SECONDS=${bootSeconds - BOOT_REPORT_MARGIN_SECONDS}\n`);
      expect(text).toContain(`readonly LOCK_SECONDS=${bootSeconds - BOOT_REPORT_MARGIN_SECONDS}\n`);
    }
    // Started first thing, stopped only once the host is ready.
    const main = fn("main");
    expect(main.indexOf("deadline_start")).toBeGreaterThan(0);
    expect(main.indexOf("deadline_start")).toBeLessThan(main.indexOf("step select-target"));
    expect(main.indexOf("deadline_stop")).toBeLessThan(main.indexOf("bootstrap.done"));
    expect(main.indexOf("deadline_stop")).toBeGreaterThan(main.indexOf("check_health"));
  });

  it("fails a bootstrap stuck in a step when the deadline passes, in that step, ending what it waited on", async () => {
    const r = await run('deadline_start\nSTEP=blog/hooks\nsleep 50\necho "never reached"', 1);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(124);
    expect(r.out).toContain("failed 124 in step blog/hooks");
    expect(r.out).not.toContain("never reached");
  });

  it("spans both stages: stage 1 starts it, and stage 2 (which stage 1 execs, same pid) keeps that watchdog rather than starting afresh", async () => {
    const stagingWeb = planEnvironment(loadStack(ROOT, "staging")).hosts.find((h) => h.role === "web")!;
    const stage1 = renderHostImage(stagingWeb, testSumsOfHost(stagingWeb)).files.find((f) => f.path === "/usr/local/sbin/fawkes-boot")!.content;
    expect(stage1).toContain("readonly SELF_TIMEOUT_SECONDS=510\n");
    expect(stage1.indexOf("  deadline_start\n")).toBeGreaterThan(0);
    expect(stage1.indexOf("  deadline_start\n")).toBeLessThan(stage1.indexOf("  store_init\n"));
    // Stage 1 (deadline 2 s) has run 1 s when it execs stage 2, which hangs for 20 s: a watchdog of
    // stage 2's own (its deadline here 100 s) would let it finish; stage 1's fails it.
    const stage2 = `${prelude(100)}\ndeadline_start\nSTEP=shop/fetch\nsleep 20\necho "never reached"`;
    const dir = mkdtempSync(join(tmpdir(), "fawkes-deadline-"));
    try {
      writeFileSync(join(dir, "fawkes-bootstrap"), stage2);
      const r = await run(`deadline_start\nSTEP=bundle\nsleep 1\nexec bash --norc --noprofile ${dir}/fawkes-bootstrap`, 2);
      expect(r.timedOut).toBe(false);
      expect(r.code).toBe(124);
      expect(r.out).toContain("failed 124 in step shop/fetch");
      expect(r.out).not.toContain("never reached");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("never fires for a bootstrap that finished first, nor leaves its watchdog behind", async () => {
    const r = await run('deadline_start\nwatchdog=$DEADLINE_PID\nSTEP=ready\ndeadline_stop\nsleep 2\nif kill -0 "$watchdog" 2>/dev/null; then echo "watchdog alive"; fi\necho "host ready"', 1);
    expect(r.code).toBe(0);
    expect(r.out).toContain("host ready");
    expect(r.out).not.toContain("watchdog alive");
    expect(r.out).not.toContain("failed");
  });
});
