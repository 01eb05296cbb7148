// `pulumi up` of a release, played on the twin: the stack's program runs under Pulumi's mocks with
// the new pin (as `plan` runs it), and what a release changes is made in moto as the provider
// makes it on AWS: the new bundles put in the artifact bucket (a new key each), parameters whose
// value changed overwritten, and a new version of each launch template whose data changed, which
// no group launches yet (the group's version is the program's ignoreChanges; fawkes' refresh
// moves it). Anything else the program changed was made at `twin up`: a new twin shows it.
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateLaunchTemplateVersionCommand, DescribeLaunchTemplatesCommand, DescribeLaunchTemplateVersionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { releaseSumsIn, stackArtifactBucket } from "../artifact/index.ts";
import { awsClient, s3Client } from "../aws/clients.ts";
import { loadStack } from "../config/index.ts";
import { pulumiConfigOf, runProgram } from "../plan/program.ts";
import type { PulumiRunner } from "../release/aws.ts";
import { LAUNCH_TEMPLATES_OUTPUT, type StackOutputsReader } from "../release/stack-outputs.ts";
import { roleOf, type TwinContext } from "./fleet.ts";
import { launchTemplateDataOf, parameterValueOf, putObjectOf, putParameterOf, rewriteIds, worldResources } from "./world.ts";

/** The fields of a launch template a release may change; a new version carries the whole data, as the provider sends it. */
const CHANGING = ["UserData", "ImageId", "InstanceType"] as const;

/** Applies the stack's program at `root` to the twin's moto; one line per change. */
export async function applyToTwin(ctx: TwinContext, root: string, line: (l: string) => void): Promise<number> {
  const { spec, state } = ctx;
  const region = spec.knobs.region;
  // What the program's getObject would read: each pinned release's .sha256 in the twin's bucket.
  const pins = loadStack(root, spec.stack).knobs.releases;
  const { sums: releaseSums, missing } = await releaseSumsIn(stackArtifactBucket(spec), pins);
  if (missing.length > 0) throw new Error(missing.map((m) => `release ${m.release} of ${m.app} ${m.why}: push it (fawkes build ${m.app} --push --stack ${spec.stack})`).join("; "));
  const run = await runProgram(root, spec.stack, pulumiConfigOf(root, spec.stack), { secrets: "reveal", releaseSums });
  const ids = new Map(Object.entries(state.world.ids));
  const s3 = await s3Client(S3Client, region);
  const ssm = awsClient(SSMClient, region);
  const ec2 = awsClient(EC2Client, region);
  let changes = 0;
  try {
    for (const r of worldResources(run.resources)) {
      const i = rewriteIds(r.inputs, ids);
      if (r.type === "aws:s3/bucketObjectv2:BucketObjectv2") {
        const there = await s3.send(new HeadObjectCommand({ Bucket: i.bucket, Key: i.key })).then(() => true, () => false);
        if (there) continue;
        await s3.send(putObjectOf(i));
        line(`+ ${r.name}: s3://${i.bucket}/${i.key}`);
        changes++;
      } else if (r.type === "aws:ssm/parameter:Parameter") {
        const now = await ssm.send(new GetParameterCommand({ Name: i.name, WithDecryption: true })).then((o) => o.Parameter?.Value, () => undefined);
        if (now === parameterValueOf(i)) continue;
        await ssm.send(putParameterOf(i));
        line(`~ ${r.name}: parameter ${i.name}`);
        changes++;
      } else if (r.type === "aws:ec2/launchTemplate:LaunchTemplate") {
        const id = ids.get(r.id);
        if (id === undefined) throw new Error(`launch template ${r.name} was not made by twin up; fawkes twin down and up`);
        const latest = (await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ["$Latest"] }))).LaunchTemplateVersions?.[0];
        const want = launchTemplateDataOf(i);
        const changed = CHANGING.filter((k) => latest?.LaunchTemplateData?.[k] !== want[k]);
        if (changed.length === 0) continue;
        const made = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: want }));
        line(`~ ${r.name}: launch template ${id} version ${made.LaunchTemplateVersion?.VersionNumber} (${changed.join(", ")} changed; no host replaced)`);
        changes++;
      }
    }
  } finally {
    s3.destroy();
    ssm.destroy();
    ec2.destroy();
  }
  line(`twin: ${changes} change(s) applied to ${spec.stack}'s twin`);
  return changes;
}

/** `pulumi up --stack S` for the twin of S; anything else is refused, as it is not the twin's to run. */
export function twinPulumi(ctx: TwinContext): PulumiRunner {
  return async (argv, cwd, line) => {
    const stack = argv[argv.indexOf("--stack") + 1];
    if (argv[0] !== "pulumi" || argv[1] !== "up" || stack !== ctx.spec.stack) return { error: `the twin of ${ctx.spec.stack} plays only pulumi up --stack ${ctx.spec.stack}, not ${argv.join(" ")}` };
    try {
      await applyToTwin(ctx, cwd, line);
      return { exitCode: 0 };
    } catch (e) {
      line(`error: ${(e as Error).message}`);
      return { exitCode: 1 };
    }
  };
}

/** The program's `launchTemplates` output, as the twin's moto has it: per role, the group, its template and the newest version. */
export function twinOutputs(ctx: TwinContext): StackOutputsReader {
  return async () => {
    const region = ctx.spec.knobs.region;
    const asg = awsClient(AutoScalingClient, region);
    const ec2 = awsClient(EC2Client, region);
    try {
      const groups = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ctx.state.world.groups.map((g) => g.name) }))).AutoScalingGroups ?? [];
      const out: Record<string, { launchTemplateId: string; groupName: string; version: string }> = {};
      for (const g of groups) {
        const id = g.LaunchTemplate?.LaunchTemplateId;
        if (!id) continue;
        const t = (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))).LaunchTemplates?.[0];
        out[roleOf(ctx.plan, t?.LaunchTemplateName ?? "")] = { launchTemplateId: id, groupName: g.AutoScalingGroupName!, version: String(t?.LatestVersionNumber ?? 1) };
      }
      return { [LAUNCH_TEMPLATES_OUTPUT]: out };
    } finally {
      asg.destroy();
      ec2.destroy();
    }
  };
}
