// The instance refresh fawkes drives on AWS: the pure state machine, and the driver through the
// real SDK edge (autoScalingFleet) against aws-sdk-client-mock sequences, one per ending.
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  RollbackInstanceRefreshCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { RolloutSchema } from "../../src/config/index.ts";
import { nextAction, outcomeOf, refreshTiming, startRefreshInput, type RefreshTarget } from "../../src/model/index.ts";
import { autoScalingFleet, RefreshInProgressError, refreshRole, refreshRoles, untilGroupsIdle } from "../../src/release/index.ts";

const rollout = RolloutSchema.parse({ canaryPercent: 10, batchPercent: 30, minHealthyPercent: 100, maxHealthyPercent: 150, warmupSeconds: 120, checkpointDelaySeconds: 300, bootSeconds: 900 });
const web: RefreshTarget = { role: "web", groupName: "acme-prod-web", launchTemplateId: "lt-0abc", version: "7" };
const worker: RefreshTarget = { role: "worker", groupName: "acme-prod-worker", launchTemplateId: "lt-0def", version: "4" };

const asg = mockClient(AutoScalingClient);
let t = 0;
const lines: string[] = [];
const opts = (wait = false) => ({ wait, progress: (l: string) => lines.push(l), now: () => t, sleep: async (s: number) => void (t += s) });
const fleet = () => autoScalingFleet(new AutoScalingClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } }));
const group = (name: string, version: string, ids: string[]) => ({ AutoScalingGroups: [{ AutoScalingGroupName: name, DesiredCapacity: ids.length, LaunchTemplate: { LaunchTemplateId: name.endsWith("web") ? "lt-0abc" : "lt-0def", Version: version }, Instances: ids.map((InstanceId) => ({ InstanceId })) }] }) as never;
const refreshes = (...rs: Array<[string, string, number?]>) => ({ InstanceRefreshes: rs.map(([InstanceRefreshId, Status, PercentageComplete]) => ({ InstanceRefreshId, Status, PercentageComplete })) }) as never;

beforeEach(() => {
  asg.reset();
  t = 0;
  lines.length = 0;
});

/** A refresh of web that goes through `statuses` after it starts. */
function sequence(statuses: string[]) {
  asg.on(DescribeAutoScalingGroupsCommand).resolvesOnce(group(web.groupName, "6", ["i-1", "i-2", "i-3"])).resolves(group(web.groupName, "7", ["i-4", "i-5", "i-6"]));
  const d = asg.on(DescribeInstanceRefreshesCommand).resolvesOnce(refreshes(["old", "Successful", 100]));
  for (const s of statuses) d.resolvesOnce(refreshes(["r-1", s, 50]));
  asg.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: "r-1" });
}

describe("the state machine", () => {
  it("asks for the pinned version with the pacing knobs and auto-rollback", () => {
    expect(startRefreshInput(web, rollout)).toEqual({
      AutoScalingGroupName: "acme-prod-web",
      Strategy: "Rolling",
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: "lt-0abc", Version: "7" } },
      Preferences: { MinHealthyPercentage: 100, MaxHealthyPercentage: 150, InstanceWarmup: 120, CheckpointPercentages: [10, 40, 70, 100], CheckpointDelay: 300, SkipMatching: false, AutoRollback: true },
    });
  });

  it("refuses $Latest: AWS rolls back only to a numbered version", () => {
    expect(() => startRefreshInput({ ...web, version: "$Latest" }, rollout)).toThrow(/version number/);
  });

  it("maps each ending to the history's result", () => {
    expect([outcomeOf("Successful"), outcomeOf("RollbackSuccessful"), outcomeOf("Failed"), outcomeOf("RollbackFailed"), outcomeOf("Cancelled"), outcomeOf("InProgress")]).toEqual(["succeeded", "rolled-back", "failed", "failed", "cancelled", undefined]);
  });

  it("derives the deadline from bootSeconds, warmup and checkpoints", () => {
    // 3 hosts, surge 1: batches of 1, 1, 1; each boot 900 + warmup 120; 4 checkpoints of 300; one boot of slack.
    expect(refreshTiming(rollout, 3)).toEqual({ deadlineSeconds: 3 * 1020 + 4 * 300 + 900, rollbackSeconds: 3 * 1020 + 900, waitSeconds: 3 * 1020 + 4 * 300 + 900, pollSeconds: 30 });
  });

  it("asks for a rollback once the deadline passed", () => {
    const run = { groupName: "g", timing: refreshTiming(rollout, 3), wait: false };
    const state = { phase: "running", id: "r-1", startedAt: 0 } as const;
    expect(nextAction(run, state, [{ id: "r-1", status: "InProgress" }], run.timing.deadlineSeconds - 1).kind).toBe("poll");
    expect(nextAction(run, state, [{ id: "r-1", status: "InProgress" }], run.timing.deadlineSeconds).kind).toBe("rollback");
  });
});

describe("the driver against Auto Scaling", () => {
  it("succeeded: starts the refresh to the pinned version, polls to Successful, names the hosts replaced", async () => {
    sequence(["InProgress", "InProgress", "Successful"]);
    const r = await refreshRole(fleet(), web, rollout, opts());
    expect(r).toMatchObject({ outcome: "succeeded", replaced: ["i-1", "i-2", "i-3"] });
    const start = asg.commandCalls(StartInstanceRefreshCommand);
    expect(start).toHaveLength(1);
    expect(start[0]!.args[0].input).toEqual(startRefreshInput(web, rollout));
    expect(lines.some((l) => /InProgress 50%/.test(l))).toBe(true);
  });

  it("rolled back: AWS's automatic rollback ends RollbackSuccessful", async () => {
    sequence(["InProgress", "RollbackInProgress", "RollbackSuccessful"]);
    const r = await refreshRole(fleet(), web, rollout, opts());
    expect(r).toMatchObject({ outcome: "rolled-back", previousServes: true, replaced: [] });
  });

  it("failed: Failed and RollbackFailed both end failed", async () => {
    sequence(["InProgress", "Failed"]);
    expect((await refreshRole(fleet(), web, rollout, opts())).outcome).toBe("failed");
    asg.reset();
    sequence(["RollbackInProgress", "RollbackFailed"]);
    expect((await refreshRole(fleet(), web, rollout, opts())).outcome).toBe("failed");
  });

  it("cancelled: a refresh cancelled outside fawkes ends cancelled", async () => {
    sequence(["InProgress", "Cancelling", "Cancelled"]);
    expect(await refreshRole(fleet(), web, rollout, opts())).toMatchObject({ outcome: "cancelled", previousServes: false });
  });

  it("refuses while another refresh runs, and starts nothing", async () => {
    asg.on(DescribeAutoScalingGroupsCommand).resolves(group(web.groupName, "6", ["i-1"]));
    asg.on(DescribeInstanceRefreshesCommand).resolves(refreshes(["other", "InProgress", 20]));
    await expect(untilGroupsIdle(fleet(), [web.groupName], rollout, opts())).rejects.toThrow(RefreshInProgressError);
    expect(asg.commandCalls(StartInstanceRefreshCommand)).toHaveLength(0);
  });

  it("--wait: waits for the other refresh to end, then proceeds", async () => {
    asg.on(DescribeAutoScalingGroupsCommand).resolves(group(web.groupName, "6", ["i-1"]));
    asg.on(DescribeInstanceRefreshesCommand).resolvesOnce(refreshes(["other", "InProgress", 20])).resolvesOnce(refreshes(["other", "InProgress", 80])).resolves(refreshes(["other", "Successful", 100]));
    await untilGroupsIdle(fleet(), [web.groupName], rollout, opts(true));
    expect(t).toBe(60);
    expect(lines.some((l) => /waiting for it to end/.test(l))).toBe(true);
  });

  it("--wait is bounded: past the wait it refuses", async () => {
    asg.on(DescribeAutoScalingGroupsCommand).resolves(group(web.groupName, "6", ["i-1"]));
    asg.on(DescribeInstanceRefreshesCommand).resolves(refreshes(["other", "InProgress", 20]));
    await expect(untilGroupsIdle(fleet(), [web.groupName], rollout, opts(true))).rejects.toThrow(/still, after \d+ s of waiting/);
  });

  it("deadline: asks AWS to roll back, then reports the rollback", async () => {
    asg.on(DescribeAutoScalingGroupsCommand).resolves(group(web.groupName, "6", ["i-1", "i-2", "i-3"]));
    const deadline = refreshTiming(rollout, 3).deadlineSeconds;
    asg.on(DescribeInstanceRefreshesCommand).callsFake((input: { InstanceRefreshIds?: string[] }) => {
      if (!input.InstanceRefreshIds) return refreshes();
      return asg.commandCalls(RollbackInstanceRefreshCommand).length > 0 ? refreshes(["r-1", "RollbackSuccessful", 100]) : refreshes(["r-1", "InProgress", 40]);
    });
    asg.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: "r-1" });
    asg.on(RollbackInstanceRefreshCommand).resolves({ InstanceRefreshId: "r-1" });
    const r = await refreshRole(fleet(), web, rollout, opts());
    expect(asg.commandCalls(RollbackInstanceRefreshCommand)).toHaveLength(1);
    expect(asg.commandCalls(RollbackInstanceRefreshCommand)[0]!.args[0].input).toEqual({ AutoScalingGroupName: web.groupName });
    expect(t).toBeGreaterThanOrEqual(deadline);
    expect(r.outcome).toBe("rolled-back");
    expect(r.message).toMatch(/without finishing/);
  });

  it("a role that does not succeed stops the next", async () => {
    sequence(["RollbackSuccessful"]);
    const rs = await refreshRoles(fleet(), [web, worker], rollout, opts());
    expect(rs.map((r) => r.role)).toEqual(["web"]);
    expect(asg.commandCalls(StartInstanceRefreshCommand)).toHaveLength(1);
  });

  it("a group already on the version is left alone; an empty group is pointed at it", async () => {
    asg.on(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [web.groupName] }).resolves(group(web.groupName, "7", ["i-1"]));
    asg.on(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [worker.groupName] }).resolves(group(worker.groupName, "3", []));
    const rs = await refreshRoles(fleet(), [web, worker], rollout, opts());
    expect(rs.map((r) => r.outcome)).toEqual(["unchanged", "succeeded"]);
    expect(asg.commandCalls(StartInstanceRefreshCommand)).toHaveLength(0);
    expect(asg.commandCalls(UpdateAutoScalingGroupCommand)[0]!.args[0].input).toEqual({ AutoScalingGroupName: worker.groupName, LaunchTemplate: { LaunchTemplateId: "lt-0def", Version: "4" } });
  });
});
