import { resolve } from "node:path";
import {
  artifactPaths, buildArtifact, BuildNeedsRootError, defaultStore, protectedReleases, pruneReleases, pruneStore, pushRelease, stackArtifactBucket, type BuildResult,
} from "../../artifact/index.ts";
import { listStacks, loadStack, readProject } from "../../config/index.ts";
import { StepError } from "../../local/steps.ts";
import { pruneUnpacked, unpackedDir } from "../../local/unpacked.ts";
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

interface Pushed {
  app: string;
  release: string;
  status: "pushed" | "exists";
  where: string;
}

export const build: Command = {
  name: "build",
  summary: "Build release artifacts from committed source: wheelhouse, venv built in the golden image, manifest, tar.gz + sha256 in the store.",
  usage: "fawkes build (APP | --all) [--ref REF] [--store DIR] [--keep N] [--push --stack S] [--json]",
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

Push (--push --stack S): after every build succeeded (or was already in the store), each release
is uploaded from the local store to the stack's artifact bucket, where its hosts fetch it:
s3://<bucket>/<app>/<id>.tar.gz, .build.json, and last the .sha256 (its presence marks the
release complete). A release the bucket already has is not uploaded again. Then the bucket is
pruned like the local store (same --keep N, same protected releases; the .sha256 deleted first),
with "pruned <app> <id> from s3://..." on stderr. A push names its environment: --push needs
--stack. It needs AWS credentials, from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, or the instance's role), with s3:GetObject,
PutObject, DeleteObject and ListBucket on the bucket; the region is the stack's aws:region. The
network it uses is S3 (and whatever credential source the chain reaches); nothing else.
The SDK's own endpoint setting, AWS_ENDPOINT_URL_S3=URL (or AWS_ENDPOINT_URL for every service),
sends the S3 calls to an S3-compatible endpoint instead, path-style (an emulator, the twin).

Flags:
  --all          build every app of the catalogue
  --ref REF      the commit to build from (default HEAD)
  --store DIR    the artifact store (default \${FAWKES_HOME:-/var/lib/fawkes}/artifacts)
  --keep N       artifacts to keep per app, newest first (default 5; at least 1)
  --stack S      the stack whose catalogue to read (default the first; the catalogue is the
                 same in every stack); with --push, the environment whose bucket to fill
  --push         upload the releases to the stack's artifact bucket and prune it (needs --stack)
  --json         print the results as JSON on stdout

Progress goes to stderr; release ids and artifact paths to stdout, and with --push a line per
release: "pushed <app> <id> to s3://<bucket>/<app>/" or "<app> <id> already in s3://...".

Exit codes: 0 every artifact built or already in the store; 1 a build failed (the failing step
and the end of its output are printed), configuration problems, pruning refused, a push failed
(the bucket and key are named), or not root; 2 usage error.`,
  options: { all: { type: "boolean" }, ref: { type: "string" }, store: { type: "string" }, keep: { type: "string" }, stack: { type: "string", kind: "stack" }, push: { type: "boolean" }, json: { type: "boolean" } },
  positionals: { min: 0, max: 1, args: [{ name: "APP", kind: "app" }] },
  async run({ values, positionals }, io) {
    const [appName] = positionals;
    if (values.all && appName !== undefined) throw new UsageError("give APP or --all, not both");
    if (!values.all && appName === undefined) throw new UsageError("give the app to build, or --all");
    const keep = typeof values.keep === "string" ? Number(values.keep) : 5;
    if (typeof values.keep === "string" && (!/^[0-9]+$/.test(values.keep) || keep < 1)) throw new UsageError(`--keep takes a whole number of at least 1, got "${values.keep}"`);
    if (values.push && typeof values.stack !== "string") throw new UsageError("--push needs --stack S: a push names the environment whose artifact bucket it fills");
    const root = findProjectRoot(io.cwd, values.project);
    const stack = typeof values.stack === "string" ? values.stack : listStacks(readProject(root))[0];
    if (stack === undefined) throw new UsageError("no stack file found; pass --stack S");
    // A new app has no pin yet: building its first release is how it gets the id to pin.
    const spec = loadStack(root, stack, { unpinnedAllowed: true });
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
        if (!values.json && spec.knobs.releases[app] === undefined) io.err(`${app} is pinned in no release yet; pin this one with: fawkes pin ${app} ${r.release} --all\n`);
      } catch (e) {
        failures.push({ app, error: failure(e) });
        io.err(e instanceof BuildNeedsRootError ? `error: ${failure(e)}\n` : `error: building ${app} failed: ${failure(e)}\n`);
      }
    }
    const pruned: Record<string, string[]> = {};
    const pushed: Pushed[] = [];
    const prunedRemote: Record<string, string[]> = {};
    let pruneFailed = false;
    let pushFailed = false;
    if (failures.length === 0) {
      const apps = [...new Set(results.map((r) => r.app))];
      const protect = new Map<string, Set<string>>();
      for (const app of apps) {
        try {
          const keepThese = protectedReleases(root, app);
          for (const r of results) if (r.app === app) keepThese.add(r.release);
          protect.set(app, keepThese);
          const removed = pruneReleases(store ?? defaultStore(), app, keep, keepThese);
          for (const id of removed) io.err(`pruned ${app} ${id}\n`);
          pruned[app] = removed;
        } catch (e) {
          pruneFailed = true;
          io.err(`error: not pruning ${app}: ${(e as Error).message}\n`);
        }
      }
      // The machine's unpacked copies of the releases that left the store go with them.
      pruneUnpacked(unpackedDir());
      if (values.push) {
        const bucket = stackArtifactBucket(spec);
        for (const app of apps) {
          let ok = true;
          for (const r of results.filter((x) => x.app === app)) {
            try {
              const where = `${bucket.where}${app}/`;
              const status = await pushRelease(bucket, app, r.release, artifactPaths(store ?? defaultStore(), app, r.release));
              pushed.push({ app, release: r.release, status, where });
              if (!values.json) io.out(status === "pushed" ? `pushed ${app} ${r.release} to ${where}\n` : `${app} ${r.release} already in ${where}\n`);
            } catch (e) {
              ok = false;
              pushFailed = true;
              io.err(`error: pushing ${app} ${r.release}: ${(e as Error).message}\n`);
            }
          }
          const keepThese = protect.get(app);
          if (!ok || keepThese === undefined) continue;
          try {
            const removed = await pruneStore(bucket, app, keep, keepThese);
            for (const id of removed) io.err(`pruned ${app} ${id} from ${bucket.where}${app}/\n`);
            prunedRemote[app] = removed;
          } catch (e) {
            pruneFailed = true;
            io.err(`error: not pruning ${app} in ${bucket.where}: ${(e as Error).message}\n`);
          }
        }
      }
    }
    if (values.json) io.out(`${JSON.stringify({ ref, results, failures, pruned, ...(values.push ? { pushed, prunedRemote } : {}), totalMs: Date.now() - started }, null, 2)}\n`);
    return failures.length === 0 && !pruneFailed && !pushFailed ? 0 : 1;
  },
};
