// The AWS twin of staging, booted once for this file: the launch templates' user-data, unchanged,
// by cloud-init's Ec2 datasource against IMDSv2, the AWS APIs in moto, RDS as PostgreSQL with TLS.
// The project is one of the file's own (this repository's committed files, plus a v2 and a broken
// blog): its staging stack set up as the first-contact guide says (an account, its AMI, a
// certificate, GitHub's OIDC provider), so `check --target aws` passes and releases run on it.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand } from "@aws-sdk/client-auto-scaling";
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifactBucketName, artifactPaths, defaultStore, localStore, pushRelease, releaseSumsIn, stackArtifactBucket } from "../../src/artifact/index.ts";
import { awsClient, s3Client } from "../../src/aws/clients.ts";
import { AwsCheckError } from "../../src/check/aws.ts";
import { loadStack } from "../../src/config/index.ts";
import { httpStatus } from "../../src/local/health.ts";
import { inHost } from "../../src/local/host.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { pulumiConfigOf, runProgram } from "../../src/plan/program.ts";
import { readHistory, type HistoryEntry } from "../../src/release/history.ts";
import { imageOf } from "../../src/local/image.ts";
import { servicesRecipe } from "../../src/twin/image.ts";
import { twinContext, terminate } from "../../src/twin/fleet.ts";
import { twinLayout } from "../../src/twin/layout.ts";
import { twinHome, twinRelease } from "../../src/twin/release.ts";
import { readTwinState, twinDown, twinScaleOut, twinUp, type TwinState } from "../../src/twin/up.ts";
import { firstContactAccount, firstContactStack } from "../helpers/first-contact.ts";
import { makeRolloutProject, type RolloutProject } from "../helpers/rollout-project.ts";
import { machineSnapshot, requireRoot, type MachineSnapshot } from "./machine.ts";

let before: MachineSnapshot;
let state: TwinState;
let project: RolloutProject;
let ids: RolloutProject["ids"];
let root = "";
const log: string[] = [];
const staging = () => loadStack(root, "staging");

const instance = (name: string) => state.instances.find((i) => i.name === name)!;
const front = (host: string, path = "/") => httpStatus("127.0.0.1", state.port, path, host, 10_000);
/** What `check --target aws` says of the file's staging stack, against the twin (AWS_ENDPOINT_URL, as twin up set it). */
async function check(): Promise<{ code: number; problems: string }> {
  const r = await project.fawkes("check", "--target", "aws", "--stack", "staging");
  return { code: r.code, problems: r.err };
}

/** The release each web host serves the blog at, asked of each host at the blog's port, and through the front. */
async function blogReleases(): Promise<string[]> {
  const port = planEnvironment(staging()).hosts.find((h) => h.role === "web")!.apps.find((a) => a.name === "blog")!.port;
  const seen: string[] = [];
  for (const i of state.instances.filter((x) => x.role === "web")) {
    const r = await httpStatus(i.ip, port, "/", "blog.staging.fawkes.test", 10_000);
    expect(r.status, `${i.name}: ${r.body.slice(0, 200)}`).toBe(200);
    seen.push((JSON.parse(r.body) as { release: string }).release);
  }
  for (let n = 0; n < 4; n++) {
    const r = await front("blog.staging.fawkes.test", "/");
    expect(r.status, r.body.slice(0, 200)).toBe(200);
    expect((JSON.parse(r.body) as { release: string }).release).toBe(seen[0]);
  }
  return seen;
}

beforeAll(async () => {
  requireRoot();
  await twinDown("staging");
  before = await machineSnapshot();
  project = await makeRolloutProject();
  ids = project.ids;
  root = project.root;
  firstContactStack(root, "staging", { shop: ids.shop1, blog: ids.blog1 });
  state = await twinUp(root, staging(), { progress: (m) => log.push(m) });
  await firstContactAccount(root, "staging", staging().knobs.region, staging().knobs.domain);
}, 1_500_000);

afterAll(async () => {
  if (process.getuid?.() !== 0) return;
  await twinDown("staging");
  project?.remove();
}, 120_000);

describe.sequential("the AWS twin of staging", () => {
  it("boots every group's instances (web 2, worker 1) from moto's Auto Scaling groups, each by cloud-init's Ec2 datasource", async () => {
    expect(state.instances.map((i) => [i.group, i.boot.ok, i.boot.detail])).toEqual([
      ...state.instances.filter((i) => i.role === "worker").map((i) => [i.group, true, "status: done"]),
      ...state.instances.filter((i) => i.role === "web").map((i) => [i.group, true, "status: done"]),
    ]);
    expect(state.instances.filter((i) => i.role === "web")).toHaveLength(2);
    expect(state.instances.filter((i) => i.role === "worker")).toHaveLength(1);
    for (const i of state.instances) {
      const data = JSON.parse(readFileSync(`/proc/${i.init}/root/run/cloud-init/instance-data.json`, "utf8")) as { v1: Record<string, unknown> };
      expect(data.v1).toMatchObject({ cloud_name: "aws", platform: "ec2", instance_id: i.instanceId, region: staging().knobs.region });
      const result = readFileSync(`/proc/${i.init}/root/run/cloud-init/result.json`, "utf8");
      expect(JSON.parse(result).v1.datasource).toMatch(/^DataSourceEc2(Local)?/);
    }
  });

  it("boots the launch template's user-data byte for byte, as `pulumi up` would send it", async () => {
    // The sums twin up read from the machine's store (and pushed into the twin's bucket).
    const { sums: releaseSums } = await releaseSumsIn(localStore(defaultStore()), loadStack(root, "staging").knobs.releases);
    const run = await runProgram(root, "staging", pulumiConfigOf(root, "staging"), { secrets: "reveal", releaseSums });
    for (const i of state.instances) {
      const template = run.resources.find((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate" && String(r.inputs.name).endsWith(`-${i.role}`))!;
      const declared = Buffer.from(String(template.inputs.userData), "base64");
      const booted = readFileSync(`/proc/${i.init}/root/var/lib/cloud/instances/${i.instanceId}/user-data.txt`);
      expect(createHash("sha256").update(booted).digest("hex")).toBe(createHash("sha256").update(declared).digest("hex"));
    }
  }, 120_000);

  it("serves IMDSv2 only: a GET without a token is refused (401), a token's GET answers the instance id", async () => {
    const web = instance("staging-web-1");
    const v1 = await inHost(web.init, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://169.254.169.254/latest/meta-data/instance-id"]);
    expect(v1.stdout).toBe("401");
    const v2 = await inHost(web.init, ["sh", "-c", 't=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token) && curl -sf -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/instance-id']);
    expect(v2.stdout).toBe(web.instanceId);
  });

  it("keeps instance metadata, the role's credentials among it, root's alone: the kernel refuses it to an app's user, root is answered (issue 17, finding 4)", async () => {
    const web = instance("staging-web-1");
    const token = ["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", "http://169.254.169.254/latest/api/token"];
    const asApp = await inHost(web.init, ["runuser", "-u", "shop", "--", ...token]);
    expect(asApp.stdout, asApp.all).toBe("000");
    expect(asApp.exitCode).toBe(7);
    const asWww = await inHost(web.init, ["runuser", "-u", "www-data", "--", ...token]);
    expect(asWww.stdout).toBe("000");
    const asRoot = await inHost(web.init, token);
    expect(asRoot.stdout).toBe("200");
    expect((await inHost(web.init, ["ip", "-4", "rule", "show"])).stdout).toContain("to 169.254.169.254 uidrange 1-4294967294 prohibit");
    // After a reboot too: the unit the bootstrap wrote sets the rule again, before supervisord starts the apps.
    const disk = `/proc/${web.init}/root`;
    expect(readlinkSync(`${disk}/etc/systemd/system/multi-user.target.wants/fawkes-imds-guard.service`)).toBe("/etc/systemd/system/fawkes-imds-guard.service");
    const unit = readFileSync(`${disk}/etc/systemd/system/fawkes-imds-guard.service`, "utf8");
    expect(unit).toContain("ExecStart=/usr/sbin/ip -4 rule add pref 100 to 169.254.169.254/32 uidrange 1-4294967294 prohibit");
    expect(unit).toContain("Before=network-pre.target supervisor.service");
  });

  it("answers each app through the front, which health-checks the web hosts as the ALB does", async () => {
    for (const host of ["shop.staging.fawkes.test", "blog.staging.fawkes.test"]) {
      const seen = new Set<string>();
      for (let n = 0; n < 6; n++) {
        const r = await front(host, "/");
        expect(r.status, `${host}: ${r.body.slice(0, 200)}`).toBe(200);
        if (host.startsWith("shop")) seen.add(String((JSON.parse(r.body) as { host: string }).host));
      }
      if (host.startsWith("shop")) expect(seen.size, "both web hosts serve").toBe(2);
    }
  });

  it("ran the blog's migrations once for both web hosts, under the DynamoDB lock in moto", () => {
    const ran = state.instances
      .filter((i) => i.role === "web" && i.boot.ok)
      .map((i) => readFileSync(`/proc/${i.init}/root/var/log/fawkes/bootstrap.log`, "utf8"))
      .map((text) => text.split("\n").filter((l) => l.includes("hook: python manage.py migrate")).length);
    expect(ran.sort()).toEqual([0, 1]);
  });

  it("gives both web hosts one shared dir per app: a file one host's app writes, the other host sees", async () => {
    const a = instance("staging-web-1");
    const b = instance("staging-web-2");
    const name = `twin-${Date.now()}.txt`;
    const w = await inHost(a.init, ["runuser", "-u", "shop", "--", "sh", "-c", `echo from-web-1 > /srv/apps/shop/shared/${name}`]);
    expect(w.exitCode, w.all).toBe(0);
    const r = await inHost(b.init, ["cat", `/srv/apps/shop/shared/${name}`]);
    expect(r.stdout).toBe("from-web-1");
  });

  it("serves the shared dirs as EFS does: NFSv4 over TLS at the file system's name; through the bootstrap's own tunnel a file the app wrote is read over NFS, and one written over NFS as the app lands there as the app's", async () => {
    const spec = staging();
    const [a, b] = [instance("staging-web-1"), instance("staging-web-2")];
    const shop = planEnvironment(spec).hosts.find((h) => h.role === "web")!.apps.find((x) => x.name === "shop")!;
    const ssm = awsClient(SSMClient, spec.knobs.region);
    const fs = (await ssm.send(new GetParameterCommand({ Name: "/fawkes/staging/shop/efs" }))).Parameter!.Value!;
    ssm.destroy();
    expect(fs).toMatch(/^fs-[0-9a-f]+$/);
    // The bootstrap's tunnel as rendered: aws_efs_tunnel writes stunnel's client config (TLS 1.2+, the
    // chain verified against the system's roots, the host name checked); systemd's unit is played here
    // by starting stunnel with that config (a twin instance's pid 1 is not systemd).
    const bootstrap = readFileSync(`/proc/${a.init}/root/usr/local/sbin/fawkes-bootstrap`, "utf8");
    const tunnel = /^aws_efs_tunnel\(\) \{\n[\s\S]*?\n\}\n/m.exec(bootstrap)![0];
    const constants = bootstrap.split("\n").filter((l) => l.startsWith("readonly EFS_")).join("\n");
    const script = [
      "set -euo pipefail",
      constants,
      `AWS_DEFAULT_REGION=${spec.knobs.region}`,
      'die() { echo "die: $*" >&2; exit 1; }',
      'log() { echo "$*" >&2; }',
      'systemctl() { if [[ $1 == enable ]]; then (stunnel "/etc/stunnel/$EFS_TUNNEL.conf" </dev/null >>/var/log/fawkes-efs-tunnel.log 2>&1 &); sleep 1; fi; pgrep -x stunnel4 >/dev/null || pgrep -x stunnel >/dev/null; }',
      tunnel,
      `aws_efs_tunnel ${fs}`,
      "cat /etc/stunnel/fawkes-efs.conf",
    ].join("\n");
    const up = await inHost(a.init, ["bash", "-c", script]);
    expect(up.exitCode, up.all).toBe(0);
    expect(up.stdout).toContain(`checkHost = ${fs}.efs.${spec.knobs.region}.amazonaws.com`);
    expect(up.stdout).toContain("verifyChain = yes");
    // libnfs's NFSv4 client (the services image's; the golden image has none), in web-1's network, through the tunnel.
    const client = imageOf(servicesRecipe(spec.catalogue.image)).rootfs;
    const nfs = (tool: string, ...args: string[]) => execa("ip", ["netns", "exec", a.netns, "chroot", client, tool, ...args], { reject: false, all: true, timeout: 30_000 });
    const url = (path: string, extra = "") => `nfs://127.0.0.1${path}?version=4&nfsport=20049${extra}`;
    const name = `efs-${Date.now()}.txt`;
    const w = await inHost(a.init, ["runuser", "-u", "shop", "--", "sh", "-c", `echo written-by-the-app > /srv/apps/shop/shared/${name}`]);
    expect(w.exitCode, w.all).toBe(0);
    const listed = await nfs("nfs-ls", url("/apps/shop"));
    expect(listed.exitCode, listed.all).toBe(0);
    expect(listed.stdout).toContain(name);
    const read = await nfs("nfs-cat", url(`/apps/shop/${name}`));
    expect(read.stdout.trim(), read.all).toBe("written-by-the-app");
    const copied = await nfs("nfs-cp", "/etc/debian_version", url(`/apps/shop/nfs-${name}`, `&uid=${shop.uid}&gid=${shop.gid}`));
    expect(copied.exitCode, copied.all).toBe(0);
    const seen = await inHost(b.init, ["stat", "-c", "%U:%G %s", `/srv/apps/shop/shared/nfs-${name}`]);
    expect(seen.stdout).toBe(`shop:shop ${readFileSync(join(client, "etc/debian_version")).length}`);
    // TLS or nothing: NFS spoken in the clear to the mount target's port fails, and ganesha's own port is not reachable.
    const services = state.services.ip;
    expect((await nfs("nfs-ls", `nfs://${services}/?version=4&nfsport=2049`)).exitCode).not.toBe(0);
    expect((await nfs("nfs-ls", `nfs://${services}/?version=4&nfsport=20490`)).exitCode).not.toBe(0);
  }, 120_000);

  it("plays RDS with TLS required: the app's own role connects over TLS, a plain connection is refused", async () => {
    const web = instance("staging-web-1");
    const ssm = awsClient(SSMClient, staging().knobs.region);
    const endpoint = (await ssm.send(new GetParameterCommand({ Name: "/fawkes/staging/database/endpoint" }))).Parameter!.Value!;
    const password = (await ssm.send(new GetParameterCommand({ Name: "/fawkes/staging/blog/DATABASE_PASSWORD", WithDecryption: true }))).Parameter!.Value!;
    ssm.destroy();
    const [host, port] = endpoint.split(":");
    const psql = (mode: string) => inHost(web.init, ["env", `PGPASSWORD=${password}`, `PGSSLMODE=${mode}`, "psql", "-X", "-h", host!, "-p", port!, "-U", "blog", "-d", "blog", "-tAc", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"]);
    const tls = await psql("require");
    expect(tls.stdout, tls.all).toBe("t");
    const plain = await psql("disable");
    expect(plain.exitCode).not.toBe(0);
    expect(plain.all).toMatch(/no encryption|pg_hba\.conf rejects/);
  });

  it("a host whose bootstrap fails (its secret gone) reports itself Unhealthy to its group and stays out of the front; the others serve on", async () => {
    const region = staging().knobs.region;
    const ssm = awsClient(SSMClient, region);
    const secret = "/fawkes/staging/shop/SHOP_SECRET_KEY";
    const value = (await ssm.send(new GetParameterCommand({ Name: secret, WithDecryption: true }))).Parameter!.Value!;
    const group = state.world.groups.find((g) => g.name.endsWith("-web"))!.name;
    await ssm.send(new DeleteParameterCommand({ Name: secret }));
    let one: Awaited<ReturnType<typeof twinScaleOut>>;
    try {
      one = await twinScaleOut(staging(), group, { progress: (m) => log.push(m) });
    } finally {
      await ssm.send(new PutParameterCommand({ Name: secret, Value: value, Type: "SecureString" }));
      ssm.destroy();
    }
    state = readTwinState(twinLayout("staging"))!;
    expect(one.boot.ok).toBe(false);
    expect(one.boot.failedStep).toContain("shop");
    const bootLog = readFileSync(`/proc/${one.init}/root/var/log/fawkes/bootstrap.log`, "utf8");
    expect(bootLog).toContain("SHOP_SECRET_KEY");
    expect(bootLog).toContain(`reported ${one.instanceId} Unhealthy to its Auto Scaling group`);
    const asg = awsClient(AutoScalingClient, region);
    const seen = (await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [one.instanceId] }))).AutoScalingInstances?.[0];
    asg.destroy();
    expect(seen?.HealthStatus?.toUpperCase()).toBe("UNHEALTHY");
    for (let n = 0; n < 6; n++) {
      const r = await front("shop.staging.fawkes.test", "/");
      expect(r.status).toBe(200);
      expect((JSON.parse(r.body) as { host: string }).host).not.toBe(`ip-${one.ip.replaceAll(".", "-")}`);
    }
    // The group replaces an Unhealthy instance: terminated, and the group back at its size.
    await terminate(twinContext(staging()), [one]);
    state = readTwinState(twinLayout("staging"))!;
    const asg2 = awsClient(AutoScalingClient, region);
    const g = (await asg2.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }))).AutoScalingGroups![0]!;
    asg2.destroy();
    expect(g.DesiredCapacity).toBe(2);
    expect(g.Instances?.map((i) => i.InstanceId)).not.toContain(one.instanceId);
  }, 600_000);

  it("check --target aws passes for a stack set up as the first-contact guide says, names a pinned release missing from the bucket and a secret missing from SSM, and passes again once they are back", async () => {
    const spec = staging();
    const region = spec.knobs.region;
    const s3 = await s3Client(S3Client, region);
    const ssm = awsClient(SSMClient, region);
    const release = spec.knobs.releases.shop!;
    const Bucket = artifactBucketName(spec);
    const sumKey = `shop/${release}.sha256`;
    const secret = "/fawkes/staging/shop/SHOP_SECRET_KEY";
    const sum = readFileSync(artifactPaths(defaultStore(), "shop", release).sha256);
    const value = (await ssm.send(new GetParameterCommand({ Name: secret, WithDecryption: true }))).Parameter!.Value!;
    const ready = await check();
    expect(ready.code, ready.problems).toBe(0);
    await s3.send(new DeleteObjectCommand({ Bucket, Key: sumKey }));
    await ssm.send(new DeleteParameterCommand({ Name: secret }));
    try {
      const { code, problems } = await check();
      expect(code).toBe(1);
      expect(problems).toContain(release);
      expect(problems).toContain("SHOP_SECRET_KEY");
    } finally {
      await s3.send(new PutObjectCommand({ Bucket, Key: sumKey, Body: sum }));
      await ssm.send(new PutParameterCommand({ Name: secret, Value: value, Type: "SecureString" }));
    }
    const after = await check();
    expect(after.code, after.problems).toBe(0);
    s3.destroy();
    ssm.destroy();
  }, 180_000);

  it("refuses a release whose artifact is not in the bucket before anything changes: no pin, no launch-template version, no host", async () => {
    const spec = staging();
    const hosts = state.instances.map((i) => i.instanceId);
    const e = await twinRelease({ root, stack: "staging", app: "shop", release: ids.shop2, kind: "release", command: `fawkes release shop ${ids.shop2} --stack staging --target twin`, echo: (m) => log.push(m) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AwsCheckError);
    expect((e as Error).message).toContain(`release ${ids.shop2} of shop is not in s3://${artifactBucketName(spec)}/shop/`);
    expect(staging().knobs.releases.shop).toBe(ids.shop1);
    expect(readTwinState(twinLayout("staging"))!.instances.map((i) => i.instanceId)).toEqual(hosts);
    expect(readHistory("staging", twinHome("staging"))).toEqual([]);
  }, 180_000);

  it("releases the blog's v2 as on AWS: pulumi up makes launch-template versions, fawkes drives each role's refresh, canary then batch; every host serves v2, the history says succeeded", async () => {
    const spec = staging();
    await pushRelease(stackArtifactBucket(spec), "blog", ids.blog2, artifactPaths(defaultStore(), "blog", ids.blog2));
    const ofRole = (role: string) => state.instances.filter((i) => i.role === role).map((i) => i.instanceId).sort();
    const [oldWeb, oldWorker] = [ofRole("web"), ofRole("worker")];
    // As a user runs it: the CLI, its progress on stderr, the history entry as JSON on stdout.
    const run = await project.fawkes("release", "blog", ids.blog2, "--stack", "staging", "--target", "twin", "--json");
    const lines = run.err.split("\n");
    expect(run.code, run.err).toBe(0);
    const entry = JSON.parse(run.out) as HistoryEntry;
    state = readTwinState(twinLayout("staging"))!;
    expect(entry.result).toBe("succeeded");
    expect(entry.target).toBe("aws");
    expect(lines.join("\n")).toMatch(/launch template lt-[0-9a-f]+ version 2 \(UserData changed/);
    expect(lines.join("\n")).toMatch(/instance refresh .* started/);
    // Phoenix: every web host is new, on version 2 of its template. The blog runs on no worker host:
    // the worker's user-data did not change, so neither did its template, and no worker was replaced.
    expect(entry.hostsReplaced.sort()).toEqual(oldWeb);
    expect(state.instances.filter((i) => i.role === "web").map((i) => [i.version, i.boot.ok, oldWeb.includes(i.instanceId)])).toEqual([
      ["2", true, false],
      ["2", true, false],
    ]);
    expect(ofRole("worker")).toEqual(oldWorker);
    expect(lines.join("\n")).toMatch(/-worker: already runs launch template lt-[0-9a-f]+ version 1; no host to replace/);
    expect(await blogReleases()).toEqual([ids.blog2, ids.blog2]);
    expect(staging().knobs.releases.blog).toBe(ids.blog2);
    const history = await project.fawkes("history", "--stack", "staging", "--twin", "--json");
    expect((JSON.parse(history.out) as HistoryEntry[]).at(-1)).toMatchObject({ kind: "release", app: "blog", from: ids.blog1, to: ids.blog2, result: "succeeded" });
  }, 900_000);

  it("a release whose hosts fail health rolls back: the canary reports itself Unhealthy, the group goes back to its version, the release before still serves, the pin is restored, the history says rolled back", async () => {
    const spec = staging();
    await pushRelease(stackArtifactBucket(spec), "blog", ids.blogBroken, artifactPaths(defaultStore(), "blog", ids.blogBroken));
    const serving = state.instances.map((i) => i.instanceId);
    // What serves before: v2 after the release above, v1 when this test runs alone.
    const from = spec.knobs.releases.blog!;
    expect(await blogReleases()).toEqual([from, from]);
    const asg = awsClient(AutoScalingClient, spec.knobs.region);
    const webGroup = async () => (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [state.world.groups.find((g) => g.name.endsWith("-web"))!.name] }))).AutoScalingGroups![0]!;
    const version = (await webGroup()).LaunchTemplate?.Version;
    const run = await project.fawkes("release", "blog", ids.blogBroken, "--stack", "staging", "--target", "twin", "--json");
    const lines = run.err.split("\n");
    expect(run.code, run.err).toBe(1);
    const entry = JSON.parse(run.out) as HistoryEntry;
    state = readTwinState(twinLayout("staging"))!;
    expect(entry.result, lines.join("\n")).toBe("rolled-back");
    expect(entry.failure).toContain("rolled back");
    expect(entry.failure).toContain(`The pin is restored to ${from}`);
    expect(lines.join("\n")).toMatch(/failed to become healthy/);
    // The hosts that served serve still; the failed canary is gone; the group launches the version it did.
    expect(state.instances.map((i) => i.instanceId).sort()).toEqual(serving.sort());
    expect(await blogReleases()).toEqual([from, from]);
    expect(staging().knobs.releases.blog).toBe(from);
    const after = await webGroup();
    asg.destroy();
    expect([after.LaunchTemplate?.Version, after.DesiredCapacity]).toEqual([version, 2]);
    expect(readHistory("staging", twinHome("staging")).at(-1)).toMatchObject({ app: "blog", from, to: ids.blogBroken, result: "rolled-back" });
  }, 900_000);

  it("twin down leaves the machine as it was: no namespace, card, mount or dir of the twin", async () => {
    const layout = twinLayout("staging");
    expect(readTwinState(layout)).toBeDefined();
    await twinDown("staging");
    // Only the twin's own names: other e2e files boot local hosts on this machine meanwhile.
    const after = await machineSnapshot();
    const mine = (n: string) => n.startsWith(layout.netnsPrefix) || n.startsWith(layout.ifPrefix) || n === layout.bridge || n.startsWith(layout.dir);
    expect(after.netns.filter((n) => mine(n) && !before.netns.includes(n))).toEqual([]);
    expect(after.links.filter((n) => mine(n) && !before.links.includes(n))).toEqual([]);
    expect(after.mounts.filter((n) => mine(n) && !before.mounts.includes(n))).toEqual([]);
    expect(after.netns.filter(mine)).toEqual([]);
    expect(after.links.filter(mine)).toEqual([]);
    expect(existsSync(layout.dir)).toBe(false);
  });
});
