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

export async function awsRelease(req: ReleaseRequest): Promise<HistoryEntry> {
  const spec = loadStack(req.root, req.stack);
  if (!spec.catalogue.apps.some((a) => a.name === req.app)) throw new LocalTargetError(`no app "${req.app}" in the catalogue`);
  const from = spec.knobs.releases[req.app];
  return recorded({ stack: req.stack, kind: req.kind, target: "aws", command: req.command, app: req.app, from, to: req.release }, req.echo ?? (() => {}), async (log) => {
    pinUnchanged(req, from);
    const pin = setReleasePin(req.root, req.stack, req.app, req.release);
    log.progress(`${pin.file}: ${req.app} pinned to ${req.release}`);
    const [cmd, ...args] = pulumiUpArgv(req.stack);
    const up = execa(cmd!, args, { cwd: req.root, reject: false, all: true, stdin: "ignore" });
    up.all?.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n")) if (line.trim() !== "") log.progress(line);
    });
    const r = await up;
    if (r.exitCode === 0) return { hostsReplaced: [], result: "succeeded" };
    if (from !== undefined) setReleasePin(req.root, req.stack, req.app, from);
    const why = r.failed && r.exitCode === undefined ? `could not run pulumi (${r.shortMessage}); install the Pulumi CLI` : `pulumi up exited ${r.exitCode}`;
    return {
      hostsReplaced: [],
      result: "failed",
      failure: `${why}. The pin is restored to ${from}; an instance refresh that failed its health checks rolls back by itself (autoRollback). Its state: aws autoscaling describe-instance-refreshes; the run's output: ${log.dir}/rollout.log`,
    };
  });
}
