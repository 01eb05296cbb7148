// `fawkes release` and `fawkes rollback` on the local target: pin, roll out by the stack's
// policy, roll back automatically when a batch fails its health gate, record it all.
import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { AppTreeError, readAppFile } from "../app-tree/index.ts";
import { join } from "node:path";
import { artifactPaths } from "../artifact/store.ts";
import { loadStack, setReleasePin, type EnvironmentSpec } from "../config/index.ts";
import { batchesOf, ROLES, rolloutPolicy, type Role } from "../model/index.ts";
import { envOf, LocalTargetError, type Env } from "../local/fleet.ts";
import { fawkesHome } from "../local/image.ts";
import { envLayout } from "../local/layout.ts";
import { admitHosts, fillRole, hostsOf, isRunning, replaceHosts, RolloutFailure, type RolloutContext } from "../local/rollout.ts";
import { readState } from "../local/state.ts";
import { prepareEnvironment, requireLocalTarget } from "../local/up.ts";
import { previousRelease, readHistory, type HistoryEntry, type HistoryKind } from "./history.ts";
import { recorded, type WorkLog, type WorkOutcome } from "./record.ts";

export interface ReleaseRequest {
  root: string;
  stack: string;
  app: string;
  release: string;
  kind: Extract<HistoryKind, "release" | "rollback">;
  /** The command line, for the lock and the history. */
  command: string;
  echo?: (line: string) => void;
  home?: string;
  /** Who asked, when not this process's user: the deploy console's signed-in user. */
  who?: string;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function userDataSha(env: Env, role: Role): string | undefined {
  const img = env.images.find((i) => i.role === role);
  return img ? sha256(img.userDataBytes) : undefined;
}

/** Checks that change nothing: the app, the local environment, the artifact. */
function preflight(spec: EnvironmentSpec, req: ReleaseRequest): void {
  const apps = spec.catalogue.apps.map((a) => a.name);
  if (!apps.includes(req.app)) throw new LocalTargetError(`no app "${req.app}" in the catalogue; apps: ${apps.join(", ")}`);
  const layout = envLayout(req.stack);
  if (!readState(layout.state)) throw new LocalTargetError(`stack ${req.stack} is not up locally; run fawkes local up --stack ${req.stack} first`);
  const paths = artifactPaths(layout.artifacts, req.app, req.release);
  if (!existsSync(paths.tarball) || !existsSync(paths.sha256)) {
    throw new LocalTargetError(`release ${req.release} of ${req.app} is not in the artifact store (${paths.tarball}); build it with: fawkes build ${req.app} --ref <commit>`);
  }
}

/** Read again under the lock: another rollout may have finished between the first read and the lock. */
export function pinUnchanged(req: Pick<ReleaseRequest, "root" | "stack" | "app">, from: string | undefined): void {
  const now = loadStack(req.root, req.stack).knobs.releases[req.app];
  if (now !== from) throw new LocalTargetError(`the pin of ${req.app} in ${req.stack} changed from ${from} to ${now} while this command started; nothing was changed: run it again`);
}

/** The release to go back to: `--to`, else the one before the current in the stack's history. */
export function rollbackTarget(root: string, stack: string, app: string, to: string | undefined, home = fawkesHome()): { from: string; to: string } {
  const spec = loadStack(root, stack);
  const current = spec.knobs.releases[app];
  if (current === undefined) throw new LocalTargetError(`no app "${app}" pinned in stack ${stack}`);
  if (to !== undefined) return { from: current, to };
  const previous = previousRelease(readHistory(stack, home), app, current);
  if (previous === undefined) {
    throw new LocalTargetError(`the history of ${stack} has no release of ${app} before ${current}; name one with --to RELEASE_ID (fawkes history --stack ${stack} --app ${app})`);
  }
  return { from: current, to: previous };
}

/**
 * Replaces every running host of the touched roles whose user-data is not the target's, batch by
 * batch, then boots any host missing from a role's desired size. Returns the hosts replaced.
 */
async function rollTo(ctx: RolloutContext, roles: readonly Role[], opts: { canary: boolean }): Promise<string[]> {
  const { env } = ctx;
  const rollout = env.spec.knobs.rollout;
  const replaced: string[] = [];
  for (const role of roles) {
    const want = userDataSha(env, role);
    const running = hostsOf(ctx.state, role).filter((h) => isRunning(ctx, h) && h.healthy);
    const stale = running.filter((h) => h.userDataSha !== want).map((h) => h.name);
    const policy = rolloutPolicy(env.plan.hosts.find((p) => p.role === role)!.fleet.desired, rollout);
    // A canary even when the fleet is short of a host: replaceHosts stops when the names run out.
    const steps = opts.canary ? policy.steps : batchesOf(stale.length, policy).map((hosts) => ({ hosts, checkpoint: false }));
    if (stale.length > 0) {
      try {
        replaced.push(...(await replaceHosts(ctx, role, stale, { steps, warmupMs: rollout.warmupSeconds * 1000, checkpointMs: opts.canary ? rollout.checkpointDelaySeconds * 1000 : 0 })).replaced);
      } catch (e) {
        if (e instanceof RolloutFailure) e.replaced.unshift(...replaced);
        throw e;
      }
    }
    const missing = policy.size - hostsOf(ctx.state, role).filter((h) => isRunning(ctx, h) && h.healthy).length;
    if (missing > 0) {
      ctx.progress(`${role}: ${missing} hosts missing from the desired ${policy.size}: booting them`);
      await fillRole(ctx, role, missing, replaced);
    }
  }
  return replaced;
}

/** Copies the release hooks' output, kept on the app's shared storage, into the rollout's logs. */
function keepHookLog(env: Env, app: string, release: string, log: WorkLog): void {
  const shared = join(env.layout.sharedDir, app);
  const rel = join(".fawkes", "hooks", `${release}.log`);
  if (!existsSync(join(shared, rel))) return;
  // The app's shared dir: a link planted there is not followed (the rollout's log says so).
  try {
    writeFileSync(join(log.dir, `hooks-${app}-${release}.log`), readAppFile(shared, rel), { mode: 0o600 });
  } catch (e) {
    if (!(e instanceof AppTreeError)) throw e;
    log.progress(`the hooks' output of ${app} ${release} not kept: ${e.message}`);
  }
}

/**
 * Rolls one app of a local stack to a release: the pin is written to the stack file, hosts of
 * every role running the app are replaced by the stack's rollout policy (canary, health gate,
 * batches, drain). When a batch fails, the pin is restored and the roles are rolled back to
 * the previous release the same way; the result is then `rolled-back`.
 */
export async function localRelease(req: ReleaseRequest): Promise<HistoryEntry> {
  const echo = req.echo ?? (() => {});
  const before = loadStack(req.root, req.stack);
  await requireLocalTarget();
  preflight(before, req);
  const from = before.knobs.releases[req.app];
  return recorded({ stack: req.stack, kind: req.kind, target: "local", command: req.command, app: req.app, from, to: req.release, ...(req.who !== undefined ? { who: req.who } : {}) }, echo, async (log): Promise<WorkOutcome> => {
    pinUnchanged(req, from);
    // Before the pin moves: the running releases' sums, read from the store, for a rollback to pin.
    const oldEnv = await envOf(before);
    const pin = setReleasePin(req.root, req.stack, req.app, req.release);
    log.progress(`${pin.file}: ${req.app} pinned to ${req.release} (was ${pin.previous ?? "unpinned"})`);
    let ctx: RolloutContext | undefined;
    let touched: Role[] = [];
    try {
      const after = loadStack(req.root, req.stack);
      const prepared = await prepareEnvironment(after, { progress: log.progress });
      ctx = { ...prepared.ctx, logDir: log.dir };
      if (prepared.lb !== "unchanged") await admitHosts(ctx, Object.values(ctx.state.hosts).filter((h) => isRunning(ctx!, h) && h.healthy));
      touched = ROLES.filter((r) => userDataSha(oldEnv, r) !== userDataSha(ctx!.env, r));
      log.progress(`roles running ${req.app}: ${touched.join(", ") || "none"}`);
      const replaced = await rollTo(ctx, touched, { canary: true });
      keepHookLog(ctx.env, req.app, req.release, log);
      return { hostsReplaced: replaced, result: "succeeded" };
    } catch (e) {
      // Whatever failed (a gate, or anything else once the pin was written): the pin goes back
      // and the hosts follow it, by the same phoenix path.
      const replacedSoFar = e instanceof RolloutFailure ? e.replaced : [];
      if (ctx) keepHookLog(ctx.env, req.app, req.release, log);
      log.progress(`rollout failed: ${(e as Error).message}`);
      log.progress(`rolling back ${req.app} to ${from}`);
      if (from !== undefined) setReleasePin(req.root, req.stack, req.app, from);
      if (!ctx) return { hostsReplaced: [], result: "rolled-back", failure: `${(e as Error).message}\nnothing was replaced; the pin is back on ${from}` };
      try {
        const undone = await rollTo({ ...ctx, env: oldEnv }, touched, { canary: false });
        log.progress(`rolled back: ${undone.length} hosts replaced by ${req.app} ${from}`);
        return { hostsReplaced: [...replacedSoFar, ...undone], result: "rolled-back", failure: `${(e as Error).message}\nrolled back to ${from}; logs: ${log.dir}` };
      } catch (e2) {
        return { hostsReplaced: replacedSoFar, result: "failed", failure: `${(e as Error).message}\nthe rollback to ${from} failed too: ${(e2 as Error).message}; see fawkes local status --stack ${req.stack}` };
      }
    }
  });
}
