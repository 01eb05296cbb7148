// Tags and naming shared by every fawkes component: computed once per environment, passed down.
import { budgetName, type NameKind } from "../src/names/index.ts";

export type Tags = Record<string, string>;

/** Tag telling what a subnet, security group or rule is for; the policy pack reads it. */
export const TIER_TAG = "fawkes:tier";
export type Tier = "public" | "private" | "alb" | "hosts" | "efs" | "db" | "build";

/** Where every AWS name of one environment starts: `[project, stack]`. */
export type NameParts = readonly string[];

/** The base tags of every resource of an environment. */
export function baseTags(project: string, stack: string): Tags {
  return { Project: project, Stack: stack, ManagedBy: "fawkes" };
}

/** The environment's name of a resource: `budgetName(kind, project, stack, ...rest)`. */
export function nameOf(kind: NameKind, parts: NameParts, ...rest: string[]): string {
  return budgetName(kind, ...parts, ...rest);
}

/** Base tags plus a `Name` (what the console shows) and, when given, the tier. */
export function tagged(tags: Tags, name: string, tier?: Tier): Tags {
  return { ...tags, Name: name, ...(tier ? { [TIER_TAG]: tier } : {}) };
}

/** Auto Scaling tags: every tag propagated to the hosts the group launches. */
export function launchTags(tags: Tags): Array<{ key: string; value: string; propagateAtLaunch: boolean }> {
  return Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => ({ key, value, propagateAtLaunch: true }));
}
