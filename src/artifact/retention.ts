import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadAllStacks } from "../config/index.ts";
import { fawkesHome } from "../local/image.ts";
import { envLayout } from "../local/layout.ts";
import { readState } from "../local/state.ts";
import { readHistory, stacksWithHistory } from "../release/history.ts";
import { artifactPaths, type ArtifactPaths } from "./store.ts";

export interface StoredRelease {
  release: string;
  /** ISO time the artifact was built (its build info), or its .sha256's mtime when that is missing. */
  builtAt: string;
}

function time(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? -Infinity : t;
}

/**
 * The releases to delete: those beyond the newest `keep` (by build time, ties by release id) that
 * are not protected. Protected releases count among the newest, so at most `keep` + protected stay.
 */
export function releasesToPrune(stored: ReadonlyArray<StoredRelease>, keep: number, protect: ReadonlySet<string>): string[] {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a whole number of at least 1, got ${keep}`);
  const newestFirst = [...stored].sort((a, b) => time(b.builtAt) - time(a.builtAt) || (a.release < b.release ? 1 : a.release > b.release ? -1 : 0));
  return newestFirst
    .slice(keep)
    .map((s) => s.release)
    .filter((r) => !protect.has(r));
}

function builtAtOf(buildInfo: string): string | undefined {
  try {
    const info: unknown = JSON.parse(readFileSync(buildInfo, "utf8"));
    const at = typeof info === "object" && info !== null ? (info as { builtAt?: unknown }).builtAt : undefined;
    return typeof at === "string" && !Number.isNaN(Date.parse(at)) ? at : undefined;
  } catch {
    return undefined;
  }
}

/** The complete artifacts of an app in the store (a .sha256 is written last), sorted by release id. */
export function storedReleases(store: string, app: string): StoredRelease[] {
  const dir = join(store, app);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sha256") && !f.startsWith("."))
    .map((f) => f.slice(0, -".sha256".length))
    .sort()
    .map((release) => {
      const paths = artifactPaths(store, app, release);
      return { release, builtAt: builtAtOf(paths.buildInfo) ?? statSync(paths.sha256).mtime.toISOString() };
    });
}

/** Deletes one artifact of a local store, the .sha256 first: half deleted, it is incomplete, never served as complete. */
export function removeStoredArtifact(paths: ArtifactPaths): void {
  for (const f of [paths.sha256, paths.tarball, paths.buildInfo]) rmSync(f, { force: true });
}

/** Deletes the artifacts `releasesToPrune` picks from a local store; returns their ids. (`pruneStore` does it for any store.) */
export function pruneReleases(store: string, app: string, keep: number, protect: ReadonlySet<string>): string[] {
  const removed = releasesToPrune(storedReleases(store, app), keep, protect);
  for (const release of removed) removeStoredArtifact(artifactPaths(store, app, release));
  return removed;
}

/**
 * Releases of `app` that must stay in the store: its pin in every stack of the project, what any
 * local environment's hosts run, and per environment's history the releases of the latest rollout
 * (from and to, whatever its result) and the `from` of the latest successful one: the release in
 * use and the one before it, everywhere. A stack or state that cannot be read throws: nothing is
 * pruned on a guess.
 */
export function protectedReleases(root: string, app: string, home = fawkesHome()): Set<string> {
  const keep = new Set<string>();
  const add = (r: string | undefined) => {
    if (r !== undefined && r !== "") keep.add(r);
  };
  // An app no stack pins yet (its first build) protects nothing of its own; every other pin still counts.
  for (const spec of loadAllStacks(root, { unpinnedAllowed: true })) add(spec.knobs.releases[app]);

  const envs = join(home, "envs");
  if (existsSync(envs)) {
    for (const stack of readdirSync(envs)) {
      const file = envLayout(stack, home).state;
      let state;
      try {
        state = readState(file);
      } catch (e) {
        throw new Error(`${file}: cannot be read (${(e as Error).message}); not pruning releases of ${app}`, { cause: e });
      }
      for (const host of Object.values(state?.hosts ?? {})) add(host.releases?.[app]);
    }
  }

  for (const stack of stacksWithHistory(home)) {
    // A run moves no pin: it neither protects a release nor hides the latest rollout's.
    const entries = readHistory(stack, home).filter((e) => e.app === app && e.kind !== "run");
    const latest = entries.at(-1);
    add(latest?.from);
    add(latest?.to);
    add(entries.findLast((e) => e.result === "succeeded")?.from);
  }
  return keep;
}
