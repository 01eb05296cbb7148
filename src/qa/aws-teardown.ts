// What `qa down` and `qa gc` do around `pulumi destroy` of a QA stack on AWS, as a plan made from
// the stack's own state (pure: no SDK, no Pulumi). Two things stop or outlive a destroy:
// - a versioned bucket that still holds object versions or delete markers: S3 refuses to delete it
//   (BucketNotEmpty), and the provider empties it only when `forceDestroy` is true *in the state*:
//   a stack made before QA buckets had it keeps false until an `up`, so the bucket is emptied first;
// - a log group a host's CloudWatch agent writes to: the agent creates it again when Pulumi has
//   deleted it while hosts were still shutting down, so it is deleted again afterwards.
// A backup vault (QA stacks made before they stopped keeping backups) cannot be deleted while it
// holds recovery points; fawkes has no AWS Backup client, so a vault the state says holds some is
// refused before anything is touched, and a failed destroy of one says which commands delete them.
import { isQaStack } from "../names/index.ts";
import { QaError } from "./registry.ts";

/** One resource of a stack's state (`pulumi stack export`), as much as the plan reads. */
export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

export type TeardownStep =
  /** Delete every object version and delete marker, so the bucket itself can go. */
  | { kind: "empty-bucket"; bucket: string }
  /** Delete the log group if it exists (again). */
  | { kind: "delete-log-group"; logGroup: string };

export interface TeardownPlan {
  stack: string;
  /** Where the stack's resources are: its AWS provider's region. */
  region: string;
  beforeDestroy: TeardownStep[];
  afterDestroy: TeardownStep[];
  /**
   * A stack made before QA stacks stopped keeping backups has a vault in its state; the count of
   * recovery points there is the one of its last update, so the destroy may still fail on it: what to do then.
   */
  vaultAdvice?: string;
}

export const TYPES = {
  provider: "pulumi:providers:aws",
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  vault: "aws:backup/vault:Vault",
} as const;

const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** A resource's physical name: the output that holds it, else its id. */
function nameOf(r: StateResource, key: string): string | undefined {
  return text(r.outputs?.[key]) ?? text(r.inputs?.[key]) ?? text(r.id);
}

function regionOf(stack: string, state: readonly StateResource[]): string {
  for (const r of state.filter((x) => x.type === TYPES.provider)) {
    const region = text(r.outputs?.region) ?? text(r.inputs?.region);
    if (region) return region;
  }
  for (const r of state.filter((x) => x.type === TYPES.bucket || x.type === TYPES.bucketV2)) {
    const region = text(r.outputs?.region);
    if (region) return region;
  }
  throw new QaError(`${stack}: its state names no AWS region (no aws provider, no bucket with a region); remove its resources with pulumi destroy yourself`);
}

/**
 * The plan for one QA stack: refuses any stack that is not a QA branch stack (qa-<branch>), and a
 * stack whose state says its backup vault holds recovery points; otherwise the buckets to empty
 * before the destroy and the log groups to delete after it. An empty state makes an empty plan.
 */
export function teardownPlan(stack: string, state: readonly StateResource[]): TeardownPlan {
  if (!isQaStack(stack)) throw new QaError(`refusing to tear down ${stack}: not a QA stack (qa-<branch>); qa never empties or deletes another stack's buckets or logs`);
  const buckets = state.filter((r) => r.type === TYPES.bucket || r.type === TYPES.bucketV2).flatMap((r) => nameOf(r, "bucket") ?? []);
  const logGroups = state.filter((r) => r.type === TYPES.logGroup).flatMap((r) => nameOf(r, "name") ?? []);
  const vaults = state.filter((r) => r.type === TYPES.vault).map((v) => ({ name: nameOf(v, "name") ?? "<vault>", points: Number(v.outputs?.recoveryPoints ?? 0) }));
  // Nothing to empty or delete (a first up that failed early, a state already destroyed): no region needed.
  if (buckets.length + logGroups.length + vaults.length === 0) return { stack, region: "", beforeDestroy: [], afterDestroy: [] };
  const region = regionOf(stack, state);
  const vaultAdvice =
    vaults.length === 0
      ? undefined
      : `AWS deletes a backup vault only once it holds no recovery point, and fawkes has no AWS Backup client to delete them: ${vaults
          .map(
            (v) =>
              `list vault ${v.name}'s (aws backup list-recovery-points-by-backup-vault --region ${region} --backup-vault-name ${v.name} --query 'RecoveryPoints[].RecoveryPointArn') and delete each (aws backup delete-recovery-point --region ${region} --backup-vault-name ${v.name} --recovery-point-arn <arn>)`,
          )
          .join("; ")}; then run qa down again`;
  const known = vaults.filter((v) => v.points > 0);
  if (known.length > 0) {
    throw new QaError(`${stack} was made by a fawkes that kept backups of QA stacks: its state says ${known.map((v) => `vault ${v.name} holds ${v.points} recovery point(s)`).join(", ")}; ${vaultAdvice} (nothing was destroyed)`);
  }
  return {
    stack,
    region,
    beforeDestroy: buckets.map((bucket) => ({ kind: "empty-bucket", bucket })),
    afterDestroy: logGroups.map((logGroup) => ({ kind: "delete-log-group", logGroup })),
    ...(vaultAdvice ? { vaultAdvice } : {}),
  };
}

/** A step as progress shows it. */
export function stepText(step: TeardownStep): string {
  return step.kind === "empty-bucket" ? `emptying bucket ${step.bucket} (every object version and delete marker)` : `deleting log group ${step.logGroup} if a host's agent made it again`;
}
