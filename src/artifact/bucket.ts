// The artifact bucket of a stack, as its hosts read it (HostPlan.stores.artifactBucket).
import type { EnvironmentSpec } from "../config/index.ts";
import { planEnvironment } from "../model/index.ts";
import { s3Store, type ArtifactStore } from "./stores.ts";

/** The bucket's name: the same for every host of the stack. */
export function artifactBucketName(spec: EnvironmentSpec): string {
  const bucket = planEnvironment(spec).hosts[0]?.stores.artifactBucket;
  if (bucket === undefined) throw new Error(`stack ${spec.stack} plans no hosts, hence no artifact bucket`);
  return bucket;
}

/** The stack's bucket as an ArtifactStore, in the stack's region (an S3-compatible store through AWS_ENDPOINT_URL_S3). */
export function stackArtifactBucket(spec: EnvironmentSpec): ArtifactStore {
  return s3Store({ bucket: artifactBucketName(spec), region: spec.knobs.region });
}
