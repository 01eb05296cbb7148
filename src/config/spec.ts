import type { App, Catalogue } from "./catalogue.ts";
import type { Knobs } from "./knobs.ts";
import type { ImageRecipe } from "./recipe.ts";

/** An app with every default the catalogue left open filled in. */
export interface ResolvedApp extends Omit<App, "domains" | "uid" | "port"> {
  domains: string[];
  uid: number;
  port: number;
}

export interface ResolvedCatalogue extends Omit<Catalogue, "apps"> {
  apps: ResolvedApp[];
  /** The image recipe, read from its own file (image/recipe.yaml). */
  image: ImageRecipe;
}

/** One environment, fully typed and frozen: the catalogue plus this stack's knobs. */
export interface EnvironmentSpec {
  readonly project: string;
  readonly stack: string;
  /** The stack file used as template: "qa" for branch stacks `qa-*`, else the stack itself. */
  readonly template: string;
  readonly catalogue: ResolvedCatalogue;
  readonly knobs: Knobs;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** Template stack of a stack name: branch stacks `qa-<branch>` layer over `qa`. */
export function templateOf(stack: string): string {
  return stack.startsWith("qa-") ? "qa" : stack;
}

/**
 * A QA environment (the `qa` stack and its branch stacks): torn down whole by `qa down` and `qa gc`,
 * so it keeps nothing that would outlive it (buckets force-destroyed, no backup vault) and builds
 * no AMI (its parent's pipeline makes the one it pins).
 */
export function isQaEnvironment(spec: Pick<EnvironmentSpec, "template">): boolean {
  return spec.template === "qa";
}

/**
 * Stable uid/gid of an app's unix user, derived from its name so that reordering the catalogue
 * never changes who owns the files on shared storage. FNV-1a into 20000..59999.
 */
export function derivedUid(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of name) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return 20000 + (h % 40000);
}

export const FIRST_APP_PORT = 8001;
