import { createHash } from "node:crypto";
import { chmodSync, createReadStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fawkesHome } from "../local/image.ts";

/** The local artifact store: a dir per app holding `<release>.tar.gz` and `<release>.sha256`. */
export function defaultStore(): string {
  return join(fawkesHome(), "artifacts");
}

export interface ArtifactPaths {
  dir: string;
  tarball: string;
  /** Holds just the 64-hex sha256 of the tarball, as hosts' bootstrap expects. Written last. */
  sha256: string;
  /** When, where and how long: kept out of the tarball so that the tarball stays reproducible. */
  buildInfo: string;
  lock: string;
}

export function artifactPaths(store: string, app: string, release: string): ArtifactPaths {
  const dir = join(store, app);
  return {
    dir,
    tarball: join(dir, `${release}.tar.gz`),
    sha256: join(dir, `${release}.sha256`),
    buildInfo: join(dir, `${release}.build.json`),
    lock: join(dir, `.${release}.lock`),
  };
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export class CorruptArtifactError extends Error {}

/**
 * The stored artifact's sha256 when the release is in the store (its .sha256 is written last, so
 * its presence means complete), undefined when it is not. A tarball that no longer matches its
 * .sha256 is an error, never silently rebuilt over.
 */
export async function storedArtifact(paths: ArtifactPaths): Promise<string | undefined> {
  if (!existsSync(paths.sha256)) return undefined;
  const want = readFileSync(paths.sha256, "utf8").trim();
  if (!/^[0-9a-f]{64}$/.test(want)) throw new CorruptArtifactError(`${paths.sha256} holds no sha256 sum; remove it and ${paths.tarball} to rebuild`);
  if (!existsSync(paths.tarball)) throw new CorruptArtifactError(`${paths.sha256} exists but ${paths.tarball} does not; remove the .sha256 to rebuild`);
  const have = await sha256OfFile(paths.tarball);
  if (have !== want) throw new CorruptArtifactError(`${paths.tarball} does not match ${paths.sha256} (${have} != ${want}); remove both to rebuild`);
  return want;
}

/**
 * A release holds an app's code and settings: the store is its owner's alone (dirs 0700, files
 * 0600), so that no other user of the machine, and no app's user on a host it is mounted into,
 * reads another app's release.
 */
export const STORE_FILE_MODE = 0o600;

/** The app's dir of the store, and the store itself, made or narrowed to 0700. */
export function ensureStoreDir(paths: Pick<ArtifactPaths, "dir">): void {
  for (const dir of [dirname(paths.dir), paths.dir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
}

function writeAtomically(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.partial`;
  writeFileSync(tmp, content, { mode: STORE_FILE_MODE });
  renameSync(tmp, path);
}

/** Moves a finished tarball into the store: tarball, build info, then the .sha256 that marks it complete. */
export function publish(paths: ArtifactPaths, partialTarball: string, sha256: string, buildInfo: object): void {
  chmodSync(partialTarball, STORE_FILE_MODE);
  renameSync(partialTarball, paths.tarball);
  writeAtomically(paths.buildInfo, `${JSON.stringify(buildInfo, null, 2)}\n`);
  writeAtomically(paths.sha256, `${sha256}\n`);
}
