// The twin's instance refreshes: what Auto Scaling does for StartInstanceRefresh, which moto does
// not serve. fawkes' own driver (src/release/refresh.ts) talks to it through the same FleetApi it
// uses on AWS; the group, its version and its instances are moto's, read and changed through the
// SDK. What is played here is AWS's side only, as AWS documents it for a rolling refresh:
// - the group launches the desired configuration's version from the start;
// - replacements go in batches: launch before terminate while MaxHealthyPercentage allows more
//   hosts than desired, else terminate before launch down to MinHealthyPercentage; a batch never
//   passes the next checkpoint, where the refresh waits CheckpointDelay seconds;
// - a new instance is healthy when its bootstrap finished, its group has not been told it is
//   Unhealthy (the host reports a failed bootstrap itself) and, for web hosts, the front's health
//   checks see it UP (the ALB's);
// - a refresh with an unhealthy replacement fails; with AutoRollback, or when a rollback is asked,
//   the group goes back to the version it ran and the replacements are replaced by it.
// A refresh lives in the process that started it: `fawkes release --target twin` waits for it.
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { awsClient } from "../aws/clients.ts";
import { isActive, type RefreshStatus, type RefreshView, type StartRefreshInput } from "../model/index.ts";
import { autoScalingFleet, RefreshBusyError, type FleetApi } from "../release/auto-scaling.ts";
import { admit, groupHealth, launch, terminate, type TwinContext } from "./fleet.ts";
import type { TwinInstance } from "./state.ts";

interface TwinRefresh {
  id: string;
  input: StartRefreshInput;
  status: RefreshStatus;
  percentageComplete: number;
  statusReason?: string;
  rollbackAsked: boolean;
  done: Promise<void>;
}

/** A FleetApi whose refreshes the twin plays; `settled` waits for those still running, then closes it. */
export interface TwinFleet extends FleetApi {
  settled(): Promise<void>;
}

/** Batch sizes of a rolling refresh of `count` hosts, as the healthy percentages allow: launch first when there is room above desired. */
export function refreshBatches(count: number, desired: number, prefs: Pick<StartRefreshInput["Preferences"], "MinHealthyPercentage" | "MaxHealthyPercentage" | "CheckpointPercentages">): { launchFirst: boolean; batches: number[] } {
  const above = Math.floor((desired * (prefs.MaxHealthyPercentage - 100)) / 100);
  const below = Math.floor((desired * (100 - prefs.MinHealthyPercentage)) / 100);
  const launchFirst = above > 0;
  const size = Math.max(1, launchFirst ? above : below);
  const stops = [...prefs.CheckpointPercentages].sort((a, b) => a - b).map((p) => Math.max(1, Math.floor((count * p) / 100)));
  const batches: number[] = [];
  for (let done = 0; done < count; ) {
    const stop = stops.find((s) => s > done) ?? count;
    const n = Math.min(size, stop - done, count - done);
    batches.push(n);
    done += n;
  }
  return { launchFirst, batches };
}

export function twinFleet(ctx: TwinContext, sleep: (seconds: number) => Promise<void> = (s) => delay(s * 1000)): TwinFleet {
  const client = awsClient(AutoScalingClient, ctx.spec.knobs.region);
  const sdk = autoScalingFleet(client);
  const runs = new Map<string, TwinRefresh[]>();
  const active = (group: string) => (runs.get(group) ?? []).find((r) => isActive(r.status));
  const view = (r: TwinRefresh): RefreshView => ({ id: r.id, status: r.status, percentageComplete: r.percentageComplete, ...(r.statusReason ? { statusReason: r.statusReason } : {}) });

  /** Healthy, or why not: the bootstrap's end, the group's word, the front's checks. */
  async function unhealthy(fresh: readonly TwinInstance[], warmup: number): Promise<string[]> {
    const why = (await admit(ctx, fresh, Math.max(20, warmup) * 1000)).map((b) => `${b.instance.instanceId} (${b.instance.name}): ${b.why}`);
    const health = await groupHealth(ctx, fresh.map((i) => i.instanceId));
    for (const i of fresh) if (health[i.instanceId] === "UNHEALTHY" && !why.some((w) => w.startsWith(i.instanceId))) why.push(`${i.instanceId} (${i.name}): reported Unhealthy to its group`);
    return why;
  }

  async function drive(r: TwinRefresh): Promise<void> {
    const group = r.input.AutoScalingGroupName;
    const prefs = r.input.Preferences;
    const target = r.input.DesiredConfiguration.LaunchTemplate;
    const before = await sdk.group(group);
    const previous = { id: before.launchTemplateId!, version: before.version! };
    const old = ctx.state.instances.filter((i) => i.group === group);
    const fresh: TwinInstance[] = [];
    const rollBack = async (why: string): Promise<void> => {
      r.status = "RollbackInProgress";
      r.statusReason = why;
      ctx.progress(`${group}: rolling back to version ${previous.version}: ${why}`);
      await sdk.pin(group, previous.id, previous.version);
      for (const f of fresh) {
        const bad = await unhealthy([f], 0);
        if (bad.length === 0) {
          // It serves: its replacement of the previous version first.
          const [back] = await launch(ctx, group, 1);
          const failed = await unhealthy([back!], prefs.InstanceWarmup);
          if (failed.length > 0) {
            r.status = "RollbackFailed";
            r.statusReason = `${why}; then the rollback's own replacement failed: ${failed.join("; ")}`;
            return;
          }
        }
        await terminate(ctx, [f]);
      }
      r.status = "RollbackSuccessful";
      r.percentageComplete = 100;
    };
    r.status = "InProgress";
    await sdk.pin(group, target.LaunchTemplateId, target.Version);
    const plan = refreshBatches(old.length, before.desired, prefs);
    let done = 0;
    for (const [n, size] of plan.batches.entries()) {
      if (r.rollbackAsked) return rollBack("a rollback was asked for");
      const batch = old.slice(done, done + size);
      if (!plan.launchFirst) await terminate(ctx, batch);
      const launched = await launch(ctx, group, batch.length);
      fresh.push(...launched);
      const bad = await unhealthy(launched, prefs.InstanceWarmup);
      if (bad.length > 0) {
        const why = `replacement instance(s) failed to become healthy: ${bad.join("; ")}`;
        if (prefs.AutoRollback) return rollBack(why);
        r.status = "Failed";
        r.statusReason = why;
        return;
      }
      if (plan.launchFirst) await terminate(ctx, batch);
      done += size;
      r.percentageComplete = Math.round((100 * done) / old.length);
      if (n < plan.batches.length - 1 && prefs.CheckpointDelay > 0) {
        r.statusReason = `waiting at the checkpoint of ${r.percentageComplete}% for ${prefs.CheckpointDelay} s`;
        for (let s = 0; s < prefs.CheckpointDelay && !r.rollbackAsked; s++) await sleep(1);
        delete r.statusReason;
      }
    }
    if (r.rollbackAsked) return rollBack("a rollback was asked for");
    r.status = "Successful";
    r.percentageComplete = 100;
  }

  return {
    group: sdk.group,
    pin: sdk.pin,
    async refreshes(name, id) {
      return (runs.get(name) ?? []).filter((r) => id === undefined || r.id === id).map(view);
    },
    async start(input) {
      const running = active(input.AutoScalingGroupName);
      if (running) throw new RefreshBusyError(`${input.AutoScalingGroupName}: An Instance Refresh is already in progress and blocks the execution of this Instance Refresh (${running.id})`);
      const r: TwinRefresh = { id: randomUUID(), input, status: "Pending", percentageComplete: 0, rollbackAsked: false, done: Promise.resolve() };
      r.done = drive(r).catch((e: unknown) => {
        r.status = "Failed";
        r.statusReason = `the twin could not go on: ${(e as Error).message}`;
        ctx.progress(`${input.AutoScalingGroupName}: ${r.statusReason}`);
      });
      runs.set(input.AutoScalingGroupName, [r, ...(runs.get(input.AutoScalingGroupName) ?? [])]);
      return r.id;
    },
    async rollback(name) {
      const r = active(name);
      if (r) r.rollbackAsked = true;
    },
    async settled() {
      await Promise.all([...runs.values()].flat().map((r) => r.done));
      client.destroy();
    },
  };
}
