import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { DISTRIBUTIONS, type Distribution, type ImageRecipe, type RecipeStep } from "../config/index.ts";
import { imagePackages, recipeHash } from "../model/index.ts";
import { BUILD_ENV, IMAGE_MARKER_PATH, imageMarker, installArgv } from "../render/index.ts";
import { withLock } from "./lock.ts";
import { pids, procFile } from "./proc.ts";
import { debianMirror } from "./mirror.ts";
import { runSteps, type Progress, type Step } from "./steps.ts";

/** Where fawkes keeps golden images, hosts and local stores. */
export function fawkesHome(): string {
  return process.env.FAWKES_HOME ?? "/var/lib/fawkes";
}

export interface GoldenImage {
  hash: string;
  dir: string;
  rootfs: string;
  distribution: Distribution;
  packages: string[];
  steps: RecipeStep[];
}

export function imageOf(recipe: Pick<ImageRecipe, "distribution" | "packages" | "steps">, home = fawkesHome()): GoldenImage {
  const hash = recipeHash(recipe);
  const dir = join(home, "images", hash);
  return { hash, dir, rootfs: join(dir, "rootfs"), distribution: recipe.distribution, packages: imagePackages(recipe), steps: recipe.steps };
}

/** A built image has its marker file; a half-built one (crash, ^C) never does. */
export function isBuilt(image: GoldenImage): boolean {
  return existsSync(join(image.rootfs, IMAGE_MARKER_PATH.slice(1)));
}

const NO_DAEMONS = "#!/bin/sh\n# fawkes: packages installed into the golden image never start services.\nexit 101\n";

/** The minimal Debian every image of a distribution starts from: debootstrapped once, kept beside the images. */
export function baseOf(distribution: Distribution, home = fawkesHome()): { dir: string; rootfs: string; marker: string } {
  const dir = join(home, "images", `base-${DISTRIBUTIONS[distribution].suite}`);
  return { dir, rootfs: join(dir, "rootfs"), marker: join(dir, "debootstrapped") };
}

/** debootstrap of the distribution's minimal Debian into `work`: once per machine, not once per recipe. */
export function baseSteps(distribution: Distribution, mirror: string, work: string): Step[] {
  const suite = DISTRIBUTIONS[distribution].suite;
  return [{ kind: "run", title: `debootstrap ${suite} (minbase, once per machine)`, argv: ["debootstrap", "--variant=minbase", suite, work, mirror] }];
}

/**
 * The steps that build a golden image in `work` (then renamed into place): a copy of the
 * distribution's minimal Debian, the recipe's packages by apt inside it (apt follows virtual
 * packages, debootstrap does not), the recipe's steps, then apt's caches removed and the marker
 * written last. The AMI gets the same packages and steps from the Image Builder component rendered
 * from the same recipe.
 */
export function buildSteps(image: GoldenImage, base: string, work: string): Step[] {
  const chroot = (title: string, ...argv: string[]): Step => ({
    kind: "run",
    title,
    argv: ["chroot", work, ...argv],
    env: { ...BUILD_ENV, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  return [
    { kind: "run", title: `copy of ${base}`, argv: ["cp", "-a", "--reflink=auto", base, work] },
    { kind: "write", title: "keep daemons from starting during the build", path: join(work, "usr/sbin/policy-rc.d"), content: NO_DAEMONS, mode: 0o755 },
    // The base may be weeks old: its package lists would name versions the archive no longer has.
    chroot("apt-get update", "apt-get", "update", "-q"),
    chroot(`apt-get install ${image.packages.length} packages`, ...installArgv(image)),
    ...image.steps.map((s) => chroot(`recipe step ${s.name}`, "/bin/bash", "-euo", "pipefail", "-c", s.run)),
    chroot("apt-get clean", "apt-get", "clean"),
    { kind: "run", title: "remove apt lists and the build's policy", argv: ["rm", "-rf", join(work, "var/lib/apt/lists"), join(work, "usr/sbin/policy-rc.d")] },
    {
      kind: "write",
      title: "mark the image built",
      path: join(work, IMAGE_MARKER_PATH.slice(1)),
      content: imageMarker(image),
      mode: 0o644,
    },
  ];
}

/** The distribution's base, debootstrapped once; a second caller waits for the first. */
async function ensureBase(distribution: Distribution, progress: Progress, home: string): Promise<string> {
  const base = baseOf(distribution, home);
  if (existsSync(base.marker)) return base.rootfs;
  mkdirSync(join(home, "images"), { recursive: true });
  return withLock(`${base.dir}.lock`, async () => {
    if (existsSync(base.marker)) return base.rootfs;
    const mirror = process.env.FAWKES_DEBIAN_MIRROR ?? debianMirror(DISTRIBUTIONS[distribution].suite);
    const work = join(home, "images", `.build-base-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    try {
      if ((await execa("sh", ["-c", "command -v debootstrap"], { reject: false })).exitCode !== 0) await runSteps(installDebootstrapSteps(), progress);
      await runSteps(baseSteps(distribution, mirror, join(work, "rootfs")), progress);
      writeFileSync(join(work, "debootstrapped"), `${mirror}\n`);
      rmSync(base.dir, { recursive: true, force: true });
      renameSync(work, base.dir);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return base.rootfs;
  });
}

/** debootstrap itself comes from Debian, through this machine's apt, when it is missing. */
export function installDebootstrapSteps(): Step[] {
  const env = { DEBIAN_FRONTEND: "noninteractive", PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
  return [
    { kind: "run", title: "apt-get update (debootstrap is missing)", argv: ["apt-get", "update", "-q"], env },
    { kind: "run", title: "apt-get install debootstrap", argv: ["apt-get", "install", "-y", "-q", "--no-install-recommends", "debootstrap"], env },
  ];
}

/** A build's scratch dir (`.build-<what>-<pid>`) whose process is gone: killed mid-build, never to be an image. */
function isDeadBuild(entry: string): boolean {
  const pid = /^\.build-.*-(\d+)$/.exec(entry)?.[1];
  return pid !== undefined && !existsSync(`/proc/${pid}`);
}

/** Builds the image once; a second caller waits for the first and then finds it built. */
export async function ensureImage(image: GoldenImage, progress: Progress = () => {}): Promise<GoldenImage> {
  if (isBuilt(image)) return image;
  const home = join(image.dir, "..");
  return withLock(
    `${image.dir}.lock`,
    async () => {
      if (isBuilt(image)) return image;
      // What earlier builds of this recipe left when they were killed.
      for (const d of readdirSync(home)) if (d.startsWith(`.build-${image.hash}-`) && isDeadBuild(d)) rmSync(join(home, d), { recursive: true, force: true });
      const work = join(home, `.build-${image.hash}-${process.pid}`);
      rmSync(work, { recursive: true, force: true });
      progress(`building golden image ${image.hash} (${image.distribution}, ${image.packages.length} packages); once per recipe`);
      try {
        const base = await ensureBase(image.distribution, progress, join(home, ".."));
        mkdirSync(work, { recursive: true });
        await runSteps(buildSteps(image, base, join(work, "rootfs")), progress);
        rmSync(image.dir, { recursive: true, force: true });
        renameSync(work, image.dir);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      return image;
    },
    { onWait: (pid) => progress(`waiting for pid ${pid}, which is building image ${image.hash}`) },
  );
}

export interface ImageListing {
  hash: string;
  built: boolean;
  distribution?: string;
  packages?: number;
  createdAt?: string;
}

export function listImages(home = fawkesHome()): ImageListing[] {
  const dir = join(home, "images");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => /^[0-9a-f]{8}$/.test(d))
    .sort()
    .map((hash) => {
      const marker = join(dir, hash, "rootfs", IMAGE_MARKER_PATH.slice(1));
      if (!existsSync(marker)) return { hash, built: false };
      const m = JSON.parse(readFileSync(marker, "utf8")) as { distribution: string; packages: string[] };
      return { hash, built: true, distribution: m.distribution, packages: m.packages.length, createdAt: statSync(marker).mtime.toISOString() };
    });
}

/** Hashes of images some running host is built on (its overlay's lowerdir), seen from /proc. */
function imagesInUse(home: string): Set<string> {
  const used = new Set<string>();
  const images = `${join(home, "images")}/`;
  for (const pid of pids()) {
    for (const m of (procFile(pid, "mountinfo") ?? "").matchAll(/lowerdir=([^,\s]+)/g)) {
      const hash = m[1]!.startsWith(images) ? /^([0-9a-f]{8})(\/|$)/.exec(m[1]!.slice(images.length))?.[1] : undefined;
      if (hash) used.add(hash);
    }
  }
  return used;
}

/** Removes images other than `keep` that no running host uses, and half-built leftovers. */
export function pruneImages(keep: readonly string[], home = fawkesHome()): { removed: string[]; kept: string[] } {
  const dir = join(home, "images");
  if (!existsSync(dir)) return { removed: [], kept: [] };
  const used = imagesInUse(home);
  const removed: string[] = [];
  const kept: string[] = [];
  for (const entry of readdirSync(dir)) {
    const hash = /^([0-9a-f]{8})$/.exec(entry)?.[1];
    if (isDeadBuild(entry) || (hash && !keep.includes(hash) && !used.has(hash))) {
      rmSync(join(dir, entry), { recursive: true, force: true });
      removed.push(entry);
    } else if (hash) kept.push(hash);
  }
  return { removed, kept };
}
