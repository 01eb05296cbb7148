import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Role } from "../model/index.ts";

export interface HostState {
  name: string;
  role: Role;
  ip: string;
  netns: string;
  veth: string;
  launcher?: number;
  init?: number;
  /** sha256 of the user-data the host booted: a host whose role's user-data changed is replaced. */
  userDataSha: string;
  startedAt: string;
  bootSeconds?: number;
  /** Seconds of each of cloud-init's stages (local, network, config, final) in that boot. */
  bootStages?: Record<string, number>;
  healthy: boolean;
  failedStep?: string;
  detail?: string;
  /** Releases the host runs, per app. */
  releases: Record<string, string>;
}

/** The db host's record: a host without a role in the pool and without releases. */
export type DatabaseHostState = Omit<HostState, "role" | "releases">;

export interface LocalState {
  stack: string;
  subnet: string;
  port: number;
  createdAt: string;
  hosts: Record<string, HostState>;
  /** The db host, when an app has a database. */
  database?: DatabaseHostState;
}

export function readState(path: string): LocalState | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")) as LocalState;
}

export function writeState(path: string, state: LocalState): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}
