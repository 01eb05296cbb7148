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

/** What describes a host of one role, readable by people and machines. */
export interface HostManifest {
  project: string;
  stack: string;
  role: Role;
  image: { distribution: string; packages: string[]; recipeHash: string };
  apps: Array<{ name: string; release: string; uid: number; port: number; hostnames: string[]; health: string; processes: string[] }>;
  /** sha256 of every rendered file but the manifest itself, by path. */
  files: Record<string, string>;
}

/**
 * Everything a host of one role boots from. `userData` is the `#cloud-config` text people read;
 * `userDataBytes` is what both targets hand to cloud-init: the text itself, or its gzip when the
 * text is over EC2's 16 KiB user-data limit (cloud-init unpacks gzip by itself).
 */
export interface HostImage {
  stack: string;
  role: Role;
  files: RenderedFile[];
  manifest: HostManifest;
  userData: string;
  userDataBytes: Uint8Array;
}

export const USER_DATA_LIMIT = 16384;
