import type { Role } from "../model/index.ts";

/** One file a host image writes at boot. */
export interface RenderedFile {
  path: string;
  content: string;
  /** Octal mode as cloud-init writes it, e.g. "0644". */
  mode: string;
  /** "user:group" as cloud-init writes it. */
  owner: string;
}

/** A host's bundle (src/render/bundle.ts makes it): every file it boots from but the stage-1 script. */
export interface HostBundle {
  /** The store key, `_bundles/<sha256>.tar.gz`: a changed bundle is a new key, never an overwrite. */
  key: string;
  /** sha256 of `bytes`, hex: the stage-1 script unpacks nothing else. */
  sha256: string;
  bytes: Uint8Array;
}

/** What describes a host of one role, readable by people and machines. */
export interface HostManifest {
  project: string;
  stack: string;
  role: Role;
  image: { distribution: string; packages: string[]; recipeHash: string };
  /** `sha256`: the release tarball's, as the deploy read it; the bootstrap verifies against it. */
  apps: Array<{ name: string; release: string; sha256: string; uid: number; port: number; hostnames: string[]; health: string; processes: string[] }>;
  /** sha256 of every file of the bundle but the manifest itself, by path. */
  files: Record<string, string>;
}

/**
 * Everything a host of one role boots from. `files` are all of them: the stage-1 script the
 * user-data writes, and the files of `bundle`, which the artifact store holds under `bundle.key`
 * (AWS: an S3 object the stack declares; locally: the machine's store). `userData` is the
 * `#cloud-config` text people read; `userDataBytes` is what both targets hand to cloud-init: the
 * text itself, or its gzip past EC2's 16 KiB user-data limit (cloud-init unpacks gzip by itself).
 */
export interface HostImage {
  stack: string;
  role: Role;
  files: RenderedFile[];
  manifest: HostManifest;
  bundle: HostBundle;
  userData: string;
  userDataBytes: Uint8Array;
}

export const USER_DATA_LIMIT = 16384;
