// `fawkes release|rollback --target twin`: the AWS release, unchanged (src/release/aws.ts: the check
// against AWS, the pin, `pulumi up`, fawkes' own instance refreshes), against the stack's twin:
// moto answers the SDK, the twin plays `pulumi up` (src/twin/apply.ts) and Auto Scaling's
// refreshes (src/twin/refresh.ts). Its history is the twin's (in its dir) and its deploy lock the
// `deploy` item of the twin's lock table in moto, never those of the stack on AWS or locally.
import { loadStack } from "../config/index.ts";
import { awsRelease } from "../release/aws.ts";
import type { HistoryEntry } from "../release/history.ts";
import type { ReleaseRequest } from "../release/local.ts";
import { twinPulumi, twinOutputs } from "./apply.ts";
import { twinContext } from "./fleet.ts";
import { twinFleet } from "./refresh.ts";
import { twinLayout } from "./layout.ts";

/** Where the twin of a stack keeps its history and rollout logs: the fawkes home of its releases. */
export function twinHome(stack: string, home?: string): string {
  return twinLayout(stack, home).dir;
}

export async function twinRelease(req: Omit<ReleaseRequest, "home">, opts: { wait?: boolean; home?: string } = {}): Promise<HistoryEntry> {
  const ctx = twinContext(loadStack(req.root, req.stack), { ...(opts.home !== undefined ? { home: opts.home } : {}), ...(req.echo ? { progress: req.echo } : {}) });
  const fleet = twinFleet(ctx);
  try {
    return await awsRelease({ ...req, home: ctx.layout.dir }, { wait: opts.wait === true }, { pulumi: twinPulumi(ctx), outputs: twinOutputs(ctx), fleet, target: "twin" });
  } finally {
    // A refresh fawkes stopped watching still ends (and leaves the twin's hosts consistent) before this returns.
    await fleet.settled();
  }
}
