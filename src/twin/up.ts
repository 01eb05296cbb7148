// `fawkes twin up|down --stack S`: the stack's AWS side on this machine. The stack's Pulumi
// program runs under Pulumi's mocks (as `plan` runs it); what it declares is made in moto, inside
// the twin's services host; the pinned artifacts and the stack's secrets go where `fawkes build
// --push` and `fawkes secret set` put them on AWS; then each Auto Scaling group's instances boot
// from their launch template's user-data, unchanged, and the web hosts go behind a front that
// health-checks them as the ALB does (HAProxy, the local target's, Host = target address).
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand } from "@aws-sdk/client-auto-scaling";
import { execa } from "execa";
import { defaultStore, pushRelease, stackArtifactBucket, artifactPaths } from "../artifact/index.ts";
import { awsClient } from "../aws/clients.ts";
import type { EnvironmentSpec } from "../config/index.ts";
import { ensureImage, fawkesHome, imageOf } from "../local/image.ts";
import { stopRecordedHost } from "../local/host.ts";
import { hostSlots, type HostSlot } from "../local/layout.ts";
import { maintenanceFiles, renderHaproxyConfig, renderMaintenanceFiles, renderServerAddresses, serverAddressFile } from "../local/haproxy-config.ts";
import { haproxyPaths, haproxyPid, portFree, setHostState, startOrReloadHaproxy, writeHaproxyFiles } from "../local/haproxy.ts";
import type { Progress } from "../local/steps.ts";
import { planEnvironment, type EnvironmentPlan, type Role } from "../model/index.ts";
import { pulumiConfigOf, runProgram } from "../plan/program.ts";
import { ensureSsmSecrets, parameterPrefixOf, ssmSecretStore } from "../secrets/index.ts";
import { ensureServicesImage } from "./image.ts";
import { bootInstance, assumeRole, type RunningInstance } from "./instances.ts";
import { ensureBridge, ensureHostNetwork, bootServices, type RunningHost } from "./hosts.ts";
import { chooseTwinSubnet, servicesAddress, slotMac, twinLayout, type TwinLayout } from "./layout.ts";
import { MOTO_PORT } from "./services.ts";
import { makeWorld, type World } from "./world.ts";

export class TwinError extends Error {}

/** The account moto answers for (its default). */
export const MOTO_ACCOUNT = "123456789012";

export interface TwinState {
  stack: string;
  subnet: string;
  /** moto, as the machine reaches it: what AWS_ENDPOINT_URL is for fawkes run against the twin. */
  endpoint: string;
  port: number;
  services: RunningHost;
  instances: Array<RunningInstance & { group: string; role: Role }>;
  world: World;
}

export interface TwinUpOptions {
  port?: number;
  progress?: Progress;
  home?: string;
  /** Boot timeout per instance. */
  bootTimeoutMs?: number;
}

export function readTwinState(layout: TwinLayout): TwinState | undefined {
  return existsSync(layout.state) ? (JSON.parse(readFileSync(layout.state, "utf8")) as TwinState) : undefined;
}

async function choosePort(wanted: number | undefined): Promise<number> {
  if (wanted !== undefined) {
    if (await portFree(wanted)) return wanted;
    throw new TwinError(`port 127.0.0.1:${wanted} is in use; pick another with --port`);
  }
  for (let p = 8180; p < 8280; p++) if (await portFree(p)) return p;
  throw new TwinError("no free port in 127.0.0.1:8180-8279 for the twin's front; pass --port");
}

/** The role a group's hosts play, from its launch template's name (<project>-<stack>-<role>). */
function roleOf(plan: EnvironmentPlan, templateName: string): Role {
  const host = plan.hosts.find((h) => templateName.endsWith(`-${h.role}`));
  if (!host) throw new TwinError(`launch template ${templateName} names no role of stack ${plan.spec.stack}`);
  return host.role;
}

/** Releases the stack pins that are missing from the machine's artifact store, with the command that builds each. */
function missingArtifacts(spec: EnvironmentSpec): string[] {
  return spec.catalogue.apps
    .map((a) => ({ app: a.name, release: spec.knobs.releases[a.name]!, paths: artifactPaths(defaultStore(), a.name, spec.knobs.releases[a.name]!) }))
    .filter((a) => !existsSync(a.paths.sha256))
    .map((a) => `${a.app} release ${a.release}: build it with fawkes build ${a.app}`);
}

export async function twinUp(root: string, spec: EnvironmentSpec, opts: TwinUpOptions = {}): Promise<TwinState> {
  const progress = opts.progress ?? (() => {});
  const home = opts.home ?? fawkesHome();
  const layout = twinLayout(spec.stack, home);
  if (readTwinState(layout)) throw new TwinError(`the twin of ${spec.stack} is up already (${layout.state}); fawkes twin down --stack ${spec.stack} first`);
  const missing = missingArtifacts(spec);
  if (missing.length > 0) throw new TwinError(`the pinned releases must be built first:\n  ${missing.join("\n  ")}`);
  const plan = planEnvironment(spec);
  const port = await choosePort(opts.port);

  progress(`running the Pulumi program of ${spec.stack} under Pulumi's mocks`);
  const run = await runProgram(root, spec.stack, pulumiConfigOf(root, spec.stack), { secrets: "reveal" });
  const rds = run.resources.filter((r) => r.type === "aws:rds/instance:Instance");
  if (rds.length > 1) throw new TwinError(`the twin plays one RDS instance; ${spec.stack} declares ${rds.length}`);
  const db = rds[0];
  const masterPassword = randomBytes(18).toString("base64url");

  const golden = await ensureImage(imageOf(spec.catalogue.image, home), progress);
  const servicesImage = await ensureServicesImage(spec.catalogue.image, progress, home);
  const routes = (await execa("ip", ["-o", "route", "show"])).stdout.split("\n");
  const subnet = chooseTwinSubnet(spec.stack, routes);
  const address = servicesAddress(subnet);
  const endpoint = `http://${address}:${MOTO_PORT}`;
  mkdirSync(layout.dir, { recursive: true, mode: 0o700 });
  await ensureBridge(layout, subnet);
  const slots = hostSlots(layout, subnet, plan.hosts, spec.knobs.rollout);
  const leases = slots.map((s) => ({ mac: slotMac(s.ip), ip: s.ip, name: s.name }));
  const database = db ? { masterUser: String(db.inputs.username), masterPassword, hostName: String(db.state.address) } : undefined;
  const services = await bootServices(layout, servicesImage, { address, subnet, leases, database }, progress);
  const state: TwinState = { stack: spec.stack, subnet, endpoint, port, services, instances: [], world: { ids: {}, groups: [], templates: {} } };
  const save = () => writeFileSync(layout.state, JSON.stringify(state, null, 2), { mode: 0o600 });
  save();

  // fawkes reaches the twin as any AWS tool reaches an endpoint: the SDK's own settings.
  Object.assign(process.env, { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: "twin", AWS_SECRET_ACCESS_KEY: "twin", AWS_REGION: spec.knobs.region });
  state.world = await makeWorld(run.resources, { region: spec.knobs.region, masterPasswords: db ? { [String(db.inputs.identifier)]: masterPassword } : {} }, progress);
  save();
  const bucket = stackArtifactBucket(spec);
  for (const app of spec.catalogue.apps) {
    const release = spec.knobs.releases[app.name]!;
    await pushRelease(bucket, app.name, release, artifactPaths(defaultStore(), app.name, release));
    progress(`${app.name} ${release} pushed to ${bucket.where}`);
  }
  await ensureSsmSecrets(ssmSecretStore({ prefix: parameterPrefixOf(spec), region: spec.knobs.region }), spec.catalogue.apps, spec.stack, progress);

  // Each group's instances, as moto launched them, boot in the slots of their role.
  const ctx: BootContext = { spec, plan, layout, slots, state, rootfs: golden.rootfs, bootTimeoutMs: opts.bootTimeoutMs, progress };
  await bootNewInstances(ctx);
  save();
  // The front: HAProxy as the ALB, every web slot a server, healthy booted hosts in rotation.
  const hp = haproxyPaths(layout.haproxyDir);
  const maintenance = maintenanceFiles(hp.dir, plan);
  const addresses = serverAddressFile(hp.dir);
  writeHaproxyFiles({ ...renderMaintenanceFiles(plan, maintenance, []), [addresses]: renderServerAddresses(slots) });
  await startOrReloadHaproxy(hp, renderHaproxyConfig({ plan, slots, port, socket: hp.socket, addresses, maintenance }));
  await admit(ctx, state.instances);
  progress(`front on 127.0.0.1:${port}; fawkes against the twin: AWS_ENDPOINT_URL=${endpoint}`);
  return state;
}

interface BootContext {
  spec: EnvironmentSpec;
  plan: EnvironmentPlan;
  layout: TwinLayout;
  slots: HostSlot[];
  state: TwinState;
  rootfs: string;
  bootTimeoutMs?: number;
  progress: Progress;
}

type TwinInstance = TwinState["instances"][number];

/** Healthy web instances into the front's rotation (the ALB's targets that pass their health check). */
async function admit(ctx: BootContext, instances: readonly TwinInstance[]): Promise<void> {
  const hp = haproxyPaths(ctx.layout.haproxyDir);
  const backends = ctx.plan.hosts.find((h) => h.role === "web")?.apps.map((a) => `app_${a.name}`) ?? [];
  for (const i of instances) if (i.role === "web" && i.boot.ok) await setHostState(hp.socket, backends, i.name, "ready");
}

/**
 * Boots every instance moto's groups have that the twin has not booted yet, each in a free slot of
 * its role, all side by side; records them in the state (failed ones too: their disks stay for a look).
 */
async function bootNewInstances(ctx: BootContext): Promise<TwinInstance[]> {
  const { spec, plan, layout, state } = ctx;
  const address = servicesAddress(state.subnet);
  const asg = awsClient(AutoScalingClient, spec.knobs.region);
  const groups = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: state.world.groups.map((g) => g.name) }))).AutoScalingGroups ?? [];
  asg.destroy();
  const boots: Array<Promise<TwinInstance>> = [];
  const taken = new Set(state.instances.map((i) => i.name));
  const known = new Set(state.instances.map((i) => i.instanceId));
  for (const g of groups) {
    // moto answers the group's template by name; the twin recorded the id it gave it.
    const template = state.world.templates[state.world.groups.find((x) => x.name === g.AutoScalingGroupName)?.launchTemplateId ?? ""];
    if (!template) throw new TwinError(`group ${g.AutoScalingGroupName} runs a launch template the twin did not make`);
    const role = roleOf(plan, template.name);
    const hostPlan = plan.hosts.find((h) => h.role === role)!;
    for (const inst of (g.Instances ?? []).filter((i) => !known.has(i.InstanceId!))) {
      const slot = ctx.slots.find((s) => s.role === role && !taken.has(s.name));
      if (!slot) throw new TwinError(`group ${g.AutoScalingGroupName} has more instances than the twin has ${role} slots`);
      taken.add(slot.name);
      const instanceId = inst.InstanceId!;
      const roleName = template.profileArn?.split("/").at(-1);
      // moto's own account when the stack names none.
      const account = spec.knobs.accountId ?? MOTO_ACCOUNT;
      boots.push(
        (async () => {
          await ensureHostNetwork(layout, slot);
          const credentials = roleName ? await assumeRole(state.endpoint, `arn:aws:iam::${account}:role/${roleName}`, instanceId) : undefined;
          const shared = Object.fromEntries(hostPlan.apps.map((a) => [a.name, { dir: join(layout.sharedDir, "apps", a.name), uid: a.uid, gid: a.gid }]));
          ctx.progress(`booting ${instanceId} (${g.AutoScalingGroupName}) as ${slot.name} ${slot.ip}`);
          const running = await bootInstance(
            {
              box: slot,
              instanceId,
              endpoint: state.endpoint,
              resolver: address,
              rootfs: ctx.rootfs,
              shared,
              metadata: {
                instanceId,
                imageId: template.imageId,
                instanceType: template.instanceType,
                region: spec.knobs.region,
                zone: inst.AvailabilityZone ?? `${spec.knobs.region}a`,
                accountId: account,
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
          return { ...running, group: g.AutoScalingGroupName!, role };
        })(),
      );
    }
  }
  const settled = await Promise.allSettled(boots);
  const booted = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  state.instances.push(...booted);
  writeFileSync(layout.state, JSON.stringify(state, null, 2), { mode: 0o600 });
  const rejected = settled.find((s) => s.status === "rejected");
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
  return booted;
}

/**
 * One more instance in a group, as a scale-out (or an instance refresh's replacement) makes it:
 * moto's SetDesiredCapacity launches it from the group's launch template; the twin boots it and
 * admits it to the front only if it booted. Returns it.
 */
export async function twinScaleOut(spec: EnvironmentSpec, group: string, opts: { progress?: Progress; home?: string } = {}): Promise<TwinInstance> {
  const layout = twinLayout(spec.stack, opts.home ?? fawkesHome());
  const state = readTwinState(layout);
  if (!state) throw new TwinError(`the twin of ${spec.stack} is not up: fawkes twin up --stack ${spec.stack}`);
  const g = state.world.groups.find((x) => x.name === group);
  if (!g) throw new TwinError(`the twin of ${spec.stack} has no group ${group} (${state.world.groups.map((x) => x.name).join(", ")})`);
  Object.assign(process.env, { AWS_ENDPOINT_URL: state.endpoint, AWS_ACCESS_KEY_ID: "twin", AWS_SECRET_ACCESS_KEY: "twin", AWS_REGION: spec.knobs.region });
  const plan = planEnvironment(spec);
  const asg = awsClient(AutoScalingClient, spec.knobs.region);
  const now = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }))).AutoScalingGroups?.[0]?.DesiredCapacity ?? g.desired;
  await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: now + 1 }));
  asg.destroy();
  const ctx: BootContext = { spec, plan, layout, slots: hostSlots(layout, state.subnet, plan.hosts, spec.knobs.rollout), state, rootfs: imageOf(spec.catalogue.image, opts.home).rootfs, progress: opts.progress ?? (() => {}) };
  const [one] = await bootNewInstances(ctx);
  if (!one) throw new TwinError(`moto launched no instance in ${group} for desired capacity ${now + 1}`);
  await admit(ctx, [one]);
  return one;
}

/** `fawkes twin down`: stops every host and the front, removes the network and the twin's dir. */
export async function twinDown(stack: string, opts: { home?: string; progress?: Progress } = {}): Promise<boolean> {
  const progress = opts.progress ?? (() => {});
  const home = opts.home ?? fawkesHome();
  const layout = twinLayout(stack, home);
  const state = readTwinState(layout);
  const hp = haproxyPaths(layout.haproxyDir);
  const lb = haproxyPid(hp);
  if (lb !== undefined) process.kill(lb, "SIGTERM");
  const started = Date.now();
  await Promise.all(
    (state?.instances ?? []).map(async (i) => {
      await stopRecordedHost(i, i);
      try {
        if (readFileSync(`/proc/${i.imds}/cmdline`, "utf8").includes("imds-main")) process.kill(i.imds, "SIGTERM");
      } catch {
        // gone
      }
    }),
  );
  progress(`instances stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (state?.services) await stopRecordedHost(state.services, state.services);
  progress(`services host stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // Every namespace and card of the twin, booted or not: they carry its prefixes.
  const netns = (await execa("ip", ["netns", "list"], { reject: false })).stdout.split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(layout.netnsPrefix));
  const links = (await execa("ip", ["-o", "link", "show"], { reject: false })).stdout.split("\n").map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? "").filter((n) => n.startsWith(layout.ifPrefix));
  for (const l of links) await execa("ip", ["link", "del", l], { reject: false });
  for (const n of netns) await execa("ip", ["netns", "del", n], { reject: false });
  if (existsSync(`/sys/class/net/${layout.bridge}`)) await execa("ip", ["link", "del", layout.bridge], { reject: false });
  const twins = resolve(home, "twins");
  if (!resolve(layout.dir).startsWith(`${twins}/`)) throw new TwinError(`refusing to remove ${layout.dir}: not inside ${twins}`);
  const existed = existsSync(layout.dir);
  rmSync(layout.dir, { recursive: true, force: true });
  progress(existed ? `twin of ${stack} removed` : `no twin of ${stack}`);
  return existed;
}
