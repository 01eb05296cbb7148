import { listStacks, loadStack, readProject } from "../../config/index.ts";
import { ensureImage, imageOf, listImages, pruneImages } from "../../local/index.ts";
import { UsageError, type Command } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

const progress = (io: { err: (t: string) => void }) => (m: string) => io.err(`${m}\n`);

export const imageBuild: Command = {
  name: "image build",
  summary: "Build the golden image of the catalogue's recipe (Debian rootfs by debootstrap), once per recipe.",
  usage: "fawkes image build [--json]",
  help: `The image is cached under a hash of the recipe ($FAWKES_HOME/images/<hash>, default
/var/lib/fawkes) and reused by every host and environment; a second build of the same recipe
finds it built, and two builds at once wait for each other. The Debian mirror is the one this
machine's apt uses. Needs root.

Exit codes: 0 built or already there; 1 the build failed (the failing step and its output); 2 usage.`,
  options: { json: { type: "boolean" } },
  async run({ values }, io) {
    if (process.getuid?.() !== 0) throw new UsageError("building a golden image needs root (debootstrap, chroot); run it with sudo");
    const root = findProjectRoot(io.cwd, values.project);
    const spec = loadStack(root, firstStack(root));
    const t0 = Date.now();
    const img = await ensureImage(imageOf(spec.catalogue.image), progress(io));
    if (values.json) io.out(`${JSON.stringify({ hash: img.hash, rootfs: img.rootfs, packages: img.packages, seconds: (Date.now() - t0) / 1000 })}\n`);
    else io.out(`golden image ${img.hash}: ${img.rootfs}\n`);
    return 0;
  },
};

export const imageList: Command = {
  name: "image list",
  summary: "List the golden images on this machine.",
  usage: "fawkes image list [--json]",
  help: "Exit codes: 0 listed; 2 usage.",
  options: { json: { type: "boolean" } },
  async run({ values }, io) {
    const images = listImages();
    if (values.json) io.out(`${JSON.stringify(images, null, 2)}\n`);
    else if (images.length === 0) io.out("no golden images (fawkes image build makes one)\n");
    else for (const i of images) io.out(`${i.hash}  ${i.built ? `${i.distribution}, ${i.packages} packages, built ${i.createdAt}` : "incomplete"}\n`);
    return 0;
  },
};

export const imagePrune: Command = {
  name: "image prune",
  summary: "Remove golden images the current recipe does not use and no running host is built on.",
  usage: "fawkes image prune [--json]",
  help: "Exit codes: 0 pruned (or nothing to prune); 2 usage.",
  options: { json: { type: "boolean" } },
  async run({ values }, io) {
    const root = findProjectRoot(io.cwd, values.project);
    const keep = imageOf(loadStack(root, firstStack(root)).catalogue.image).hash;
    const r = pruneImages([keep]);
    if (values.json) io.out(`${JSON.stringify(r)}\n`);
    else io.out(r.removed.length === 0 ? `nothing to prune (kept ${r.kept.join(", ") || "none"})\n` : `removed ${r.removed.join(", ")}; kept ${r.kept.join(", ")}\n`);
    return 0;
  },
};

/** The recipe is the catalogue's, the same in every stack: any stack will do to read it. */
function firstStack(root: string): string {
  const stacks = listStacks(readProject(root));
  if (stacks.length === 0) throw new UsageError("the project has no stack file to read the catalogue through");
  return stacks.includes("dev") ? "dev" : stacks[0]!;
}
