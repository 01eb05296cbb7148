// The twin's EC2 side of its Auto Scaling groups: what AWS does once moto has decided an instance
// exists. Boots each instance moto's groups launched (from the launch-template version the group
// named when it launched it, read back from moto, user-data byte for byte), puts healthy web hosts
// behind the front (the ALB's targets, HAProxy's checks as its health checks), and terminates
// instances: out of the front, out of the group in moto, host stopped, its slot free again.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand, SetDesiredCapacityCommand, TerminateInstanceInAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { awsClient } from "../aws/clients.ts";
import type { EnvironmentSpec } from "../config/index.ts";
import { servedBackends } from "../local/fleet.ts";
import { drainHost, haproxyPaths, untilUp } from "../local/haproxy.ts";
import { stopRecordedHost } from "../local/host.ts";
import { imageOf } from "../local/image.ts";
import { hostSlots, type HostSlot } from "../local/layout.ts";
import { planEnvironment, type EnvironmentPlan, type Role } from "../model/index.ts";
import { hostNetworkDownSteps } from "../local/network.ts";
import { runSteps, type Progress } from "../local/steps.ts";
import { assumeRole, bootInstance, metadataNetns } from "./instances.ts";
import { ensureHostNetwork } from "./hosts.ts";
import { servicesAddress, slotMac, twinLayout, type TwinLayout } from "./layout.ts";
import { MOTO_ACCOUNT, requireTwinState, TwinError, useTwinEndpoint, writeTwinState, type TwinInstance, type TwinState } from "./state.ts";

export interface TwinContext {
  spec: EnvironmentSpec;
  plan: EnvironmentPlan;
  layout: TwinLayout;
  slots: HostSlot[];
  state: TwinState;
  rootfs: string;
  bootTimeoutMs?: number;
  progress: Progress;
}

/** The running twin of a stack, ready for fawkes to act on through moto's endpoint. */
export function twinContext(spec: EnvironmentSpec, opts: { home?: string; progress?: Progress; bootTimeoutMs?: number } = {}): TwinContext {
  const layout = twinLayout(spec.stack, opts.home);
  const state = requireTwinState(layout, spec.stack);
  useTwinEndpoint(state, spec.knobs.region);
  const plan = planEnvironment(spec);
  return { spec, plan, layout, state, slots: hostSlots(layout, state.subnet, plan.hosts, spec.knobs.rollout), rootfs: imageOf(spec.catalogue.image, opts.home).rootfs, progress: opts.progress ?? (() => {}), ...(opts.bootTimeoutMs !== undefined ? { bootTimeoutMs: opts.bootTimeoutMs } : {}) };
}

/** The role a group's hosts play, from its launch template's name (<project>-<stack>-<role>). */
export function roleOf(plan: EnvironmentPlan, templateName: string): Role {
  const host = plan.hosts.find((h) => templateName.endsWith(`-${h.role}`));
  if (!host) throw new TwinError(`launch template ${templateName} names no role of stack ${plan.spec.stack}`);
  return host.role;
}

/** What EC2 launches an instance from: one version of a launch template, as moto holds it. */
async function templateVersion(ec2: EC2Client, id: string, version: string) {
  const v = (await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: [version] }))).LaunchTemplateVersions?.[0];
  const data = v?.LaunchTemplateData;
  if (!v || !data?.UserData || !data.ImageId) throw new TwinError(`launch template ${id} has no version ${version} with user-data and an image in moto`);
  return { name: v.LaunchTemplateName ?? id, version: String(v.VersionNumber ?? version), userData: data.UserData, imageId: data.ImageId, instanceType: data.InstanceType ?? "t3.micro", profileArn: data.IamInstanceProfile?.Arn };
}

/**
 * Boots every instance moto's groups have that the twin has not booted yet, each in a free slot of
 * its role, all side by side, from the version its group launches; records them in the state
 * (failed ones too: their disks stay for a look).
 */
export async function bootNewInstances(ctx: TwinContext): Promise<TwinInstance[]> {
  const { spec, plan, layout, state } = ctx;
  const address = servicesAddress(state.subnet);
  const asg = awsClient(AutoScalingClient, spec.knobs.region);
  const ec2 = awsClient(EC2Client, spec.knobs.region);
  const boots: Array<Promise<TwinInstance>> = [];
  try {
    const groups = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: state.world.groups.map((g) => g.name) }))).AutoScalingGroups ?? [];
    const taken = new Set(state.instances.map((i) => i.name));
    const known = new Set(state.instances.map((i) => i.instanceId));
    for (const g of groups) {
      const lt = g.LaunchTemplate;
      if (!lt?.LaunchTemplateId || !lt.Version) throw new TwinError(`group ${g.AutoScalingGroupName} launches from no launch template version`);
      const fresh = (g.Instances ?? []).filter((i) => !known.has(i.InstanceId!));
      if (fresh.length === 0) continue;
      const template = await templateVersion(ec2, lt.LaunchTemplateId, lt.Version);
      const role = roleOf(plan, template.name);
      const hostPlan = plan.hosts.find((h) => h.role === role)!;
      for (const inst of fresh) {
        const slot = ctx.slots.find((s) => s.role === role && !taken.has(s.name));
        if (!slot) throw new TwinError(`group ${g.AutoScalingGroupName} has more instances than the twin has ${role} slots (${ctx.slots.filter((s) => s.role === role).length})`);
        taken.add(slot.name);
        const instanceId = inst.InstanceId!;
        const roleName = template.profileArn?.split("/").at(-1);
        boots.push(
          (async () => {
            await ensureHostNetwork(layout, slot);
            const credentials = roleName ? await assumeRole(state.endpoint, `arn:aws:iam::${state.account}:role/${roleName}`, instanceId) : undefined;
            const shared = Object.fromEntries(hostPlan.apps.map((a) => [a.name, { dir: join(layout.sharedDir, "apps", a.name), uid: a.uid, gid: a.gid }]));
            ctx.progress(`booting ${instanceId} (${g.AutoScalingGroupName}, launch template version ${template.version}) as ${slot.name} ${slot.ip}`);
            const running = await bootInstance(
              {
                box: slot,
                instanceId,
                endpoint: state.endpoint,
                resolver: address,
                rootfs: ctx.rootfs,
                shared,
                efsCa: state.efsCa,
                metadata: {
                  instanceId,
                  imageId: template.imageId,
                  instanceType: template.instanceType,
                  region: spec.knobs.region,
                  zone: inst.AvailabilityZone ?? `${spec.knobs.region}a`,
                  accountId: state.account,
                  privateIp: slot.ip,
                  mac: slotMac(slot.ip),
                  subnetId: Object.values(state.world.ids).find((v) => v.startsWith("subnet-")) ?? "subnet-0",
                  vpcId: Object.values(state.world.ids).find((v) => v.startsWith("vpc-")) ?? "vpc-0",
                  role: roleName && credentials ? { name: roleName, profileArn: template.profileArn!, credentials } : undefined,
                  userData: Buffer.from(template.userData, "base64"),
                },
              },
              ctx.bootTimeoutMs,
            );
            ctx.progress(`${slot.name}: ${running.boot.ok ? `booted in ${running.boot.seconds?.toFixed(1)} s` : `FAILED at ${running.boot.failedStep ?? "cloud-init"}`}`);
            return { ...running, group: g.AutoScalingGroupName!, role, version: template.version };
          })(),
        );
      }
    }
  } finally {
    asg.destroy();
    ec2.destroy();
  }
  const settled = await Promise.allSettled(boots);
  const booted = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  state.instances.push(...booted);
  writeTwinState(layout, state);
  const rejected = settled.find((s) => s.status === "rejected");
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
  return booted;
}

/**
 * Healthy instances in service: web hosts that booted go into the front's rotation and count once
 * its checks see them UP (the ALB's targets); workers by their boot. Returns those that did not
 * make it, each with why.
 */
export async function admit(ctx: TwinContext, instances: readonly TwinInstance[], timeoutMs = 30_000): Promise<Array<{ instance: TwinInstance; why: string }>> {
  const socket = haproxyPaths(ctx.layout.haproxyDir).socket;
  const out: Array<{ instance: TwinInstance; why: string }> = [];
  for (const i of instances) {
    if (!i.boot.ok) out.push({ instance: i, why: `its bootstrap failed at ${i.boot.failedStep ?? "cloud-init"}` });
    else if (i.role === "web") {
      const up = await untilUp(socket, servedBackends(ctx.plan), i.name, timeoutMs);
      if (up !== true) out.push({ instance: i, why: `the front's health checks do not see it UP after ${timeoutMs / 1000} s: ${up}` });
    }
  }
  return out;
}

/** What the group says of its instances' health (the hosts report a failed bootstrap: SetInstanceHealth). */
export async function groupHealth(ctx: TwinContext, ids: readonly string[]): Promise<Record<string, string>> {
  if (ids.length === 0) return {};
  const asg = awsClient(AutoScalingClient, ctx.spec.knobs.region);
  try {
    const seen = (await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [...ids] }))).AutoScalingInstances ?? [];
    return Object.fromEntries(seen.map((s) => [s.InstanceId!, (s.HealthStatus ?? "").toUpperCase()]));
  } finally {
    asg.destroy();
  }
}

/** Launches `count` more instances in a group (moto's SetDesiredCapacity) and boots them. */
export async function launch(ctx: TwinContext, group: string, count: number): Promise<TwinInstance[]> {
  const asg = awsClient(AutoScalingClient, ctx.spec.knobs.region);
  let desired: number;
  try {
    const now = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }))).AutoScalingGroups?.[0]?.DesiredCapacity;
    if (now === undefined) throw new TwinError(`no group ${group} in moto`);
    desired = now + count;
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: desired }));
  } finally {
    asg.destroy();
  }
  const booted = (await bootNewInstances(ctx)).filter((i) => i.group === group);
  if (booted.length !== count) throw new TwinError(`moto launched ${booted.length} instance(s) in ${group} for desired capacity ${desired}, not ${count}`);
  return booted;
}

/**
 * Terminates instances as their group does (TerminateInstanceInAutoScalingGroup, one fewer
 * desired): a web host first leaves the front and finishes its requests (the ALB's deregistration).
 */
export async function terminate(ctx: TwinContext, instances: readonly TwinInstance[]): Promise<void> {
  const socket = haproxyPaths(ctx.layout.haproxyDir).socket;
  const asg = awsClient(AutoScalingClient, ctx.spec.knobs.region);
  try {
    for (const i of instances) {
      if (i.role === "web") await drainHost(socket, servedBackends(ctx.plan), i.name).then(() => undefined, () => undefined);
      await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: i.instanceId, ShouldDecrementDesiredCapacity: true }));
      await stopInstance(i);
      // Its network goes with it (card, namespace, metadata link): the slot's next instance starts on a fresh one, as a new ENI.
      await runSteps([...hostNetworkDownSteps(i), { kind: "run", title: `delete netns ${metadataNetns(i)}`, argv: ["ip", "netns", "del", metadataNetns(i)] }]);
      ctx.state.instances = ctx.state.instances.filter((x) => x.instanceId !== i.instanceId);
      writeTwinState(ctx.layout, ctx.state);
      ctx.progress(`${i.name}: ${i.instanceId} terminated`);
    }
  } finally {
    asg.destroy();
  }
}

/** Stops an instance's host and its metadata service. */
export async function stopInstance(i: TwinInstance): Promise<void> {
  await stopRecordedHost(i, i);
  try {
    if (readFileSync(`/proc/${i.imds}/cmdline`, "utf8").includes("imds-main")) process.kill(i.imds, "SIGTERM");
  } catch {
    // gone
  }
}

/** The account moto answers as for a stack: the one it names, else moto's own. */
export function twinAccount(spec: EnvironmentSpec): string {
  return spec.knobs.accountId ?? MOTO_ACCOUNT;
}
