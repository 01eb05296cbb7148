// What changed between two releases of an app: the commits between them in the app's source, the catalogue and dependency files, and the host image each was built in.
import { existsSync, readFileSync } from "node:fs";
import { artifactPaths } from "../artifact/index.ts";
import type { EnvironmentSpec } from "../config/index.ts";
import { git } from "../git/index.ts";

/** What the build recorded beside the tarball (build.json). */
export interface BuildFacts {
  release: string;
  gitSha?: string;
  image?: string;
  builtAt?: string;
}

export interface ReleaseDiff {
  app: string;
  from: BuildFacts;
  to: BuildFacts;
  /** `sha subject (author, date)`, newest first; empty when the history between them is unknown. */
  commits: string[];
  /** `git diff` of the catalogue and the app's dependency files between the two commits. */
  config: string;
  /** Why commits or config could not be read (a commit not in this repository). */
  note?: string;
}

function buildFacts(store: string, app: string, release: string): BuildFacts {
  const file = artifactPaths(store, app, release).buildInfo;
  if (!existsSync(file)) return { release };
  try {
    const info = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    const str = (k: string) => (typeof info[k] === "string" ? { [k]: info[k] as string } : {});
    return { release, ...str("gitSha"), ...str("image"), ...str("builtAt") };
  } catch {
    return { release };
  }
}

const SHA = /^[0-9a-f]{40}$/;

export async function releaseDiff(root: string, store: string, spec: EnvironmentSpec, app: string, from: string, to: string): Promise<ReleaseDiff> {
  const a = buildFacts(store, app, from);
  const b = buildFacts(store, app, to);
  const base: ReleaseDiff = { app, from: a, to: b, commits: [], config: "" };
  if (!a.gitSha || !b.gitSha || !SHA.test(a.gitSha) || !SHA.test(b.gitSha)) return { ...base, note: "a release without its commit in build.json (built elsewhere): no commits to compare" };
  const entry = spec.catalogue.apps.find((x) => x.name === app);
  const paths = entry ? [entry.source] : [];
  const log = await git(root, "log", "--no-color", "--format=%h %s (%an, %as)", `${a.gitSha}..${b.gitSha}`, "--", ...paths);
  const back = log.ok && log.out.trim() === "" ? await git(root, "log", "--no-color", "--format=%h %s (%an, %as)", `${b.gitSha}..${a.gitSha}`, "--", ...paths) : undefined;
  const config = await git(root, "diff", "--no-color", "--no-ext-diff", a.gitSha, b.gitSha, "--", "Pulumi.yaml", "image/recipe.yaml", ...paths.flatMap((p) => [`${p}/requirements.txt`, `${p}/requirements.lock`]));
  if (!log.ok) return { ...base, note: `the commits are not in this repository: ${log.err.trim().split("\n")[0]}` };
  const commits = (back?.ok && back.out.trim() !== "" ? back.out : log.out).split("\n").filter((l) => l.trim() !== "");
  return { ...base, commits, config: config.ok ? config.out : "", ...(back?.ok && back.out.trim() !== "" ? { note: `${to} is older than ${from}: these commits are taken back` } : {}) };
}
