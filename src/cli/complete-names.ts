// `fawkes __complete KIND [--project DIR] [--stack S] [--app A]`: the names a completion script
// offers at TAB time, one a line. Read from this machine only, never the network, never as root:
// apps from the catalogue, stacks from the stack files, releases from the local artifact store,
// hosts and backups from FAWKES_HOME. It speaks into a shell's prompt, so it never prints an
// error: on any problem it prints nothing and exits 0. Kept light (bin/fawkes.mjs loads it alone):
// a TAB should not wait for the whole CLI to load.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { catalogueAppNames, listStacks, readProject, type ProjectFile } from "../config/index.ts";
import { appNameProblem, backupIdProblem, hostNameProblem, releaseIdProblem, stackNameProblem } from "../names/index.ts";
import type { Io } from "./command.ts";
import { findProjectRoot } from "./project-root.ts";

/** What the command line said so far that narrows the names. */
interface Context {
  cwd: string;
  project?: string;
  stack?: string;
  app?: string;
}

/** fawkesHome() of src/local, without loading src/local (execa, the renderers). */
function home(): string {
  return process.env.FAWKES_HOME ?? "/var/lib/fawkes";
}

/** The entries of `dir` that pass `problem` (a name's rule): nothing when it cannot be read. */
function namesIn(dir: string, problem: (name: string) => string | undefined, strip = ""): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(strip))
      .map((f) => f.slice(0, f.length - strip.length))
      .filter((n) => problem(n) === undefined);
  } catch {
    return [];
  }
}

function project(ctx: Context): ProjectFile {
  // With a list, readProject reports problems there instead of throwing: what it could read is enough.
  return readProject(findProjectRoot(ctx.cwd, ctx.project), []);
}

function apps(ctx: Context): string[] {
  return catalogueAppNames(project(ctx)).filter((n) => appNameProblem(n) === undefined);
}

/** The stacks the context names, or every one that has a dir under `sub` of FAWKES_HOME. */
function stacksUnder(ctx: Context, sub: string): string[] {
  if (ctx.stack !== undefined) return stackNameProblem(ctx.stack) === undefined ? [ctx.stack] : [];
  return namesIn(join(home(), sub), stackNameProblem);
}

const LISTERS: Record<string, (ctx: Context) => string[]> = {
  app: apps,
  stack: (ctx) => listStacks(project(ctx)).filter((s) => stackNameProblem(s) === undefined),
  release: (ctx) => {
    const store = join(home(), "artifacts");
    const inStore = ctx.app !== undefined ? (appNameProblem(ctx.app) === undefined ? [ctx.app] : []) : namesIn(store, appNameProblem);
    return inStore.flatMap((app) => namesIn(join(store, app), releaseIdProblem, ".sha256"));
  },
  host: (ctx) => stacksUnder(ctx, "envs").flatMap((s) => namesIn(join(home(), "envs", s, "hosts"), hostNameProblem)),
  backup: (ctx) => stacksUnder(ctx, "backups").flatMap((s) => namesIn(join(home(), "backups", s), backupIdProblem)),
};

/** The candidates of `kind`, sorted and each once; nothing on any problem. */
export function nameCandidates(kind: string, ctx: Context): string[] {
  try {
    const list = Object.hasOwn(LISTERS, kind) ? LISTERS[kind]!(ctx) : [];
    return [...new Set(list)].sort();
  } catch {
    return [];
  }
}

/** The hidden command: always exit 0, nothing on stderr. */
export function completeNames(argv: string[], io: Io): number {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { project: { type: "string" }, stack: { type: "string" }, app: { type: "string" } },
      allowPositionals: true,
      strict: false,
    });
    const given = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    const ctx: Context = { cwd: io.cwd, project: given(values.project), stack: given(values.stack), app: given(values.app) };
    const names = nameCandidates(String(positionals[0] ?? ""), ctx);
    if (names.length > 0) io.out(`${names.join("\n")}\n`);
  } catch {
    // Nothing: a completion never answers with an error.
  }
  return 0;
}
