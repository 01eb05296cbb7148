import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { EnvironmentSpec } from "../config/index.ts";
import { writeAtomically } from "../config/index.ts";
import { appPaths } from "../model/index.ts";
import { ensureImage, fawkesHome, imageOf } from "../local/image.ts";
import { withLock } from "../local/lock.ts";
import { runSteps, type Progress, type Step } from "../local/steps.ts";
import { digestTree, manifestJson, manifestOf, MANIFEST, pythonVersionOf, type WheelEntry } from "./manifest.ts";
import { pipIndexOf, redactedUrl } from "./pip-index.ts";
import { buildDirs, LOCK_FILE, sourceSteps, tarArgv, venvSteps, wheelhouseSteps, type BuildContext } from "./plan.ts";
import { releaseSourceOf, uncommittedChanges } from "./release-id.ts";
import { artifactPaths, defaultStore, ensureStoreDir, publish, sha256OfFile, storedArtifact } from "./store.ts";

export interface BuildOptions {
  root: string;
  spec: EnvironmentSpec;
  app: string;
  ref?: string;
  /** Default `${FAWKES_HOME:-/var/lib/fawkes}/artifacts`. */
  store?: string;
  progress?: Progress;
}

export interface BuildResult {
  app: string;
  release: string;
  /** `exists`: the store already held this release; nothing was built. */
  status: "built" | "exists";
  tarball: string;
  sha256: string;
  bytes: number;
  gitSha: string;
  /** Milliseconds per phase (built only). */
  timings?: { source: number; wheelhouse: number; venv: number; manifest: number; tarball: number; total: number };
}

export class BuildNeedsRootError extends Error {}

/**
 * The build took packages from the package index that the committed lock does not pin (or pins
 * otherwise): it wrote the new lock into the app's source dir and stored no release, since the
 * release id covers the lock. Committing the file and building again makes the release.
 */
export class LockChangedError extends Error {
  override name = "LockChangedError";
  constructor(
    readonly app: string,
    /** The lock written, absolute. */
    readonly file: string,
    readonly pins: readonly string[],
  ) {
    super(
      `${app} takes ${pins.length === 0 ? "fewer packages" : `${pins.length} package(s)`} from the package index ${pins.length === 0 ? "than" : "that"} its committed ${LOCK_FILE} ${pins.length === 0 ? "pins" : `does not pin: ${pins.join(", ")}`}. ` +
        `fawkes wrote the pins (version and sha256 of each file) to ${file}; review and commit it, then build again: the release id covers it, so no release was stored`,
    );
  }
}

export function needsRootMessage(app: string): string {
  return (
    `building ${app} needs root: the venv is built inside the golden image (an overlay mount, a bind mount of the ` +
    "release dir and a chroot, in a private mount namespace). Run it as root, e.g. `sudo npx fawkes build`. " +
    "Without root, `fawkes check`, `render` and `plan` still work, and a release already in the store is reported as such."
  );
}

async function timed(phase: string, timings: Record<string, number>, steps: Step[], progress: Progress): Promise<void> {
  const t = Date.now();
  await runSteps(steps, (m) => progress(`${phase}: ${m}`));
  timings[phase] = Date.now() - t;
}

/** The lock keeps its mode and owner; a new one gets its dir's owner (root writing a user's checkout). Never through a link. */
function lockOwner(dir: string, file: string): { mode: number; uid: number; gid: number } {
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (st !== undefined && !st.isFile()) throw new Error(`${file} is ${st.isSymbolicLink() ? "a symbolic link" : "not a regular file"}: fawkes writes the lock only as a regular file; remove it`);
  if (st !== undefined) return st;
  const d = lstatSync(dir);
  return { mode: 0o644, uid: d.uid, gid: d.gid };
}

/** Refuses to delete a build dir that something is still mounted under (it never should be). */
function removeWork(work: string): void {
  const mounted = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => (l.split(" ")[1] ?? "").replace(/\\040/g, " "))
    .filter((m) => m === work || m.startsWith(`${work}/`));
  if (mounted.length > 0) throw new Error(`not removing ${work}: still mounted there: ${mounted.join(", ")}`);
  rmSync(work, { recursive: true, force: true });
}

/** Scratch dirs of builds whose process is gone (killed mid-build): nothing is mounted there, by construction. */
function pruneStaleBuilds(builds: string): void {
  if (!existsSync(builds)) return;
  for (const d of readdirSync(builds)) {
    const pid = Number(/-(\d+)$/.exec(d)?.[1]);
    if (pid > 0 && pid !== process.pid && !existsSync(`/proc/${pid}`)) removeWork(join(builds, d));
  }
}

/**
 * Builds one app's release artifact from committed source into the store: source, wheelhouse, the
 * venv built in the golden image at the hosts' path, build hooks, manifest, a reproducible tar.gz
 * and its .sha256. A release already in the store is a no-op.
 */
export async function buildArtifact(opts: BuildOptions): Promise<BuildResult> {
  const progress = opts.progress ?? (() => {});
  const app = opts.spec.catalogue.apps.find((a) => a.name === opts.app);
  if (!app) throw new Error(`no app "${opts.app}" in the catalogue; apps: ${opts.spec.catalogue.apps.map((a) => a.name).join(", ")}`);
  const release = await releaseSourceOf(opts.root, app.source, opts.ref);
  const paths = artifactPaths(opts.store ?? defaultStore(), app.name, release.id);
  const exists = async (): Promise<BuildResult | undefined> => {
    const sha256 = await storedArtifact(paths);
    if (sha256 === undefined) return undefined;
    progress(`${app.name} ${release.id} is already in the store: nothing to build`);
    return { app: app.name, release: release.id, status: "exists", tarball: paths.tarball, sha256, bytes: statSync(paths.tarball).size, gitSha: release.commit };
  };
  const stored = await exists();
  if (stored) return stored;
  if (process.getuid?.() !== 0) throw new BuildNeedsRootError(needsRootMessage(app.name));

  const dirty = release.ref === "HEAD" ? await uncommittedChanges(opts.root, app.source) : [];
  if (dirty.length > 0) progress(`${app.source} has ${dirty.length} uncommitted change(s); the release is built from ${release.ref} (${release.commit.slice(0, 12)}) without them`);
  const image = await ensureImage(imageOf(opts.spec.catalogue.image), progress);
  ensureStoreDir(paths);
  return withLock(
    paths.lock,
    async () => {
      const again = await exists();
      if (again) return again;
      pruneStaleBuilds(join(fawkesHome(), "builds"));
      const work = join(fawkesHome(), "builds", `${app.name}-${release.id}-${process.pid}`);
      for (const p of [image.rootfs, work]) if (/[,:\s]/.test(p)) throw new Error(`${p}: an overlay mount cannot take a path with ",", ":" or spaces; set FAWKES_HOME elsewhere`);
      const index = pipIndexOf();
      if (index.urls.length > 0) progress(`package index: ${index.urls.map(redactedUrl).join(", ")} (from ${index.from.join(", ")})`);
      for (const s of index.skipped) progress(`package index skipped: ${s}`);
      const ctx: BuildContext = { root: opts.root, app, release, rootfs: image.rootfs, work, releasePath: `${appPaths(app.name).releases}/${release.id}`, indexUrls: index.urls };
      const dirs = buildDirs(work);
      const partial = `${paths.tarball}.${process.pid}.partial`;
      const timings: Record<string, number> = {};
      const started = Date.now();
      progress(`building ${app.name} ${release.id} from ${release.source} at ${release.ref} (${release.commit.slice(0, 12)}) in image ${image.hash}`);
      removeWork(work);
      mkdirSync(work, { recursive: true });
      try {
        await timed("source", timings, sourceSteps(ctx), progress);
        const reserved = ["venv", "wheelhouse", MANIFEST].filter((n) => existsSync(join(dirs.staging, n)));
        if (reserved.length > 0) throw new Error(`${release.source} commits ${reserved.join(", ")}: fawkes build makes ${reserved.length === 1 ? "it" : "them"}; remove ${reserved.length === 1 ? "it" : "them"} from the repository`);
        await timed("wheelhouse", timings, wheelhouseSteps(ctx), progress);
        const report = JSON.parse(readFileSync(dirs.report, "utf8")) as { wheels: WheelEntry[]; lockChanged?: boolean };
        if (report.lockChanged) {
          const file = join(opts.root, app.source, LOCK_FILE);
          writeAtomically(file, readFileSync(dirs.lock, "utf8"), lockOwner(join(opts.root, app.source), file));
          const pins = (t: string) => t.split("\n").filter((l) => /^[^#\s]/.test(l)).map((l) => l.split(" ")[0]!);
          const committed = new Set(existsSync(join(dirs.staging, LOCK_FILE)) ? pins(readFileSync(join(dirs.staging, LOCK_FILE), "utf8")) : []);
          throw new LockChangedError(app.name, file, pins(readFileSync(dirs.lock, "utf8")).filter((p) => !committed.has(p)));
        }
        // The script saw the libraries in this build's scratch dir; the manifest names their repository dirs.
        for (const w of report.wheels) {
          const i = w.path === undefined ? undefined : /\/libs\/(\d+)$/.exec(w.path)?.[1];
          if (i !== undefined) w.path = release.libraries[Number(i)]?.dir ?? w.path;
        }
        const fromRepo = report.wheels.filter((w) => w.source === "repository").map((w) => w.name);
        const named = new Set(release.libraries.map((l) => l.name));
        const unnamed = fromRepo.filter((n) => !named.has(n));
        if (unnamed.length > 0) throw new Error(`the wheelhouse uses repository libraries the release id does not cover: ${unnamed.join(", ")}`);
        await timed("venv", timings, venvSteps(ctx), progress);

        let t = Date.now();
        const requirements = readFileSync(join(dirs.staging, "requirements.txt"), "utf8");
        const manifest = manifestOf({
          app: app.name, release, image: image.hash, python: pythonVersionOf(readFileSync(join(dirs.staging, "venv/pyvenv.cfg"), "utf8")),
          releasePath: ctx.releasePath, requirements, buildHooks: app.hooks.build, wheels: report.wheels, digest: digestTree(dirs.staging),
        });
        writeFileSync(join(dirs.staging, MANIFEST), manifestJson(manifest), { mode: 0o644 });
        timings.manifest = Date.now() - t;

        t = Date.now();
        await runSteps([{ kind: "run", title: `tar.gz of ${app.name} ${release.id}`, argv: tarArgv(dirs.staging, partial, release.commitTime) }], (m) => progress(`tarball: ${m}`));
        const sha256 = await sha256OfFile(partial);
        timings.tarball = Date.now() - t;
        timings.total = Date.now() - started;
        const bytes = statSync(partial).size;
        publish(paths, partial, sha256, {
          app: app.name, release: release.id, gitSha: release.commit, image: image.hash, sha256, bytes,
          builtAt: new Date().toISOString(), builtOn: hostname(), timingsMs: timings,
        });
        progress(`${app.name} ${release.id}: ${paths.tarball} (${(bytes / 1e6).toFixed(1)} MB) in ${(timings.total / 1000).toFixed(1)} s`);
        return { app: app.name, release: release.id, status: "built", tarball: paths.tarball, sha256, bytes, gitSha: release.commit, timings: timings as BuildResult["timings"] };
      } finally {
        rmSync(partial, { force: true });
        if (existsSync(work)) removeWork(work);
      }
    },
    { onWait: (pid) => progress(`waiting for pid ${pid}, which is building ${app.name} ${release.id}`) },
  );
}
