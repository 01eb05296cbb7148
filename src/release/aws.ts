// `fawkes release --target aws`: the pin, then `pulumi up`. The new user-data makes a new
// launch-template version, and the auto scaling group's instance refresh replaces hosts with the
// stack's rollout knobs and auto-rollback on (components/fleet.ts).
import { execa } from "execa";
import { loadStack, setReleasePin } from "../config/index.ts";
import { LocalTargetError } from "../local/fleet.ts";
import type { HistoryEntry } from "./history.ts";
import { pinUnchanged, type ReleaseRequest } from "./local.ts";
import { recorded } from "./record.ts";

/** The command that applies a stack: no prompt, no interactive display, its own diff printed. */
export function pulumiUpArgv(stack: string): string[] {
  return ["pulumi", "up", "--stack", stack, "--yes", "--non-interactive", "--diff"];
}

/** Runs `pulumi up`, streaming its lines; a test replaces it with a recording double. */
export type PulumiRunner = (argv: readonly string[], cwd: string, line: (l: string) => void) => Promise<{ exitCode?: number; error?: string }>;

export const runPulumi: PulumiRunner = async (argv, cwd, line) => {
  const [cmd, ...args] = argv;
  const run = execa(cmd!, args, { cwd, reject: false, all: true, stdin: "ignore" });
  run.all?.on("data", (d: Buffer) => {
    for (const l of d.toString().split("\n")) if (l.trim() !== "") line(l);
  });
  const r = await run;
  return r.failed && r.exitCode === undefined ? { error: (r.shortMessage ?? "pulumi did not start").replace(/\s*\n\s*/g, "; ") } : { exitCode: r.exitCode ?? 1 };
};

/** Why a `pulumi up` failed, in words: it could not start (no CLI), or its exit code. */
export function pulumiFailure(r: { exitCode?: number; error?: string }): string {
  return r.error !== undefined ? `could not run pulumi (${r.error}); install the Pulumi CLI` : `pulumi up exited ${r.exitCode}`;
}

export async function awsRelease(req: ReleaseRequest): Promise<HistoryEntry> {
  const spec = loadStack(req.root, req.stack);
  if (!spec.catalogue.apps.some((a) => a.name === req.app)) throw new LocalTargetError(`no app "${req.app}" in the catalogue`);
  const from = spec.knobs.releases[req.app];
  return recorded({ stack: req.stack, kind: req.kind, target: "aws", command: req.command, app: req.app, from, to: req.release }, req.echo ?? (() => {}), async (log) => {
    pinUnchanged(req, from);
    const pin = setReleasePin(req.root, req.stack, req.app, req.release);
    log.progress(`${pin.file}: ${req.app} pinned to ${req.release}`);
    const r = await runPulumi(pulumiUpArgv(req.stack), req.root, log.progress);
    if (r.exitCode === 0) return { hostsReplaced: [], result: "succeeded" };
    if (from !== undefined) setReleasePin(req.root, req.stack, req.app, from);
    const why = pulumiFailure(r);
    return {
      hostsReplaced: [],
      result: "failed",
      failure: `${why}. The pin is restored to ${from}; an instance refresh that failed its health checks rolls back by itself (autoRollback). Its state: aws autoscaling describe-instance-refreshes; the run's output: ${log.dir}/rollout.log`,
    };
  });
}
