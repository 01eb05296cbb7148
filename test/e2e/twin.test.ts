// The AWS twin of staging, booted once for this file: the launch templates' user-data, unchanged,
// by cloud-init's Ec2 datasource against IMDSv2, the AWS APIs in moto, RDS as PostgreSQL with TLS.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from "@aws-sdk/client-auto-scaling";
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { artifactBucketName, artifactPaths, defaultStore } from "../../src/artifact/index.ts";
import { awsClient, s3Client } from "../../src/aws/clients.ts";
import { loadStack } from "../../src/config/index.ts";
import { httpStatus } from "../../src/local/health.ts";
import { inHost } from "../../src/local/host.ts";
import { pulumiConfigOf, runProgram } from "../../src/plan/program.ts";
import { twinLayout } from "../../src/twin/layout.ts";
import { readTwinState, twinDown, twinScaleOut, twinUp, type TwinState } from "../../src/twin/up.ts";
import { machineSnapshot, requireRoot, type MachineSnapshot } from "./machine.ts";

const ROOT = join(import.meta.dirname, "../..");
const staging = loadStack(ROOT, "staging");
const quiet = () => {};
let before: MachineSnapshot;
let state: TwinState;
const log: string[] = [];

const instance = (name: string) => state.instances.find((i) => i.name === name)!;
const front = (host: string, path = "/") => httpStatus("127.0.0.1", state.port, path, host, 10_000);

beforeAll(async () => {
  requireRoot();
  await twinDown("staging");
  before = await machineSnapshot();
  let out = "";
  const code = await main(["build", "--all"], { out: (t) => (out += t), err: quiet, cwd: ROOT });
  if (code !== 0) throw new Error(`fawkes build --all failed (exit ${code}):\n${out}`);
  state = await twinUp(ROOT, staging, { progress: (m) => log.push(m) });
}, 1_200_000);

afterAll(async () => {
  if (process.getuid?.() !== 0) return;
  await twinDown("staging");
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
      expect(data.v1).toMatchObject({ cloud_name: "aws", platform: "ec2", instance_id: i.instanceId, region: staging.knobs.region });
      const result = readFileSync(`/proc/${i.init}/root/run/cloud-init/result.json`, "utf8");
      expect(JSON.parse(result).v1.datasource).toMatch(/^DataSourceEc2(Local)?/);
    }
  });

  it("boots the launch template's user-data byte for byte, as `pulumi up` would send it", async () => {
    const run = await runProgram(ROOT, "staging", pulumiConfigOf(ROOT, "staging"), { secrets: "reveal" });
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

  it("plays RDS with TLS required: the app's own role connects over TLS, a plain connection is refused", async () => {
    const web = instance("staging-web-1");
    const ssm = awsClient(SSMClient, staging.knobs.region);
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
    const region = staging.knobs.region;
    const ssm = awsClient(SSMClient, region);
    const secret = "/fawkes/staging/shop/SHOP_SECRET_KEY";
    const value = (await ssm.send(new GetParameterCommand({ Name: secret, WithDecryption: true }))).Parameter!.Value!;
    const group = state.world.groups.find((g) => g.name.endsWith("-web"))!.name;
    await ssm.send(new DeleteParameterCommand({ Name: secret }));
    let one: Awaited<ReturnType<typeof twinScaleOut>>;
    try {
      one = await twinScaleOut(staging, group, { progress: (m) => log.push(m) });
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
  }, 600_000);

  it("check --target aws names a pinned release missing from the bucket and a secret missing from SSM, and neither once they are back", async () => {
    const region = staging.knobs.region;
    const s3 = await s3Client(S3Client, region);
    const ssm = awsClient(SSMClient, region);
    const release = staging.knobs.releases.shop!;
    const Bucket = artifactBucketName(staging);
    const sumKey = `shop/${release}.sha256`;
    const secret = "/fawkes/staging/shop/SHOP_SECRET_KEY";
    const sum = readFileSync(artifactPaths(defaultStore(), "shop", release).sha256);
    const value = (await ssm.send(new GetParameterCommand({ Name: secret, WithDecryption: true }))).Parameter!.Value!;
    // As a user runs it against the twin: AWS_ENDPOINT_URL (twin up set it for this process) and the CLI.
    const named = async () => {
      let problems = "";
      const code = await main(["check", "--target", "aws", "--stack", "staging"], { out: () => {}, err: (t) => (problems += t), cwd: ROOT });
      expect(code, problems).toBe(1); // the sample stack's placeholders (certificate, AMI) stay problems
      return problems;
    };
    await s3.send(new DeleteObjectCommand({ Bucket, Key: sumKey }));
    await ssm.send(new DeleteParameterCommand({ Name: secret }));
    try {
      const problems = await named();
      expect(problems).toContain(release);
      expect(problems).toContain("SHOP_SECRET_KEY");
    } finally {
      await s3.send(new PutObjectCommand({ Bucket, Key: sumKey, Body: sum }));
      await ssm.send(new PutParameterCommand({ Name: secret, Value: value, Type: "SecureString" }));
    }
    const after = await named();
    expect(after).not.toContain(release);
    expect(after).not.toContain("SHOP_SECRET_KEY");
    s3.destroy();
    ssm.destroy();
  }, 120_000);

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
