// What a twin is while it runs, on disk in its dir: the services host, moto's endpoint, the front's
// port, the instances booted and what was made in moto. Read by every verb after `twin up`.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Role } from "../model/index.ts";
import type { RunningInstance } from "./instances.ts";
import type { RunningHost } from "./hosts.ts";
import type { TwinLayout } from "./layout.ts";
import type { World } from "./world.ts";

export class TwinError extends Error {}

/** The account moto answers for when the stack names none (its default, AWS's example account). */
export const MOTO_ACCOUNT = "123456789012";

/** A booted instance of a group: the launch-template version it booted from, as moto launched it. */
export type TwinInstance = RunningInstance & { group: string; role: Role; version: string };

export interface TwinState {
  stack: string;
  subnet: string;
  /** moto, as the machine reaches it: what AWS_ENDPOINT_URL is for fawkes run against the twin. */
  endpoint: string;
  port: number;
  /** The account moto answers as. */
  account: string;
  services: RunningHost;
  /** The CA (PEM) of the services host's EFS certificate: every instance trusts it. */
  efsCa: string;
  instances: TwinInstance[];
  world: World;
}

export function readTwinState(layout: TwinLayout): TwinState | undefined {
  return existsSync(layout.state) ? (JSON.parse(readFileSync(layout.state, "utf8")) as TwinState) : undefined;
}

export function writeTwinState(layout: TwinLayout, state: TwinState): void {
  writeFileSync(layout.state, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** The twin of a stack, up; a clear error when it is not. */
export function requireTwinState(layout: TwinLayout, stack: string): TwinState {
  const state = readTwinState(layout);
  if (!state) throw new TwinError(`the twin of ${stack} is not up: fawkes twin up --stack ${stack}`);
  return state;
}

/** fawkes reaches the twin as any AWS tool reaches an endpoint: the SDK's own settings. */
export function useTwinEndpoint(state: Pick<TwinState, "endpoint">, region: string): void {
  Object.assign(process.env, { AWS_ENDPOINT_URL: state.endpoint, AWS_ACCESS_KEY_ID: "twin", AWS_SECRET_ACCESS_KEY: "twin", AWS_REGION: region });
}
