// `fawkes app add`: a source dir becomes an app of the catalogue with a release pinned in every
// stack, in the order that loses nothing when a step fails: the source is committed (builds read
// committed source only), the catalogue entry is written, the first release is built (a lock of
// index packages, when the build writes one, is committed and the build runs again), then every
// stack file is pinned and the catalogue and pins are committed together. A failed build puts
// Pulumi.yaml back as it was.
import { appendFileSync, existsSync, lstatSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { buildArtifact, LockChangedError, type BuildResult } from "../artifact/index.ts";
import { uncommittedChanges } from "../artifact/release-id.ts";
import { AppSchema } from "../config/catalogue.ts";
import { addCatalogueApp, checkCatalogueApp } from "../config/catalogue-add.ts";
import { sourceDirProblem } from "../config/files.ts";
import { listStacks, loadStack, PROJECT_FILE, readProject, setReleasePin, stackFile } from "../config/index.ts";
import { git } from "../git/index.ts";
import type { Progress } from "../local/steps.ts";
import { detectApp, DetectError, djangoHostsBlock, type Detected } from "./detect.ts";

export { detectApp, DetectError, djangoHostsBlock, moduleOf, type Detected, type Framework } from "./detect.ts";

export class AppAddError extends Error {
  override name = "AppAddError";
}

export interface AddAppOptions {
  root: string;
  name: string;
  /** The source dir as the user gave it (relative to cwd, or absolute). */
  source: string;
  cwd: string;
  wsgi?: string;
  healthPath?: string;
  store?: string;
  progress?: Progress;
}

export interface AddAppResult {
  app: string;
  source: string;
  detected: Detected;
  build: BuildResult;
  /** Stack files pinned, relative to the project root. */
  pinned: string[];
  commits: string[];
}

/** The source dir relative to the project root, checked as the catalogue checks a source: a real dir inside the project. */
export function sourceDirOf(root: string, cwd: string, given: string): string {
  const rel = relative(root, resolve(cwd, given));
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) throw new AppAddError(`--source ${given}: must be a dir inside the project (${root})`);
  const parsed = AppSchema.shape.source.safeParse(rel);
  if (!parsed.success) throw new AppAddError(`--source ${given}: ${rel} ${parsed.error.issues[0]?.message ?? "is not a usable path"}`);
  const problem = sourceDirProblem(root)(rel);
  if (problem !== undefined) throw new AppAddError(`--source ${given}: ${problem}`);
  return rel;
}

/** Files fawkes itself edits in the user's tree: regular files only, never through a link. */
function regularFile(path: string, shown: string): string {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st !== undefined && !st.isFile()) throw new AppAddError(`${shown} is ${st.isSymbolicLink() ? "a symbolic link" : "not a regular file"}: fawkes app add edits only a regular file there`);
  return path;
}

/** Files that hold secrets or local state: never committed by fawkes on the user's behalf. */
const NEVER_COMMITTED = /(^|\/)(\.env(\..*)?|.*\.sqlite3?|.*\.db|local_settings\.py)$/;

async function mustGit(root: string, what: string, ...args: string[]): Promise<string> {
  const r = await git(root, ...args);
  if (!r.ok) throw new AppAddError(`${what}: git ${args.join(" ")} failed: ${r.err.trim() || r.out.trim()}`);
  return r.out;
}

/** Files of the source dir git would commit (tracked and untracked, not ignored), relative to it. */
async function filesOf(root: string, source: string): Promise<Set<string>> {
  const out = await mustGit(root, "listing the source", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", source);
  // Tracked files deleted in the working tree are not the app's any more.
  return new Set(out.split("\0").filter((f) => f !== "" && existsSync(join(root, f))).map((f) => f.slice(source.length + 1)));
}

async function commitPaths(root: string, message: string, paths: string[]): Promise<string | undefined> {
  await mustGit(root, "staging", "add", "--", ...paths);
  const staged = await git(root, "diff", "--cached", "--quiet", "--", ...paths);
  if (staged.ok) return undefined;
  await mustGit(root, "committing", "commit", "--quiet", "-m", message, "--", ...paths);
  return (await mustGit(root, "reading the commit", "rev-parse", "HEAD")).trim();
}

/** The catalogue entry for a detected app: its web process and health path; the rest are the catalogue's defaults. */
export function entryOf(name: string, source: string, detected: Detected, healthPath?: string): Record<string, unknown> {
  return { name, source, processes: { web: { wsgi: detected.wsgi } }, health: { path: healthPath ?? detected.healthPath } };
}

export async function addApp(opts: AddAppOptions): Promise<AddAppResult> {
  const progress = opts.progress ?? (() => {});
  const { root } = opts;
  const name = AppSchema.shape.name.safeParse(opts.name);
  if (!name.success) throw new AppAddError(`app name ${JSON.stringify(opts.name)}: ${name.error.issues[0]?.message ?? "is not a usable name"}`);
  const source = sourceDirOf(root, opts.cwd, opts.source);
  const project = readProject(root);
  const stacks = listStacks(project);
  if (stacks.length === 0) throw new AppAddError(`no stack file in ${project.stackConfigDir}: an app is pinned in every stack`);
  const config = [PROJECT_FILE, ...stacks.map((s) => stackFile(project, s))];
  const dirty = (await Promise.all(config.map((f) => uncommittedChanges(root, f)))).flat();
  if (dirty.length > 0) throw new AppAddError(`uncommitted changes to ${dirty.map((l) => l.slice(3)).join(", ")}: fawkes app add commits these files; commit or stash your changes first`);
  // Every stack must load now (the new app aside): a stack broken before would fail only after the commits.
  for (const s of stacks) loadStack(root, s, { unpinnedAllowed: true });
  if (!existsSync(join(root, source, "requirements.txt"))) {
    throw new AppAddError(`${source}/requirements.txt is missing: list the app's packages there (one per line, like Django>=4.2), from Debian, the app's ${source}/wheels/ or the package index`);
  }

  // Commits need an author: asked now, not after the settings file changed.
  await mustGit(root, "finding who commits (git config user.name and user.email)", "var", "GIT_COMMITTER_IDENT");
  const files = await filesOf(root, source);
  let detected: Detected;
  try {
    detected = detectApp(files, (f) => readFileSync(join(root, source, f), "utf8"), opts.wsgi);
  } catch (e) {
    if (e instanceof DetectError) throw new AppAddError(`${source}: ${e.message}`);
    throw e;
  }
  progress(`${opts.name}: ${detected.framework} app, gunicorn serves ${detected.wsgi} (${detected.because}); health check GET ${opts.healthPath ?? detected.healthPath}`);
  const entry = entryOf(opts.name, source, detected, opts.healthPath);
  // The entry as the catalogue will take it (name free, --wsgi and --health valid), before anything changes.
  checkCatalogueApp(root, entry);
  const secretLike = [...files].filter((f) => NEVER_COMMITTED.test(f));
  if (secretLike.length > 0) {
    throw new AppAddError(`${source} holds ${secretLike.join(", ")}: files of secrets or local data are not committed by fawkes; add them to .gitignore (or remove them) and run again`);
  }

  if (detected.settings !== undefined) {
    const file = regularFile(join(root, source, detected.settings), `${source}/${detected.settings}`);
    const block = djangoHostsBlock(readFileSync(file, "utf8"));
    if (block !== undefined) {
      appendFileSync(file, block);
      progress(`${opts.name}: ${source}/${detected.settings}: ALLOWED_HOSTS takes the names in FAWKES_HOSTS where fawkes runs the app (appended)`);
    }
  }
  const commits: string[] = [];
  const sourceCommit = await commitPaths(root, `${opts.name}: the app's source (fawkes app add)`, [source]);
  if (sourceCommit) {
    commits.push(sourceCommit);
    progress(`${opts.name}: committed ${source} (${sourceCommit.slice(0, 12)})`);
  }
  const configBefore = new Map(config.map((f) => [f, readFileSync(join(root, f))]));
  const restore = async () => {
    for (const [f, bytes] of configBefore) writeFileSync(join(root, f), bytes);
    await git(root, "reset", "-q", "--", ...config);
  };
  addCatalogueApp(root, entry);
  progress(`${opts.name}: added to the catalogue in ${PROJECT_FILE}`);
  try {
    let build: BuildResult;
    const spec = loadStack(root, stacks[0]!, { unpinnedAllowed: true });
    const run = () => buildArtifact({ root, spec, app: opts.name, ...(opts.store ? { store: opts.store } : {}), progress });
    try {
      build = await run();
    } catch (e) {
      if (!(e instanceof LockChangedError)) throw e;
      progress(`${opts.name}: pinned ${e.pins.join(", ")} from the package index in ${relative(root, e.file)}`);
      const c = await commitPaths(root, `${opts.name}: pin the packages taken from the package index (fawkes app add)`, [relative(root, e.file)]);
      if (c) commits.push(c);
      build = await run();
    }

    const pinned = stacks.map((s) => relative(root, setReleasePin(root, s, opts.name, build.release).file));
    // Every stack loads with the app pinned (what `fawkes check` checks first), before the commit.
    for (const s of stacks) loadStack(root, s);
    progress(`${opts.name}: pinned ${build.release} in ${pinned.join(", ")}`);
    const c = await commitPaths(root, `${opts.name}: add to the catalogue, release ${build.release} pinned in every stack (fawkes app add)`, [PROJECT_FILE, ...pinned]);
    if (c) commits.push(c);
    return { app: opts.name, source, detected, build, pinned, commits };
  } catch (e) {
    // Pulumi.yaml and the stack files as they were; the source commit (and a lock's) stay.
    await restore();
    throw e;
  }
}
