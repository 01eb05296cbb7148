// The URNs of a stack's artifact store, for the targeted `up` that creates the bucket before the
// first push (hosts fetch their releases from it, so it must hold them before any host boots).
// Pulumi names a resource `urn:pulumi:<stack>::<project>::<type chain>::<name>`, the type chain
// being the types of its component parents (never the root stack), outermost first, joined by `$`:
// the rule of the SDK's own `createUrn`. test/unit/qa-aws.test.ts checks these against the
// resources the program registers under Pulumi mocks.

/** The root stack resource's type: parent of every top-level resource, never part of a chain. */
const ROOT_STACK = "pulumi:pulumi:Stack";

/** One URN: `types` is the chain of component types down to the resource's own type. */
export function urnOf(stack: string, project: string, types: readonly string[], name: string): string {
  return `urn:pulumi:${stack}::${project}::${types.join("$")}::${name}`;
}

/** index.ts builds one Environment named after the project, with an explicit AWS provider named `aws`. */
const ENVIRONMENT = "fawkes:index:Environment";
const ARTIFACT_STORE = "fawkes:storage:ArtifactStore";

/** Children of components/artifact-store.ts, by name suffix after `<store>-`. */
const STORE_CHILDREN: ReadonlyArray<readonly [type: string, suffix: string]> = [
  ["aws:s3/bucket:Bucket", "bucket"],
  ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "public-access"],
  ["aws:s3/bucketOwnershipControls:BucketOwnershipControls", "ownership"],
  ["aws:s3/bucketVersioning:BucketVersioning", "versioning"],
  ["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lifecycle"],
  ["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "encryption"],
  ["aws:s3/bucketPolicy:BucketPolicy", "tls-only"],
];

export interface ArtifactStoreUrns {
  /** The bucket itself: in the stack's state once it exists. */
  bucket: string;
  /** The store component and its children. */
  store: string[];
  /**
   * What a targeted `up` must name to create the store in an empty stack: a targeted resource
   * whose parent or provider is neither targeted nor in the state fails the update, so the root
   * stack, the explicit provider and the Environment component come first.
   */
  targets: string[];
}

export function artifactStoreUrns(project: string, stack: string): ArtifactStoreUrns {
  const environment = project;
  const store = `${environment}-artifacts`;
  const children = STORE_CHILDREN.map(([type, suffix]) => urnOf(stack, project, [ENVIRONMENT, ARTIFACT_STORE, type], `${store}-${suffix}`));
  const storeUrns = [urnOf(stack, project, [ENVIRONMENT, ARTIFACT_STORE], store), ...children];
  return {
    bucket: children[0]!,
    store: storeUrns,
    targets: [urnOf(stack, project, [ROOT_STACK], `${project}-${stack}`), urnOf(stack, project, ["pulumi:providers:aws"], "aws"), urnOf(stack, project, [ENVIRONMENT], environment), ...storeUrns],
  };
}
