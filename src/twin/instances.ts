// A twin instance: one of moto's instances of an Auto Scaling group, booted as a host from the
// stack's golden image with its launch template's user-data byte for byte, by cloud-init's Ec2
// datasource: the hypervisor UUID says EC2, Ec2Local asks the twin's DHCP server for the address,
// and the metadata service on 169.254.169.254 in the instance's own namespace serves IMDSv2 with
// the instance's identity, user-data and its role's credentials (moto's STS AssumeRole). The host
// reaches the AWS APIs through AWS_ENDPOINT_URL, the one thing that is the twin's.
import { createHash, randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { waitForBoot, type BootResult } from "../local/boot-record.ts";
import { runSteps, type Step } from "../local/steps.ts";
import { prepareDisk, startHost, type HostBox, type HostMounts } from "../local/host.ts";
import { INIT_PATH, LOCAL_CLOUD_CFG, LOCAL_INIT, type HostFile } from "../local/host-seed.ts";
import { IMDS_ADDRESS, type InstanceMetadata, type RoleCredentials } from "./imds.ts";

/**
 * cloud-init settings of a twin instance: what Debian's AMI ships, narrowed as the local target's
 * (the same modules run), with the Ec2 datasource only, and the network left as the twin made it
 * (on EC2 the image's network config brings up the same DHCP address).
 */
export const TWIN_CLOUD_CFG = LOCAL_CLOUD_CFG.replace("# fawkes local target: a NoCloud seed,", "# fawkes AWS twin: EC2's metadata service,")
  .replace("datasource_list: [ NoCloud, None ]", "datasource_list: [ Ec2, None ]\ndatasource:\n  Ec2:\n    metadata_urls: [ 'http://169.254.169.254' ]\n    max_wait: 30\n    timeout: 5\nnetwork:\n  config: disabled");

export interface InstanceSpec {
  box: HostBox;
  instanceId: string;
  metadata: InstanceMetadata;
  /** Moto's endpoint, given to the host as AWS_ENDPOINT_URL. */
  endpoint: string;
  resolver: string;
  rootfs: string;
  /** Per app on this host: the EFS dir on the machine (the NFS server's export) bound at its shared/. */
  shared: Record<string, { dir: string; uid: number; gid: number }>;
  /** The CA of the twin's EFS certificate (PEM), trusted by the instance. */
  efsCa: string;
}

export interface RunningInstance {
  instanceId: string;
  name: string;
  ip: string;
  netns: string;
  veth: string;
  dir: string;
  init: number;
  launcher: number;
  imds: number;
  boot: BootResult;
}

/** An EC2 hypervisor UUID (ec2 + 29 hex digits, in the 8-4-4-4-12 form), one per instance id. */
export function hypervisorUuidOf(instanceId: string): string {
  const h = `ec2${createHash("sha256").update(instanceId).digest("hex").slice(0, 29)}`;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Moto's STS AssumeRole, read from its XML (moto writes Expiration without a zone: it is UTC). */
export async function assumeRole(endpoint: string, roleArn: string, session: string, now = new Date()): Promise<RoleCredentials> {
  const body = new URLSearchParams({ Action: "AssumeRole", Version: "2011-06-15", RoleArn: roleArn, RoleSessionName: session, DurationSeconds: "3600" });
  const res = await fetch(endpoint, { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: "AWS4-HMAC-SHA256 Credential=twin/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0" } });
  const xml = await res.text();
  const tag = (t: string) => new RegExp(`<${t}>([^<]*)</${t}>`).exec(xml)?.[1];
  const accessKeyId = tag("AccessKeyId");
  const secretAccessKey = tag("SecretAccessKey");
  const sessionToken = tag("SessionToken");
  if (!res.ok || !accessKeyId || !secretAccessKey || !sessionToken) throw new Error(`STS AssumeRole of ${roleArn} failed (${res.status}): ${xml.slice(0, 300)}`);
  const expiration = new Date(now.getTime() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}

/** Where Debian keeps the trusted roots: one bundle (update-ca-certificates writes it) and a dir for local ones. */
const CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt";
const LOCAL_CA = "usr/local/share/ca-certificates/fawkes-twin-efs.crt";

/**
 * The files a twin instance starts with over the golden image: cloud.cfg, resolv.conf (as DHCP
 * would set it), pid 1, and the twin's CA among the image's trusted roots (where EC2's instances
 * find Amazon's, which sign EFS's certificates), as update-ca-certificates would have it.
 */
export function instanceFiles(resolver: string, trust: { rootfs: string; ca: string }): HostFile[] {
  const bundle = readFileSync(join(trust.rootfs, CA_BUNDLE), "utf8");
  return [
    { path: "etc/cloud/cloud.cfg.d/90-fawkes-twin.cfg", content: TWIN_CLOUD_CFG, mode: 0o644 },
    { path: "etc/resolv.conf", content: `nameserver ${resolver}\n`, mode: 0o644 },
    { path: INIT_PATH.slice(1), content: LOCAL_INIT, mode: 0o755 },
    { path: LOCAL_CA, content: trust.ca, mode: 0o644 },
    { path: CA_BUNDLE, content: `${bundle.trimEnd()}\n${trust.ca.trimEnd()}\n`, mode: 0o644 },
  ];
}

const IMDS_MAIN = join(dirname(fileURLToPath(import.meta.url)), "imds-main.ts");

/** The namespace of an instance's metadata service: its own, beside the instance's (the hypervisor's side). */
export function metadataNetns(box: Pick<HostBox, "netns">): string {
  return `${box.netns}-imds`;
}

/**
 * The link from an instance to its metadata service, as on EC2 where 169.254.169.254 is not an
 * address of the instance: a veth from the instance's namespace (imds0, a /32 route) to the
 * service's (eth0 holding 169.254.169.254). Not local, so the instance's routing
 * rules apply to it: the bootstrap's rule that refuses it to every uid but root works here as on EC2.
 */
/** The instance's end of its link to the metadata service. */
const IMDS_CLIENT_ADDRESS = "169.254.169.253";

export function imdsLinkSteps(box: Pick<HostBox, "netns">): Step[] {
  const md = metadataNetns(box);
  const run = (title: string, ...argv: string[]): Step => ({ kind: "run", title, argv });
  return [
    run(`netns ${md}`, "ip", "netns", "add", md),
    run(`${box.netns}: imds0 to ${md}`, "ip", "link", "add", "imds0", "netns", box.netns, "type", "veth", "peer", "name", "eth0", "netns", md),
    run(`${md}: lo up`, "ip", "-n", md, "link", "set", "lo", "up"),
    run(`${md}: ${IMDS_ADDRESS}`, "ip", "-n", md, "addr", "add", `${IMDS_ADDRESS}/32`, "dev", "eth0"),
    run(`${md}: eth0 up`, "ip", "-n", md, "link", "set", "eth0", "up"),
    run(`${md}: answers back through eth0`, "ip", "-n", md, "route", "add", "default", "dev", "eth0"),
    // The instance's end has a link-local address of its own: cloud-init's Ec2Local takes eth0's
    // address down and up again, which would take a route by that address with it.
    run(`${box.netns}: ${IMDS_CLIENT_ADDRESS} on imds0`, "ip", "-n", box.netns, "addr", "add", `${IMDS_CLIENT_ADDRESS}/32`, "dev", "imds0"),
    run(`${box.netns}: imds0 up`, "ip", "-n", box.netns, "link", "set", "imds0", "up"),
    run(`${box.netns}: ${IMDS_ADDRESS} by imds0`, "ip", "-n", box.netns, "route", "add", `${IMDS_ADDRESS}/32`, "dev", "imds0", "src", IMDS_CLIENT_ADDRESS),
  ];
}

/** Starts the instance's metadata service in its namespace, on 169.254.169.254:80; returns its pid once it listens. */
export async function startImds(box: HostBox, metadata: InstanceMetadata): Promise<number> {
  const config = join(box.dir, "imds.json");
  mkdirSync(box.dir, { recursive: true });
  writeFileSync(config, JSON.stringify({ ...metadata, userData: metadata.userData?.toString("base64") }), { mode: 0o600 });
  const md = metadataNetns(box);
  if (!existsSync(`/run/netns/${md}`)) await runSteps(imdsLinkSteps(box));
  const log = join(box.dir, "imds.log");
  const out = openSync(log, "a");
  const child = spawn("ip", ["netns", "exec", md, process.execPath, "--import", "tsx", IMDS_MAIN, config], { detached: true, stdio: ["ignore", out, out], cwd: dirname(IMDS_MAIN) });
  closeSync(out);
  child.unref();
  for (let i = 0; i < 200; i++) {
    if (readFileSync(log, "utf8").includes("listening")) return child.pid!;
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`${box.name}: the metadata service did not start: ${readFileSync(log, "utf8").slice(-500)}`);
}

/** Boots one instance and waits for cloud-init's verdict. */
export async function bootInstance(spec: InstanceSpec, timeoutMs = 300_000): Promise<RunningInstance> {
  const { box } = spec;
  const bootId = randomBytes(4).toString("hex");
  const mounts: HostMounts = { rootfs: spec.rootfs, shared: Object.fromEntries(Object.entries(spec.shared).map(([app, s]) => [app, s.dir])) };
  // As the bootstrap makes them on EFS: apps/ root's and 0755, each app's dir the app's and 0750.
  for (const s of Object.values(spec.shared)) {
    mkdirSync(dirname(s.dir), { recursive: true, mode: 0o755 });
    chmodSync(dirname(s.dir), 0o755);
    if (!existsSync(s.dir)) mkdirSync(s.dir, { mode: 0o750 });
    chownSync(s.dir, s.uid, s.gid);
  }
  prepareDisk(box, mounts, instanceFiles(spec.resolver, { rootfs: spec.rootfs, ca: spec.efsCa }), bootId);
  const imds = await startImds(box, spec.metadata);
  const pids = await startHost(box, mounts, { env: { AWS_ENDPOINT_URL: spec.endpoint }, hypervisorUuid: hypervisorUuidOf(spec.instanceId) });
  const boot = await waitForBoot(pids.init, timeoutMs);
  return { instanceId: spec.instanceId, name: box.name, ip: box.ip, netns: box.netns, veth: box.veth, dir: box.dir, init: pids.init, launcher: pids.launcher, imds, boot };
}

