import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tagged, type Tags } from "./tags.ts";

export interface ArtifactStoreArgs {
  /** The bucket hosts fetch release artifacts from: `HostPlan.stores.artifactBucket`, exactly. */
  bucketName: string;
  /**
   * A QA stack's bucket goes with its stack: `pulumi destroy` deletes every object version first.
   * Every other stack's refuses to be deleted while it holds a release.
   */
  forceDestroy: boolean;
  /** Knob artifacts.noncurrentDays: how long a replaced object version is kept. */
  noncurrentDays: number;
  /** Where the hosts' database dumps go (`backups/<stack>/`), and how many days they are kept (knob backupRetentionDays). */
  dumps: { prefix: string; days: number };
  tags: Tags;
}

/** Parts of an upload that never completed are deleted after this many days (they cost storage and show nowhere). */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 7;

/**
 * The bucket's lifecycle: releases (current versions) stay as long as the bucket; versions replaced
 * or deleted go after `noncurrentDays`, with the delete markers left alone; dumps expire after
 * their retention.
 */
export function artifactLifecycleRules(args: Pick<ArtifactStoreArgs, "noncurrentDays" | "dumps">): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  return [
    {
      id: "noncurrent-versions",
      status: "Enabled",
      filter: { prefix: "" },
      noncurrentVersionExpiration: { noncurrentDays: args.noncurrentDays },
      abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS },
      expiration: { expiredObjectDeleteMarker: true },
    },
    { id: "database-dumps", status: "Enabled", filter: { prefix: args.dumps.prefix }, expiration: { days: args.dumps.days } },
  ];
}

/**
 * The S3 bucket of release artifacts: private (every public access block on, ACLs off),
 * versioned (a release artifact is never lost to an overwrite), encrypted at rest, TLS only.
 */
export class ArtifactStore extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;

  constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:storage:ArtifactStore", name, {}, opts);
    const bucket = buildArtifactStore(this, name, args);
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}

export function buildArtifactStore(parent: pulumi.Resource, name: string, args: ArtifactStoreArgs): aws.s3.Bucket {
  const opts = { parent };
  const bucket = new aws.s3.Bucket(`${name}-bucket`, { bucket: args.bucketName, forceDestroy: args.forceDestroy, tags: tagged(args.tags, args.bucketName) }, opts);
  // Children refer to the bucket by name: known at preview, so the policy pack can match them.
  const ref = bucket.bucket;
  const block = new aws.s3.BucketPublicAccessBlock(
    `${name}-public-access`,
    { bucket: ref, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    opts,
  );
  new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: ref, rule: { objectOwnership: "BucketOwnerEnforced" } }, opts);
  const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: ref, versioningConfiguration: { status: "Enabled" } }, opts);
  // After versioning: S3 applies noncurrent-version rules only to a versioned bucket.
  new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket: ref, rules: artifactLifecycleRules(args) }, { parent, dependsOn: [versioning] });
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-encryption`,
    { bucket: ref, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
    opts,
  );
  new aws.s3.BucketPolicy(
    `${name}-tls-only`,
    { bucket: ref, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyPolicy(arn))) },
    { parent, dependsOn: [block] },
  );
  return bucket;
}

/** Denies every request that does not come over TLS. */
export function tlsOnlyPolicy(bucketArn: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "TlsOnly",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}
