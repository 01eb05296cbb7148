import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ResolvedApp } from "../config/index.ts";
import type { Step } from "../local/steps.ts";
import type { ReleaseSource } from "./release-id.ts";

/** Everything the build steps of one release need to know: plain values, no I/O. */
export interface BuildContext {
  root: string;
  app: Pick<ResolvedApp, "name" | "env" | "hooks" | "processes">;
  release: ReleaseSource;
  /** The golden image's rootfs: the lower layer of the build's overlay. */
  rootfs: string;
  /** This build's scratch dir (removed afterwards). */
  work: string;
  /** The release dir on hosts, `/srv/apps/<app>/releases/<id>`: the venv is built there. */
  releasePath: string;
  /** The package index (the user's pip configuration): the last route of the wheelhouse. */
  indexUrls: readonly string[];
}

export interface BuildDirs {
  /** Becomes the release dir: source, requirements.txt, wheelhouse/, venv/, manifest.json. */
  staging: string;
  libs: string;
  overlay: string;
  report: string;
  /** The lock of the build's resolution: the index's files by sha256. */
  lock: string;
}

export function buildDirs(work: string): BuildDirs {
  return { staging: join(work, "release"), libs: join(work, "libs"), overlay: join(work, "overlay"), report: join(work, "wheelhouse.json"), lock: join(work, LOCK_FILE) };
}

/** In the app's source dir: the packages it takes from the package index, each pinned by sha256. */
export const LOCK_FILE = "requirements.lock";
/** In the build's scratch dir: the package index's URLs, one a line. */
const INDEX_URLS = "index-urls";
/** In the app's source dir: wheels and sdists committed with the app, installed offline. */
export const WHEELS_DIR = "wheels";

export const WHEELHOUSE_SCRIPT = fileURLToPath(new URL("../../scripts/build-wheelhouse.py", import.meta.url));
/** Where the build's scratch dir (libraries, the script, its report) appears inside the image. */
export const BUILD_MOUNT = "/var/lib/fawkes-build";

export function isWebApp(app: Pick<ResolvedApp, "processes">): boolean {
  return Object.values(app.processes).some((p) => p.wsgi !== undefined);
}

/**
 * The requirements.txt that ships: the app's own, plus gunicorn for an app with a web process
 * (hosts run the venv's gunicorn; a host that rebuilds the venv installs from this file too).
 */
export function shippedRequirements(app: Pick<ResolvedApp, "processes">, committed: string): string {
  const text = committed === "" || committed.endsWith("\n") ? committed : `${committed}\n`;
  const names = text.split("\n").map((l) => /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(l)?.[1]?.toLowerCase());
  if (!isWebApp(app) || names.includes("gunicorn")) return text;
  return `${text}gunicorn  # added by fawkes build: web processes run the venv's gunicorn\n`;
}

/** `git archive` of a dir at the commit (mtimes = commit time), unpacked with the dir's own path stripped. */
function archiveSteps(ctx: BuildContext, dir: string, into: string, key: string, title: string): Step[] {
  const tar = join(ctx.work, `${key}.tar`);
  return [
    { kind: "run", title: `git archive ${title}`, argv: ["git", "-C", ctx.root, "archive", "--format=tar", `--output=${tar}`, ctx.release.commit, "--", dir] },
    { kind: "run", title: `unpack ${title}`, argv: ["sh", "-c", 'mkdir -p "$1" && tar -x -f "$2" -C "$1" --strip-components="$3" && rm -f "$2"', "unpack", into, tar, String(dir.split("/").length)] },
  ];
}

/** The app's committed source into the staging dir, its repository libraries beside it. */
export function sourceSteps(ctx: BuildContext): Step[] {
  const dirs = buildDirs(ctx.work);
  const { source, commit } = ctx.release;
  return [
    ...archiveSteps(ctx, source, dirs.staging, "source", `${source} at ${commit.slice(0, 12)}`),
    ...ctx.release.libraries.flatMap((lib, i) => archiveSteps(ctx, lib.dir, join(dirs.libs, `${i}`), `library-${i}`, `library ${lib.dir}`)),
    {
      kind: "write",
      title: isWebApp(ctx.app) ? "requirements.txt (with gunicorn for the web process)" : "requirements.txt",
      path: join(dirs.staging, "requirements.txt"),
      content: shippedRequirements(ctx.app, ctx.release.requirements),
      mode: 0o644,
    },
  ];
}

/**
 * The wheelhouse, by scripts/build-wheelhouse.py run in the golden image with the image's own
 * Debian python3, each requirement from the first route that fits it: the repository's libraries,
 * the app's committed wheels and sdists, the Debian packages the image carries (the hosts' Debian
 * release, whatever this machine runs), the package index by the committed lock's sha256s. The
 * lock of this resolution is written beside the report; the committed wheels, now in the
 * wheelhouse, leave the release.
 */
export function wheelhouseSteps(ctx: BuildContext): Step[] {
  const libs = ctx.release.libraries.flatMap((_, i) => ["--lib", `${BUILD_MOUNT}/libs/${i}`]);
  // The index URLs (a private index's may carry a token) reach the script by a file of the build's scratch dir, root's alone.
  const index: Step[] = ctx.indexUrls.length === 0 ? [] : [{ kind: "write", title: "the package index's URLs", path: join(ctx.work, INDEX_URLS), content: `${ctx.indexUrls.join("\n")}\n`, mode: 0o600 }];
  return [
    { kind: "run", title: "copy build-wheelhouse.py into the build dir", argv: ["cp", WHEELHOUSE_SCRIPT, join(ctx.work, "build-wheelhouse.py")] },
    ...index,
    inImage(ctx, "wheelhouse: repository libraries, committed wheels, Debian's Python packages, the package index", { PATH: "/usr/bin:/bin", LC_ALL: "C.UTF-8", HOME: "/root" }, [
      "/usr/bin/python3", "-B", `${BUILD_MOUNT}/build-wheelhouse.py`, "--requirements", "requirements.txt", "--out", "wheelhouse", "--report", `${BUILD_MOUNT}/wheelhouse.json`,
      "--wheels", WHEELS_DIR, "--lock", LOCK_FILE, "--write-lock", `${BUILD_MOUNT}/${LOCK_FILE}`, ...(index.length > 0 ? ["--index-urls", `${BUILD_MOUNT}/${INDEX_URLS}`] : []), ...libs,
    ]),
    { kind: "run", title: `${WHEELS_DIR}/ out of the release (its wheels are in the wheelhouse)`, argv: ["rm", "-rf", "--", join(buildDirs(ctx.work).staging, WHEELS_DIR)] },
  ];
}

/**
 * Enters the golden image with the staging dir at the release path, in its own mount namespace
 * (run under `unshare --mount`): the overlay, the bind mount and /proc vanish with the namespace
 * when the command ends, failed or not, and never appear in the machine's mount table.
 * The build's scratch dir is bound at BUILD_MOUNT.
 * $1 rootfs, $2 overlay dir, $3 staging dir, $4 release path, $5 scratch dir; the rest: env assignments + argv.
 */
export const ENTER_IMAGE = `set -eu
rootfs=$1 overlay=$2 staging=$3 release=$4 scratch=$5
shift 5
mkdir -p "$overlay/upper" "$overlay/work" "$overlay/root"
mount -t overlay fawkes-build -o "lowerdir=$rootfs,upperdir=$overlay/upper,workdir=$overlay/work" "$overlay/root"
mkdir -p "$overlay/root$release" "$overlay/root${BUILD_MOUNT}"
mount --bind "$staging" "$overlay/root$release"
mount --bind "$scratch" "$overlay/root${BUILD_MOUNT}"
mount -t proc proc "$overlay/root/proc"
exec chroot "$overlay/root" /usr/bin/env -i -C "$release" "$@"
`;

/** A command run in the golden image, in the release dir, with exactly `env` as its environment. */
export function inImage(ctx: BuildContext, title: string, env: Record<string, string>, argv: string[]): Step {
  const dirs = buildDirs(ctx.work);
  const assignments = Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}`);
  return {
    kind: "run",
    title,
    argv: ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", ENTER_IMAGE, "fawkes-enter-image", ctx.rootfs, dirs.overlay, dirs.staging, ctx.releasePath, ctx.work, ...assignments, ...argv],
  };
}

/** The build's environment in the image. SOURCE_DATE_EPOCH makes pip compile hash-checked .pyc files. */
export function imageEnv(ctx: BuildContext): Record<string, string> {
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: "/root",
    LC_ALL: "C.UTF-8",
    SOURCE_DATE_EPOCH: String(ctx.release.commitTime),
    PIP_NO_INDEX: "1",
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    PIP_NO_CACHE_DIR: "1",
    PIP_NO_INPUT: "1",
    PIP_ROOT_USER_ACTION: "ignore",
  };
}

/** What a build hook sees: the catalogue's plain env, then what fawkes-exec sets on hosts; no secrets exist yet. */
export function hookEnv(ctx: BuildContext): Record<string, string> {
  const venv = `${ctx.releasePath}/venv`;
  return {
    ...ctx.app.env,
    ...imageEnv(ctx),
    VIRTUAL_ENV: venv,
    PATH: `${venv}/bin:/usr/local/bin:/usr/bin:/bin`,
    FAWKES_RELEASE: ctx.release.id,
    FAWKES_BUILD: "1",
    // The app's own .pyc files are written on hosts, at first import, not shipped half-made.
    PYTHONDONTWRITEBYTECODE: "1",
  };
}

/** The venv, built once in the golden image at the path hosts use, then proved, then the build hooks. */
export function venvSteps(ctx: BuildContext): Step[] {
  const env = imageEnv(ctx);
  const steps: Step[] = [
    inImage(ctx, `python3 -m venv ${ctx.releasePath}/venv (in the golden image)`, env, ["python3", "-m", "venv", "venv"]),
    inImage(ctx, "pip install --no-index --find-links wheelhouse -r requirements.txt", env, [
      "venv/bin/pip", "install", "--no-index", "--find-links", "wheelhouse", "-r", "requirements.txt",
    ]),
    inImage(ctx, "pip check (every installed requirement satisfied)", env, ["venv/bin/pip", "check"]),
  ];
  if (isWebApp(ctx.app)) steps.push(inImage(ctx, "venv/bin/gunicorn --version", env, ["venv/bin/gunicorn", "--version"]));
  for (const hook of ctx.app.hooks.build) steps.push(inImage(ctx, `build hook: ${hook}`, hookEnv(ctx), ["/bin/sh", "-c", hook]));
  return steps;
}

/**
 * argv of the artifact's tar.gz: sorted names, every mtime the commit's, owner 0:0, modes without
 * group/other write, GNU format (no pax atime/ctime headers), gzip without name or timestamp.
 */
export function tarArgv(staging: string, out: string, mtime: number): string[] {
  return [
    "tar", "--create", `--file=${out}`, "--use-compress-program=gzip -n", "--format=gnu", "--sort=name", `--mtime=@${mtime}`,
    "--owner=0", "--group=0", "--numeric-owner", "--mode=u+rw,go-w", `--directory=${staging}`, ".",
  ];
}
