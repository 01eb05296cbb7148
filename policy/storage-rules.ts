// Rules on where data rests: EFS and S3 encrypted, buckets never public.
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypes, list, refersTo, truthy, TYPES } from "./resources";

const BLOCK_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;
const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];

export const efsEncrypted: ResourceValidationPolicy = {
  name: "efs-encrypted",
  description: "EFS file systems are encrypted at rest.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([TYPES.fileSystem], (p, report) => {
    if (!truthy(p.encrypted)) report("the file system is not encrypted; set encrypted: true (changing it later replaces the file system)");
  }),
};

function flagsOff(props: Record<string, unknown>): string[] {
  return BLOCK_FLAGS.filter((f) => !truthy(props[f]));
}

export const s3PublicAccessBlocked: ResourceValidationPolicy = {
  name: "s3-public-access-blocked",
  description: `S3 public access blocks set all four flags: ${BLOCK_FLAGS.join(", ")}.`,
  enforcementLevel: "mandatory",
  validateResource: forTypes([TYPES.publicAccessBlock], (p, report) => {
    const off = flagsOff(p);
    if (off.length > 0) report(`${off.join(", ")} ${off.length === 1 ? "is" : "are"} not true; a fawkes bucket is never public`);
  }),
};

function encryptionProblems(props: Record<string, unknown>): string[] {
  const rules = list(props.rules);
  if (rules.length === 0) return ["the encryption configuration has no rule"];
  return rules.flatMap((r, i) => {
    const alg = r?.applyServerSideEncryptionByDefault?.sseAlgorithm;
    return SSE_ALGORITHMS.includes(alg) ? [] : [`rules[${i}] encrypts with ${JSON.stringify(alg)}; use ${SSE_ALGORITHMS.join(" or ")}`];
  });
}

export const s3Encrypted: ResourceValidationPolicy = {
  name: "s3-encrypted",
  description: `S3 encryption configurations encrypt by default with ${SSE_ALGORITHMS.join(" or ")}.`,
  enforcementLevel: "mandatory",
  validateResource: forTypes([TYPES.encryption], (p, report) => {
    for (const problem of encryptionProblems(p)) report(problem);
  }),
};

/** Name and id of a bucket: what its companion resources' `bucket` holds. */
function bucketValues(b: PolicyResource): unknown[] {
  return [b.props?.bucket, b.props?.id];
}

export const s3BucketsProtected: StackValidationPolicy = {
  name: "s3-buckets-protected",
  description: "Every S3 bucket of the stack has a public access block with all four flags and a default encryption configuration.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const of = (type: string) => args.resources.filter((r) => r.type === type);
    const blocks = of(TYPES.publicAccessBlock);
    const encryptions = of(TYPES.encryption);
    for (const bucket of of(TYPES.bucket)) {
      const name = String(bucket.props?.bucket ?? bucket.name);
      const block = blocks.find((b) => refersTo(b, "bucket", bucket, bucketValues(bucket)));
      if (!block) report(`bucket ${name} has no public access block (aws.s3.BucketPublicAccessBlock with all four flags true)`, bucket.urn);
      else if (flagsOff(block.props).length > 0) report(`bucket ${name}'s public access block leaves ${flagsOff(block.props).join(", ")} off`, bucket.urn);
      const sse = encryptions.find((e) => refersTo(e, "bucket", bucket, bucketValues(bucket)));
      if (!sse) report(`bucket ${name} has no default encryption (aws.s3.BucketServerSideEncryptionConfiguration)`, bucket.urn);
      else for (const problem of encryptionProblems(sse.props)) report(`bucket ${name}: ${problem}`, bucket.urn);
    }
  },
};
