import { formatProblem, listStacks, loadStack, readProject } from "../../config/index.ts";
import { imageInventory, type ImageInventory } from "../../image/index.ts";
import { ensureImage, imageOf, pruneImages } from "../../local/index.ts";
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
  summary: "List the golden images on this machine and the AMIs the stack files pin, each with the recipe hash it carries.",
  usage: "fawkes image list [--json]",
  help: `Both targets name an image by the hash of image/recipe.yaml it was built from. Local golden
images are those under $FAWKES_HOME/images (default /var/lib/fawkes); "current" marks the one built
from the recipe as it is now. AMIs are those the stack files pin (knob image: ami, architecture,
recipe), with the stacks that pin each; "current" when the recipe hash they carry is the current
recipe's, "stale" when the stack's Image Builder pipeline must make a new one to pin. Outside a
project only local images are listed.

Exit codes: 0 listed (problems reading a stack are printed on stderr); 2 usage.`,
  options: { json: { type: "boolean" } },
  async run({ values }, io) {
    const inventory = imageInventory(projectRootOrNone(io.cwd, values.project));
    for (const p of inventory.problems) io.err(`warning: ${formatProblem(p)}\n`);
    if (values.json) io.out(`${JSON.stringify(inventory, null, 2)}\n`);
    else io.out(formatInventory(inventory));
    return 0;
  },
};

function formatInventory(inv: ImageInventory): string {
  const out: string[] = [];
  const r = inv.recipe;
  if (r) out.push(`current recipe ${r.hash} (${r.file}: ${r.distribution}, ${r.packages} packages, ${r.steps} step${r.steps === 1 ? "" : "s"})`, "");
  out.push("local golden images:");
  if (inv.local.length === 0) out.push("  none (fawkes image build makes one)");
  for (const i of inv.local) out.push(`  ${i.hash}  ${(i.current ? "current" : "").padEnd(7)}  ${i.built ? `${i.distribution}, ${i.packages} packages, built ${i.createdAt}` : "incomplete"}`);
  out.push("", "AMIs pinned in stack files:");
  if (inv.amis.length === 0) out.push("  none (the knob image of a stack pins one)");
  for (const a of inv.amis) out.push(`  ${a.ami}  ${a.architecture.padEnd(6)}  recipe ${a.recipe}  ${a.current ? "current" : r ? "stale  " : "       "}  ${a.stacks.join(", ")}`);
  if (inv.unpinned.length > 0) out.push(`  no AMI pinned: ${inv.unpinned.join(", ")} (local target only)`);
  return `${out.join("\n")}\n`;
}

/** The project, when there is one: listing local images needs none. */
function projectRootOrNone(cwd: string, flag: unknown): string | undefined {
  try {
    return findProjectRoot(cwd, flag);
  } catch (e) {
    if (e instanceof UsageError && flag === undefined) return undefined;
    throw e;
  }
}

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
