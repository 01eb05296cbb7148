import { readFileSync } from "node:fs";
import { execa } from "execa";
import { afterAll } from "vitest";
import { envLayout, localDown } from "../../src/local/index.ts";

/** What the local target may change on the machine: compared before `up` and after `down`. */
export interface MachineSnapshot {
  mounts: string[];
  netns: string[];
  links: string[];
}

export async function machineSnapshot(): Promise<MachineSnapshot> {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean).map((l) => l.split(" ")[4]!).sort();
  const netns = (await execa("ip", ["netns", "list"], { reject: false })).stdout.split("\n").filter(Boolean).map((l) => l.split(" ")[0]!).sort();
  const links = (await execa("ip", ["-o", "link", "show"])).stdout.split("\n").filter(Boolean).map((l) => l.split(": ")[1]!.split("@")[0]!).sort();
  return { mounts, netns, links };
}

/** The e2e suite runs as root; without root it fails with the reason, it never skips. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error("the e2e tests boot local hosts and need root (namespaces, overlay mounts, bridges); run npm test as root");
}

/**
 * After a file's tests: its stack's hosts down and its scratch project removed (as root; without
 * root beforeAll already failed and there is nothing to remove).
 */
export function downAfterAll(stack: string, project: () => { remove(): void } | undefined): void {
  afterAll(async () => {
    if (process.getuid?.() !== 0) return;
    await localDown(envLayout(stack));
    project()?.remove();
  }, 120_000);
}
