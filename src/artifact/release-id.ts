import { createHash } from "node:crypto";
import { posix } from "node:path";
import { git } from "../git/index.ts";

/** A Python library kept in the repository (a dir with a pyproject.toml [project] table). */
export interface RepoLibrary {
  /** Its dir, relative to the repository root. */
  dir: string;
  name: string;
  version: string;
  dependencies: string[];
  /** Git tree id of `dir` at the release's commit. */
  tree: string;
}

/** What a release is built from: all of it committed, all of it named by the release id. */
export interface ReleaseSource {
  /** `r` + 12 hex: see releaseIdFrom. */
  id: string;
  ref: string;
  commit: string;
  /** Commit time, seconds since the epoch: every file of the artifact gets it as mtime. */
  commitTime: number;
  source: string;
  sourceTree: string;
  /** The app's requirements.txt at the commit. */
  requirements: string;
  /** Repository libraries the app may use (named in its requirements, transitively). */
  libraries: RepoLibrary[];
}

export class ReleaseSourceError extends Error {}

/** PEP 503 name normalisation: `Fawkes_Greeting` and `fawkes.greeting` are `fawkes-greeting`. */
export function canonicalName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

/** Names of the distributions a requirements.txt (or a pyproject dependency list) asks for. */
export function requirementNames(lines: readonly string[]): string[] {
  const names = lines
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("-"))
    .map((l) => /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(canonicalName);
  return [...new Set(names)].sort();
}

/**
 * name, version and dependencies of a pyproject.toml's [project] table: the small static subset
 * of TOML that the repository's libraries use (quoted strings, one array of strings).
 */
export function parseProjectTable(text: string, where: string): { name: string; version: string; dependencies: string[] } {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === "[project]");
  if (start < 0) throw new ReleaseSourceError(`${where}: no [project] table`);
  const end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  const table = lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
  const str = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "m").exec(table)?.[1];
  const name = str("name");
  const version = str("version");
  if (!name || !version) throw new ReleaseSourceError(`${where}: [project] needs a static name and version ("dynamic" is not supported)`);
  const deps = /^\s*dependencies\s*=\s*\[([^\]]*)\]/m.exec(table)?.[1] ?? "";
  return { name, version, dependencies: [...deps.matchAll(/"([^"]*)"|'([^']*)'/g)].map((m) => m[1] ?? m[2] ?? "") };
}

/** Libraries an app may use: those named in its requirements, then those their dependencies name. */
export function librariesUsed(requirements: readonly string[], libraries: readonly RepoLibrary[]): RepoLibrary[] {
  const wanted = new Set(requirementNames(requirements));
  const used = new Map<string, RepoLibrary>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const lib of libraries) {
      if (used.has(lib.dir) || !wanted.has(canonicalName(lib.name))) continue;
      used.set(lib.dir, lib);
      for (const n of requirementNames(lib.dependencies)) wanted.add(n);
      grew = true;
    }
  }
  return [...used.values()].sort((a, b) => a.dir.localeCompare(b.dir));
}

/** The id `git mktree` gives a tree whose entries are all subtrees (mode 040000), without writing it. */
export function treeIdOf(entries: ReadonlyArray<{ name: string; tree: string }>): string {
  const algo = entries[0]?.tree.length === 64 ? "sha256" : "sha1";
  // Git orders tree entries by name, a subtree's name compared as if it ended in "/".
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(`${a.name}/`), Buffer.from(`${b.name}/`)));
  const body = Buffer.concat(sorted.map((e) => Buffer.concat([Buffer.from(`40000 ${e.name}\0`), Buffer.from(e.tree, "hex")])));
  return createHash(algo).update(Buffer.concat([Buffer.from(`tree ${body.length}\0`), body])).digest("hex");
}

/**
 * The release id: `r` + the first 12 hex of the git tree id of the app's source dir. When the app
 * uses repository libraries, of the tree holding the source as `app` and each library's dir (its
 * path with `/` as `:`), so that a change to a library is a new release too:
 *   printf '040000 tree %s\tapp\n040000 tree %s\texamples:libs:fawkes-greeting-1\n' T1 T2 | git mktree
 */
export function releaseIdFrom(sourceTree: string, libraries: ReadonlyArray<Pick<RepoLibrary, "dir" | "tree">>): string {
  if (libraries.length === 0) return `r${sourceTree.slice(0, 12)}`;
  return `r${treeIdOf([{ name: "app", tree: sourceTree }, ...libraries.map((l) => ({ name: l.dir.replaceAll("/", ":"), tree: l.tree }))]).slice(0, 12)}`;
}

function normalise(source: string): string {
  return posix.normalize(source).replace(/^\.\/|\/$/g, "");
}

/** Repository libraries at a commit: every committed pyproject.toml outside `exclude`. */
async function repoLibraries(root: string, commit: string, exclude: string): Promise<RepoLibrary[]> {
  const files = (await git(root, "ls-tree", "-r", "--name-only", commit)).out.split("\n").filter((f) => /(^|\/)pyproject\.toml$/.test(f));
  const libs: RepoLibrary[] = [];
  for (const file of files) {
    const dir = posix.dirname(file);
    if (dir === "." || dir === exclude || dir.startsWith(`${exclude}/`)) continue;
    const text = await git(root, "show", `${commit}:${file}`);
    const tree = await git(root, "rev-parse", `${commit}:${dir}`);
    if (!text.ok || !tree.ok) continue;
    libs.push({ dir, ...parseProjectTable(text.out, `${file} at ${commit.slice(0, 12)}`), tree: tree.out.trim() });
  }
  return libs;
}

/** The committed source of an app's release at `ref`, and its release id. Never reads the working tree. */
export async function releaseSourceOf(root: string, source: string, ref = "HEAD"): Promise<ReleaseSource> {
  const src = normalise(source);
  const rev = await git(root, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`);
  if (!rev.ok) throw new ReleaseSourceError(`${ref} is not a commit of the git repository in ${root}${rev.err ? ` (${rev.err.trim()})` : ""}`);
  const commit = rev.out.trim();
  const at = `${ref} (${commit.slice(0, 12)})`;
  const entry = (await git(root, "ls-tree", "--full-tree", commit, "--", src)).out.trim();
  const m = /^040000 tree ([0-9a-f]+)\t/.exec(entry);
  if (!m) throw new ReleaseSourceError(`${src} is not committed at ${at}: fawkes builds releases from committed source only; commit it first (or pass --ref)`);
  const requirements = await git(root, "show", `${commit}:${src}/requirements.txt`);
  if (!requirements.ok) throw new ReleaseSourceError(`${src}/requirements.txt is not committed at ${at}: the app's venv is built from it`);
  const time = Number((await git(root, "show", "-s", "--format=%ct", commit)).out.trim());
  const libraries = librariesUsed(requirements.out.split("\n"), await repoLibraries(root, commit, src));
  const sourceTree = m[1]!;
  return { id: releaseIdFrom(sourceTree, libraries), ref, commit, commitTime: time, source: src, sourceTree, requirements: requirements.out, libraries };
}

/** The release id of an app's source dir at `ref` (committed source only; see releaseIdFrom). */
export async function releaseIdOf(root: string, source: string, ref = "HEAD"): Promise<string> {
  return (await releaseSourceOf(root, source, ref)).id;
}

/** Paths under `source` whose working-tree state differs from the commit: they are not in the release. */
export async function uncommittedChanges(root: string, source: string): Promise<string[]> {
  return (await git(root, "status", "--porcelain", "--untracked-files=all", "--", normalise(source))).out.split("\n").filter(Boolean);
}
