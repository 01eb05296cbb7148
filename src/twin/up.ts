// `fawkes twin up|down --stack S`: the stack's AWS side on this machine. The stack's Pulumi
// program runs under Pulumi's mocks (as `plan` runs it); what it declares is made in moto, inside
// the twin's services host; the pinned artifacts and the stack's secrets go where `fawkes build
// --push` and `fawkes secret set` put them on AWS; then each Auto Scaling group's instances boot
// from their launch template's user-data, unchanged, and the web hosts go behind a front that
// health-checks them as the ALB does (HAProxy, the local target's, Host = target address).
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { execa } from "execa";
import { defaultStore, localStore, pushRelease, releaseSumsIn, stackArtifactBucket, artifactPaths } from "../artifact/index.ts";
import type { EnvironmentSpec } from "../config/index.ts";
import { ensureImage, fawkesHome, imageOf } from "../local/image.ts";
import { stopRecordedHost } from "../local/host.ts";
import { hostSlots } from "../local/layout.ts";
import { maintenanceFiles, renderHaproxyConfig, renderMaintenanceFiles, renderServerAddresses, serverAddressFile } from "../local/haproxy-config.ts";
import { haproxyPaths, haproxyPid, portFree, startOrReloadHaproxy, writeHaproxyFiles } from "../local/haproxy.ts";
import type { Progress } from "../local/steps.ts";
import { planEnvironment } from "../model/index.ts";
import { pulumiConfigOf, runProgram } from "../plan/program.ts";
import { ensureSsmSecrets, parameterPrefixOf, ssmSecretStore } from "../secrets/index.ts";
import { admit, bootNewInstances, launch, stopInstance, twinAccount, twinContext, type TwinContext } from "./fleet.ts";
import { ensureServicesImage } from "./image.ts";
import { ensureBridge, bootServices, efsCertificateAuthority } from "./hosts.ts";
import { chooseTwinSubnet, servicesAddress, slotMac, twinLayout } from "./layout.ts";
import { MOTO_PORT } from "./services.ts";
import { readTwinState, TwinError, useTwinEndpoint, writeTwinState, type TwinInstance, type TwinState } from "./state.ts";
import { makeWorld } from "./world.ts";

export { readTwinState, TwinError, type TwinState } from "./state.ts";

export interface TwinUpOptions {
  port?: number;
  progress?: Progress;
  home?: string;
  /** Boot timeout per instance. */
  bootTimeoutMs?: number;
}

async function choosePort(wanted: number | undefined): Promise<number> {
  if (wanted !== undefined) {
    if (await portFree(wanted)) return wanted;
    throw new TwinError(`port 127.0.0.1:${wanted} is in use; pick another with --port`);
  }
  for (let p = 8180; p < 8280; p++) if (await portFree(p)) return p;
  throw new TwinError("no free port in 127.0.0.1:8180-8279 for the twin's front; pass --port");
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
  // The program reads each release's sum from the bucket; the twin's is filled below from the
  // machine's store, so the mocks answer with that store's sums, read once, here.
  const { sums: releaseSums } = await releaseSumsIn(localStore(defaultStore()), spec.knobs.releases);
  const run = await runProgram(root, spec.stack, pulumiConfigOf(root, spec.stack), { secrets: "reveal", releaseSums });
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
  const account = twinAccount(spec);
  const images = spec.knobs.image ? [{ id: spec.knobs.image.ami, name: `${spec.project}-golden-${spec.knobs.image.recipe}`, architecture: spec.knobs.image.architecture }] : [];
  const services = await bootServices(layout, servicesImage, { address, subnet, leases, database, account, images, region: spec.knobs.region }, progress);
  const state: TwinState = { stack: spec.stack, subnet, endpoint, port, account, services, efsCa: efsCertificateAuthority(services), instances: [], world: { ids: {}, groups: [] } };
  const save = () => writeTwinState(layout, state);
  save();

  useTwinEndpoint(state, spec.knobs.region);
  state.world = await makeWorld(run.resources, { region: spec.knobs.region, account, masterPasswords: db ? { [String(db.inputs.identifier)]: masterPassword } : {} }, progress);
  save();
  const bucket = stackArtifactBucket(spec);
  for (const app of spec.catalogue.apps) {
    const release = spec.knobs.releases[app.name]!;
    await pushRelease(bucket, app.name, release, artifactPaths(defaultStore(), app.name, release));
    progress(`${app.name} ${release} pushed to ${bucket.where}`);
  }
  await ensureSsmSecrets(ssmSecretStore({ prefix: parameterPrefixOf(spec), region: spec.knobs.region }), spec.catalogue.apps, spec.stack, progress);

  // Each group's instances, as moto launched them, boot in the slots of their role.
  const ctx: TwinContext = { spec, plan, layout, slots, state, rootfs: golden.rootfs, progress, ...(opts.bootTimeoutMs !== undefined ? { bootTimeoutMs: opts.bootTimeoutMs } : {}) };
  await bootNewInstances(ctx);
  // The front: HAProxy as the ALB, every web slot a server, healthy booted hosts in rotation.
  const hp = haproxyPaths(layout.haproxyDir);
  const maintenance = maintenanceFiles(hp.dir, plan);
  const addresses = serverAddressFile(hp.dir);
  writeHaproxyFiles({ ...renderMaintenanceFiles(plan, maintenance, []), [addresses]: renderServerAddresses(slots) });
  await startOrReloadHaproxy(hp, renderHaproxyConfig({ plan, slots, port, socket: hp.socket, addresses, maintenance }));
  for (const { instance, why } of await admit(ctx, state.instances)) progress(`${instance.name}: not in service: ${why}`);
  progress(`front on 127.0.0.1:${port}; fawkes against the twin: AWS_ENDPOINT_URL=${endpoint}`);
  return state;
}

/**
 * One more instance in a group, as a scale-out (or an instance refresh's replacement) makes it:
 * moto's SetDesiredCapacity launches it from the group's launch template; the twin boots it and
 * admits it to the front only if it booted. Returns it.
 */
export async function twinScaleOut(spec: EnvironmentSpec, group: string, opts: { progress?: Progress; home?: string } = {}): Promise<TwinInstance> {
  const ctx = twinContext(spec, opts);
  if (!ctx.state.world.groups.some((x) => x.name === group)) throw new TwinError(`the twin of ${spec.stack} has no group ${group} (${ctx.state.world.groups.map((x) => x.name).join(", ")})`);
  const [one] = await launch(ctx, group, 1);
  for (const { why } of await admit(ctx, [one!])) ctx.progress(`${one!.name}: not in service: ${why}`);
  return one!;
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
  await Promise.all((state?.instances ?? []).map(stopInstance));
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
