// The real Pulumi program (index.ts), fed the config Pulumi would give it.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { storesOf } from "../../src/model/index.ts";
import { runProgram as run, type MockOptions } from "../../src/plan/program.ts";
import { filesOfBundle } from "../../src/render/index.ts";
import { testReleaseSums } from "../helpers/release-sums.ts";
import { pulumiConfigOf, resolved, ROOT, specOf, type CapturedInvoke, type CapturedResource } from "./harness.ts";

interface Program {
  urls: Record<string, string>;
  fleets: pulumi.Output<Record<string, string>>;
  loadBalancerDnsName: pulumi.Output<string>;
}

/** Runs index.ts for a stack under mocks, with `config` as Pulumi's merged config. */
async function runProgram(
  stack: string,
  config: Record<string, string>,
  releaseSums: MockOptions["releaseSums"] = testReleaseSums(specOf(stack)),
): Promise<{ program: Program; resources: CapturedResource[]; invokes: CapturedInvoke[] }> {
  // The bucket answers the program's reads of each release's .sha256 with the tests' own artifacts' sums.
  const { exports, resources, invokes } = await run(ROOT, stack, config, { releaseSums });
  const program = exports as unknown as Program;
  await resolved(program.fleets);
  return { program, resources, invokes };
}

describe("index.ts", () => {
  it("builds the staging environment from Pulumi's config, through an AWS provider in the stack's region", async () => {
    const config = pulumiConfigOf("staging");
    expect(JSON.parse(config["fawkes:catalogue"]!).apps.map((a: { name: string }) => a.name)).toEqual(["shop", "blog"]);
    const { program, resources, invokes } = await runProgram("staging", config);
    expect(resources.find((r) => r.type === "pulumi:providers:aws")?.inputs.region).toBe("eu-west-1");
    expect(resources.find((r) => r.type === "fawkes:index:Environment")?.name).toBe("fawkes");
    for (const r of resources.filter((x) => x.type.startsWith("aws:"))) expect(r.provider, r.name).toMatch(/::pulumi:providers:aws::aws::/);
    for (const i of invokes) expect(i.provider, i.token).toMatch(/::pulumi:providers:aws::aws::/);
    expect(resources.filter((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate").map((r) => r.inputs.instanceType)).toEqual(["t3.medium", "t3.medium"]);
    expect(program.urls).toEqual({ shop: "https://shop.staging.fawkes.test", blog: "https://blog.staging.fawkes.test" });
    expect(await resolved(program.fleets)).toEqual({ web: "fawkes-staging-web", worker: "fawkes-staging-worker" });
    expect(await resolved(program.loadBalancerDnsName)).toMatch(/^fawkes-staging\./);
  });

  it("serves plain HTTP where the stack has no certificate", async () => {
    const { program, resources } = await runProgram("dev", pulumiConfigOf("dev"));
    expect(program.urls).toEqual({ shop: "http://shop.dev.fawkes.test", blog: "http://blog.dev.fawkes.test" });
    expect(resources.filter((r) => r.type === "aws:lb/listener:Listener").map((r) => r.inputs.protocol)).toEqual(["HTTP"]);
  });

  it("turns a configuration problem into a RunError that names it, without a stack trace", async () => {
    const error = await runProgram("dev", pulumiConfigOf("dev", { "fawkes:instanceTyp": "t3.large" })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain("config.fawkes:instanceTyp: not a knob");
    expect(message).toContain('did you mean "fawkes:instanceType"?');
    expect(message).not.toMatch(/\n\s+at /);
  });

  it("reads each pinned release's .sha256 from the stack's artifact bucket once, and pins that sum in the hosts' bundle", async () => {
    const spec = specOf("staging");
    const sums = testReleaseSums(spec);
    const { resources, invokes } = await runProgram("staging", pulumiConfigOf("staging"), sums);
    const reads = invokes.filter((i) => i.token === "aws:s3/getObject:getObject").map((i) => `${i.inputs.bucket}/${i.inputs.key}`);
    const bucket = storesOf(spec).artifactBucket;
    expect(reads.sort()).toEqual(Object.entries(spec.knobs.releases).map(([app, release]) => `${bucket}/${app}/${release}.sha256`).sort());
    const bundles = resources.filter((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2" && String(r.inputs.key).startsWith("_bundles/"));
    expect(bundles.length).toBeGreaterThan(0);
    for (const b of bundles) {
      const bootstrap = filesOfBundle(Buffer.from(String(b.inputs.contentBase64), "base64")).find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content;
      for (const [app, release] of Object.entries(spec.knobs.releases)) {
        if (bootstrap.includes(`APP=${app} `)) expect(bootstrap, `${b.name}: ${app}`).toContain(`RELEASE_SHA256=${sums[app]![release]}\n`);
      }
    }
  });

  it("refuses a release the bucket has no .sha256 for: a RunError naming app, release and the push that makes it", async () => {
    const spec = specOf("staging");
    const { shop: _shop, ...others } = testReleaseSums(spec);
    const error = await runProgram("staging", pulumiConfigOf("staging"), others).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(`release ${spec.knobs.releases.shop} of shop`);
    expect(message).toContain("fawkes build shop --push --stack staging");
    expect(message).not.toContain("of blog");
  });
});
