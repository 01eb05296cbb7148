// The launch templates carry exactly the rendered user-data, and every AWS name fits its limit,
// for the repository's stacks and for a QA branch stack with a very long branch name.
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { isQaEnvironment, loadStack } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { NAME_LIMITS } from "../../src/names/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";
import { captureEnvironment, ofType, ROOT, specOf, stacksOfTheRepository, type StackGraph } from "./harness.ts";

const LONG_BRANCH_STACK = "qa-feature-make-the-checkout-page-remember-the-last-address";

/** Explicit `name` props and their AWS limits. */
const LIMITS: ReadonlyArray<[type: string, prop: string, limit: number]> = [
  ["aws:lb/loadBalancer:LoadBalancer", "name", NAME_LIMITS.alb],
  ["aws:lb/targetGroup:TargetGroup", "name", NAME_LIMITS.targetGroup],
  ["aws:s3/bucket:Bucket", "bucket", NAME_LIMITS.s3Bucket],
  ["aws:iam/role:Role", "name", NAME_LIMITS.iamRole],
  ["aws:iam/instanceProfile:InstanceProfile", "name", NAME_LIMITS.iamInstanceProfile],
  ["aws:ec2/launchTemplate:LaunchTemplate", "name", NAME_LIMITS.launchTemplate],
  ["aws:autoscaling/group:Group", "name", NAME_LIMITS.autoScalingGroup],
  ["aws:ec2/securityGroup:SecurityGroup", "name", NAME_LIMITS.securityGroup],
  ["aws:dynamodb/table:Table", "name", 255],
  ["aws:sqs/queue:Queue", "name", NAME_LIMITS.sqsQueue],
  ["aws:cloudwatch/logGroup:LogGroup", "name", NAME_LIMITS.logGroup],
  ["aws:cloudwatch/metricAlarm:MetricAlarm", "name", NAME_LIMITS.alarm],
  ["aws:cloudwatch/eventRule:EventRule", "name", NAME_LIMITS.eventRule],
  ["aws:sns/topic:Topic", "name", NAME_LIMITS.snsTopic],
  ["aws:kms/alias:Alias", "name", "alias/".length + NAME_LIMITS.kmsAlias],
  ["aws:backup/vault:Vault", "name", NAME_LIMITS.backup],
  ["aws:backup/plan:Plan", "name", NAME_LIMITS.backup],
  ["aws:backup/selection:Selection", "name", NAME_LIMITS.backup],
];

const stacks = [...stacksOfTheRepository(), LONG_BRANCH_STACK];

describe.each(stacks)("stack %s", (stack) => {
  let g: StackGraph;
  beforeAll(async () => {
    g = await captureEnvironment(stack === LONG_BRANCH_STACK ? loadStack(ROOT, stack) : specOf(stack));
  });

  it("puts exactly the rendered user-data bytes of each role into its launch template", () => {
    const images = renderWithTestArtifacts(planEnvironment(g.spec));
    expect(images.map((i) => i.role)).toEqual(ofType(g, "aws:ec2/launchTemplate:LaunchTemplate").map((lt) => lt.name.replace(/^fawkes-|-template$/g, "")));
    for (const image of images) {
      const lt = ofType(g, "aws:ec2/launchTemplate:LaunchTemplate").find((r) => r.name === `fawkes-${image.role}-template`)!;
      const bytes = Buffer.from(lt.inputs.userData as string, "base64");
      expect(bytes.equals(Buffer.from(image.userDataBytes))).toBe(true);
      // What cloud-init reads: the text itself, or its gzip when over the 16 KiB limit.
      const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
      expect(text).toBe(image.userData);
      expect(text.startsWith("#cloud-config\n")).toBe(true);
    }
  });

  it("names every resource within its AWS limit, uniquely", () => {
    for (const [type, prop, limit] of LIMITS) {
      const names = ofType(g, type).map((r) => r.inputs[prop] as string);
      // A QA stack keeps no backups: its data goes with it (issue 16, finding 6).
      if (!(isQaEnvironment(g.spec) && type.startsWith("aws:backup/"))) expect(names.length, type).toBeGreaterThan(0);
      for (const n of names) expect(n.length, `${type} ${n}`).toBeLessThanOrEqual(limit);
      expect(new Set(names).size, type).toBe(names.length);
    }
    for (const r of ofType(g, "aws:lb/targetGroup:TargetGroup")) expect(r.inputs.name).toMatch(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/);
    for (const r of ofType(g, "aws:s3/bucket:Bucket")) expect(r.inputs.bucket).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    for (const r of ofType(g, "aws:sqs/queue:Queue")) expect(r.inputs.name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    for (const r of ofType(g, "aws:cloudwatch/logGroup:LogGroup")) expect(r.inputs.name).toMatch(/^[A-Za-z0-9_\-/.#]{1,512}$/);
    for (const type of ["aws:backup/vault:Vault", "aws:backup/plan:Plan"]) for (const r of ofType(g, type)) expect(r.inputs.name).toMatch(/^[A-Za-z0-9_-]{2,50}$/);
    for (const r of ofType(g, "aws:kms/alias:Alias")) expect(r.inputs.name).toMatch(/^alias\/[A-Za-z0-9/_-]+$/);
  });
});

describe("a long branch stack", () => {
  it("is loaded over the qa template and gets shortened, still distinct names", () => {
    const spec = loadStack(ROOT, LONG_BRANCH_STACK);
    expect(spec.template).toBe("qa");
    const bucket = planEnvironment(spec).hosts[0]!.stores.artifactBucket;
    expect(bucket.length).toBeLessThanOrEqual(NAME_LIMITS.s3Bucket);
    expect(bucket).not.toBe(planEnvironment(specOf("qa")).hosts[0]!.stores.artifactBucket);
  });
});
