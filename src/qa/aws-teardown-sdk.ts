// The AWS calls of a QA stack's teardown (aws-teardown.ts makes the plan), and nothing more: a thin
// edge over the SDK's clients, tested against aws-sdk-client-mock sequences of this very code.
// Every step is idempotent: a bucket or log group already gone is a step done.
import { CloudWatchLogsClient, DeleteLogGroupCommand, ResourceNotFoundException } from "@aws-sdk/client-cloudwatch-logs";
import { DeleteObjectsCommand, ListObjectVersionsCommand, NoSuchBucket, S3Client, type ObjectIdentifier } from "@aws-sdk/client-s3";
import { awsClient, s3Client } from "../aws/clients.ts";
import type { Progress } from "../local/steps.ts";
import { stepText, type TeardownPlan, type TeardownStep } from "./aws-teardown.ts";
import { QaError } from "./registry.ts";

/** What one step removed. */
export interface StepResult {
  step: TeardownStep;
  /** empty-bucket: object versions and delete markers deleted; delete-log-group: 1 when it existed. */
  deleted: number;
}

/** The teardown's calls to AWS, in the stack's region: the SDK for real, a recording double in qa's tests. */
export interface QaTeardown {
  run(region: string, step: TeardownStep): Promise<StepResult>;
}

/** DeleteObjects takes at most 1,000 keys; ListObjectVersions returns at most 1,000 entries a page. */
const BATCH = 1000;

function gone(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return e instanceof NoSuchBucket || e instanceof ResourceNotFoundException || name === "NoSuchBucket" || name === "ResourceNotFoundException";
}

/**
 * Every version and delete marker of the bucket, page by page, each page deleted by version id
 * (which adds no delete marker) before the next is listed. A bucket that does not exist is empty.
 */
export async function emptyBucket(s3: S3Client, bucket: string): Promise<number> {
  let deleted = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  try {
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: BATCH, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
      const objects: ObjectIdentifier[] = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].filter((v) => v.Key !== undefined).map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
      for (let i = 0; i < objects.length; i += BATCH) {
        const batch = objects.slice(i, i + BATCH);
        const r = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
        const errors = r.Errors ?? [];
        if (errors.length > 0) {
          const first = errors.slice(0, 3).map((e) => `${e.Key} (${e.VersionId ?? "no version"}): ${e.Code} ${e.Message ?? ""}`.trim());
          throw new QaError(`emptying bucket ${bucket}: S3 did not delete ${errors.length} of ${batch.length} object versions, e.g. ${first.join("; ")}; nothing was destroyed: fix the cause (permissions, object lock) and run qa down again`);
        }
        deleted += batch.length;
      }
      if (!page.IsTruncated) return deleted;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
  } catch (e) {
    if (gone(e)) return deleted;
    throw e;
  }
}

export async function deleteLogGroup(logs: CloudWatchLogsClient, logGroup: string): Promise<number> {
  try {
    await logs.send(new DeleteLogGroupCommand({ logGroupName: logGroup }));
    return 1;
  } catch (e) {
    if (gone(e)) return 0;
    throw e;
  }
}

/** The SDK teardown: clients made in src/aws/clients.ts, one per service and region. */
export function sdkTeardown(): QaTeardown {
  const s3 = new Map<string, Promise<S3Client>>();
  const logs = new Map<string, CloudWatchLogsClient>();
  return {
    async run(region, step) {
      if (step.kind === "empty-bucket") {
        if (!s3.has(region)) s3.set(region, s3Client(S3Client, region));
        return { step, deleted: await emptyBucket(await s3.get(region)!, step.bucket) };
      }
      if (!logs.has(region)) logs.set(region, awsClient(CloudWatchLogsClient, region));
      return { step, deleted: await deleteLogGroup(logs.get(region)!, step.logGroup) };
    },
  };
}

/** Runs steps in order, each reported before and after; the first failure stops the rest. */
export async function runSteps(teardown: QaTeardown, plan: TeardownPlan, steps: readonly TeardownStep[], progress: Progress): Promise<StepResult[]> {
  const out: StepResult[] = [];
  for (const step of steps) {
    progress(`${plan.stack}: ${stepText(step)}`);
    const r = await teardown.run(plan.region, step);
    if (step.kind === "empty-bucket") progress(`${plan.stack}: ${step.bucket}: ${r.deleted} object version(s) and delete marker(s) deleted`);
    else if (r.deleted > 0) progress(`${plan.stack}: log group ${step.logGroup} deleted`);
    out.push(r);
  }
  return out;
}
