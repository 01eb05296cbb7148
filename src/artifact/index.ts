// src/artifact: release artifacts. The release id from committed source, the build plan (source,
// wheelhouse, the venv built in the golden image at the hosts' path, build hooks), the manifest,
// a reproducible tar.gz, the stores hosts fetch it from (a local dir, the environment's S3 bucket)
// behind one interface, and their retention.
export { buildArtifact, BuildNeedsRootError, LockChangedError, needsRootMessage, type BuildOptions, type BuildResult } from "./build.ts";
export { digestTree, manifestJson, manifestOf, MANIFEST, verifyTree, type Manifest, type WheelEntry } from "./manifest.ts";
export { BUILD_MOUNT, buildDirs, ENTER_IMAGE, hookEnv, imageEnv, inImage, isWebApp, shippedRequirements, sourceSteps, tarArgv, venvSteps, wheelhouseSteps, WHEELHOUSE_SCRIPT, type BuildContext } from "./plan.ts";
export {
  canonicalName, librariesUsed, parseProjectTable, releaseIdFrom, releaseIdOf, releaseSourceOf, ReleaseSourceError, requirementNames, treeIdOf,
  uncommittedChanges, type ReleaseSource, type RepoLibrary,
} from "./release-id.ts";
export { protectedReleases, pruneReleases, releasesToPrune, removeStoredArtifact, storedReleases, type StoredRelease } from "./retention.ts";
export { artifactBucketName, stackArtifactBucket } from "./bucket.ts";
export { localStore, pruneStore, pushRelease, s3Store, type ArtifactFiles, type ArtifactStore, type S3StoreOptions } from "./stores.ts";
export { artifactPaths, CorruptArtifactError, defaultStore, publish, sha256OfFile, storedArtifact, type ArtifactPaths } from "./store.ts";
export { buildPinnedIfMissing } from "./pinned.ts";
export { releaseSumsIn, type ReleaseSumsRead } from "./sums.ts";
