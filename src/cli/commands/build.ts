import { resolve } from "node:path";
import { buildArtifact, BuildNeedsRootError, defaultStore, protectedReleases, pruneReleases, type BuildResult } from "../../artifact/index.ts";
import { listStacks, loadStack, readProject } from "../../config/index.ts";
import { StepError } from "../../local/steps.ts";
import { UsageError, type Command } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

/** A failed step as a person reads it: which step, its exit, the end of its output (not the argv). */
function failure(e: unknown): string {
  if (e instanceof StepError) {
    const exit = /failed \(([^)]*)\)/.exec(e.message)?.[1] ?? "failed";
    const tail = e.output.trimEnd().split("\n").slice(-20).join("\n");
    return `step "${e.step.title}" failed (${exit}); its output ends with:\n${tail}`;
  }
  return (e as Error).message ?? String(e);
}

export const build: Command = {
  name: "build",
  summary: "Build release artifacts from committed source: wheelhouse, venv built in the golden image, manifest, tar.gz + sha256 in the store.",
  usage: "fawkes build (APP | --all) [--ref REF] [--store DIR] [--keep N] [--json]",
  help: `Builds the release of APP (or of every app with --all) from the app's source dir as committed
at REF, never from the working tree. The release id is r + 12 hex of the git tree id of that dir
(combined with the trees of the repository libraries it requires), so the same source is the
same release. A release already in the store is not built again.

Steps: git archive of the source and its libraries; the wheelhouse from Debian's Python packages
and the repository's libraries (scripts/build-wheelhouse.py); the venv built once inside the
golden image at /srv/apps/<app>/releases/<id>/venv (overlay + chroot in a private mount
namespace); the app's build hooks (hooks.build) with the venv on PATH; manifest.json; a
reproducible <store>/<app>/<id>.tar.gz and its .sha256.

Needs root (mounts and chroot), unless every release asked for is already in the store.

Retention: after every build succeeded, each app built keeps its newest N artifacts in the store
(by build time) and the older ones are deleted, with a "pruned <app> <id>" line on stderr. Never
deleted, however old: the releases just built or asked for, the release pinned in any stack, the
release any local environment's hosts run, and per environment the one before the release in use
(from the history). A stack that fails to load stops the pruning (exit 1); nothing is deleted on
a guess.

Flags:
  --all          build every app of the catalogue
  --ref REF      the commit to build from (default HEAD)
  --store DIR    the artifact store (default \${FAWKES_HOME:-/var/lib/fawkes}/artifacts)
  --keep N       artifacts to keep per app, newest first (default 5; at least 1)
  --stack S      the stack whose catalogue to read (default the first; the catalogue is the
                 same in every stack)
  --json         print the results as JSON on stdout

Progress goes to stderr; release ids and artifact paths to stdout.

Exit codes: 0 every artifact built or already in the store; 1 a build failed (the failing step
and the end of its output are printed), configuration problems, pruning refused, or not root;
2 usage error.`,
  options: { all: { type: "boolean" }, ref: { type: "string" }, store: { type: "string" }, keep: { type: "string" }, stack: { type: "string" }, json: { type: "boolean" } },
  positionals: { min: 0, max: 1 },
  async run({ values, positionals }, io) {
    const [appName] = positionals;
    if (values.all && appName !== undefined) throw new UsageError("give APP or --all, not both");
    if (!values.all && appName === undefined) throw new UsageError("give the app to build, or --all");
    const keep = typeof values.keep === "string" ? Number(values.keep) : 5;
    if (typeof values.keep === "string" && (!/^[0-9]+$/.test(values.keep) || keep < 1)) throw new UsageError(`--keep takes a whole number of at least 1, got "${values.keep}"`);
    const root = findProjectRoot(io.cwd, values.project);
    const stack = typeof values.stack === "string" ? values.stack : listStacks(readProject(root))[0];
    if (stack === undefined) throw new UsageError("no stack file found; pass --stack S");
    const spec = loadStack(root, stack);
    const apps = values.all ? spec.catalogue.apps.map((a) => a.name) : [appName!];
    if (!values.all && !apps.every((a) => spec.catalogue.apps.some((c) => c.name === a))) {
      throw new UsageError(`no app "${appName}" in the catalogue; apps: ${spec.catalogue.apps.map((a) => a.name).join(", ")}`);
    }
    const store = typeof values.store === "string" ? resolve(io.cwd, values.store) : undefined;
    const ref = typeof values.ref === "string" ? values.ref : "HEAD";
    const results: BuildResult[] = [];
    const failures: Array<{ app: string; error: string }> = [];
    const started = Date.now();
    for (const app of apps) {
      try {
        const r = await buildArtifact({ root, spec, app, ref, store, progress: (m) => io.err(`${app}: ${m}\n`) });
        results.push(r);
        if (!values.json) io.out(`${r.app} ${r.release} ${r.status === "built" ? "built" : "already in the store"}: ${r.tarball} (${(r.bytes / 1e6).toFixed(1)} MB, sha256 ${r.sha256})\n`);
      } catch (e) {
        failures.push({ app, error: failure(e) });
        io.err(e instanceof BuildNeedsRootError ? `error: ${failure(e)}\n` : `error: building ${app} failed: ${failure(e)}\n`);
      }
    }
    const pruned: Record<string, string[]> = {};
    let pruneFailed = false;
    if (failures.length === 0) {
      for (const app of new Set(results.map((r) => r.app))) {
        try {
          const protect = protectedReleases(root, app);
          for (const r of results) if (r.app === app) protect.add(r.release);
          const removed = pruneReleases(store ?? defaultStore(), app, keep, protect);
          for (const id of removed) io.err(`pruned ${app} ${id}\n`);
          pruned[app] = removed;
        } catch (e) {
          pruneFailed = true;
          io.err(`error: not pruning ${app}: ${(e as Error).message}\n`);
        }
      }
    }
    if (values.json) io.out(`${JSON.stringify({ ref, results, failures, pruned, totalMs: Date.now() - started }, null, 2)}\n`);
    return failures.length === 0 && !pruneFailed ? 0 : 1;
  },
};
