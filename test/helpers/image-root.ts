// The hosts' own image for the validators: nginx, supervisord, gunicorn and cloud-init are checked
// with the versions the hosts run (Debian 13, from image/recipe.yaml), not the machine's. Each
// command runs chrooted in a throw-away overlay of the golden image, in a private mount namespace,
// with the directories it reads bound at the same paths: nothing of it outlives the command.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadStack } from "../../src/config/index.ts";
import { ensureImage, imageOf, type GoldenImage } from "../../src/local/index.ts";
import { ROOT } from "./rendered-hosts.ts";
import type { Tool } from "./tools.ts";

let building: Promise<GoldenImage> | undefined;

/** The golden image of the repository's recipe: built once per machine (the e2e tests boot the same one). */
export function goldenImage(): Promise<GoldenImage> {
  if (process.getuid?.() !== 0 && !existsSync(join(imageOf(loadStack(ROOT, "dev").catalogue.image).rootfs, "etc/fawkes/image.json"))) {
    return Promise.reject(new Error("the validators run the hosts' tools in the golden image, and building it needs root: run the tests as root (or `sudo npx fawkes image build` once)"));
  }
  building ??= ensureImage(imageOf(loadStack(ROOT, "dev").catalogue.image));
  return building;
}

/** Throws, naming the tool and its Debian package, when the image lacks a validator binary. Never skips. */
export function requireImageTools(image: GoldenImage, ...tools: Tool[]): void {
  const missing = tools.filter((t) => !existsSync(join(image.rootfs, t.path)));
  if (missing.length > 0) {
    throw new Error(`the golden image ${image.hash} lacks ${missing.map((t) => `${t.path} (Debian package "${t.debianPackage}")`).join(", ")}: add the package to image/recipe.yaml`);
  }
}

/**
 * $1 rootfs, $2 scratch dir (the overlay's upper and work dirs, and the new root); then the dirs
 * to bind at their own paths, `--`, and the command.
 */
const ENTER = `set -eu
rootfs=$1 scratch=$2
shift 2
mkdir -p "$scratch/upper" "$scratch/work" "$scratch/root"
mount -t overlay fawkes-validate -o "lowerdir=$rootfs,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/root"
mount -t tmpfs -o mode=1777 fawkes-validate-tmp "$scratch/root/tmp"
while [ "$1" != -- ]; do
  mkdir -p "$scratch/root$1"
  mount --bind "$1" "$scratch/root$1"
  shift
done
shift
mount --rbind /dev "$scratch/root/dev"
exec chroot "$scratch/root" "$@"
`;

/** argv that runs `argv` in the image, with `binds` (absolute dirs of this machine) at the same paths. */
export function inImageRoot(image: GoldenImage, scratch: string, binds: readonly string[], argv: readonly string[]): string[] {
  const unshare = ["/usr/bin/unshare", "--mount", "--propagation", "private"];
  if (process.getuid?.() !== 0) unshare.push("--map-root-user");
  return [...unshare, "--", "/bin/sh", "-c", ENTER, "fawkes-image-root", image.rootfs, scratch, ...binds, "--", ...argv];
}
