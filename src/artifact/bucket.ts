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

/** The stack's bucket as an ArtifactStore, in the stack's region; FAWKES_S3_ENDPOINT for S3-compatible stores. */
export function stackArtifactBucket(spec: EnvironmentSpec): ArtifactStore {
  const endpoint = process.env.FAWKES_S3_ENDPOINT || undefined;
  return s3Store({ bucket: artifactBucketName(spec), region: spec.knobs.region, ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });
}
