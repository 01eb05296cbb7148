// Every image fawkes knows of, by the recipe hash it carries: the golden images built on this
// machine and the AMIs the project's stack files pin. Both targets name an image by the same hash
// (recipeHash), so one look says which images are the current recipe's and which stacks lag behind.
import { ConfigError, ImageRecipeSchema, listStacks, loadStack, readProject, readRecipe, stackFile, type Architecture, type Problem } from "../config/index.ts";
import { listImages } from "../local/index.ts";
import type { ImageListing } from "../local/image.ts";
import { imagePackages, recipeHash } from "../model/index.ts";

export interface CurrentRecipe {
  hash: string;
  file: string;
  distribution: string;
  packages: number;
  steps: number;
}

export interface LocalImage extends ImageListing {
  /** Built from the recipe as it is now: what `local up` uses. */
  current: boolean;
}

export interface PinnedAmi {
  ami: string;
  architecture: Architecture;
  /** The recipe hash the stack files say the AMI carries (its fawkes:recipe tag). */
  recipe: string;
  /** Stacks whose files pin it (a qa-<branch> stack inherits the qa file's pin), sorted. */
  stacks: string[];
  current: boolean;
}

export interface ImageInventory {
  /** Undefined when the recipe file cannot be read: then no image is called current. */
  recipe?: CurrentRecipe;
  local: LocalImage[];
  amis: PinnedAmi[];
  /** Stacks that pin no AMI (local target only). */
  unpinned: string[];
  /** Why something could not be read: the recipe, or a stack (`fawkes check` says more). */
  problems: Problem[];
}

function currentRecipe(root: string, problems: Problem[]): CurrentRecipe | undefined {
  const raw = readRecipe(root, problems);
  if (raw.values === undefined) return undefined;
  const parsed = ImageRecipeSchema.safeParse(raw.values);
  if (!parsed.success) {
    problems.push({ file: raw.file, path: "", message: "is not a valid recipe; `fawkes check` lists its problems" });
    return undefined;
  }
  const r = parsed.data;
  return { hash: recipeHash(r), file: raw.file, distribution: r.distribution, packages: imagePackages(r).length, steps: r.steps.length };
}

/** The AMIs the stack files pin, one entry per AMI id with every stack that pins it. */
function pinnedAmis(root: string, current: string | undefined, problems: Problem[]): { amis: PinnedAmi[]; unpinned: string[] } {
  const byAmi = new Map<string, PinnedAmi>();
  const unpinned: string[] = [];
  const project = readProject(root);
  for (const stack of listStacks(project)) {
    let image;
    try {
      image = loadStack(root, stack).knobs.image;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push({ file: stackFile(project, stack), path: "", message: `could not be read (${e.problems.length} problem${e.problems.length === 1 ? "" : "s"}; \`fawkes check --stack ${stack}\` lists them)` });
      continue;
    }
    if (!image) {
      unpinned.push(stack);
      continue;
    }
    const seen = byAmi.get(image.ami);
    if (seen && (seen.recipe !== image.recipe || seen.architecture !== image.architecture)) {
      // One AMI has one recipe and one CPU: two stacks that disagree cannot both be right.
      problems.push({ file: stackFile(project, stack), path: `config.${project.name}:image`, message: `stacks ${seen.stacks.join(", ")} and ${stack} pin ${image.ami} as different images (${seen.architecture}, recipe ${seen.recipe} against ${image.architecture}, recipe ${image.recipe}); its fawkes:recipe tag says which is right` });
    }
    if (seen) seen.stacks.push(stack);
    else byAmi.set(image.ami, { ami: image.ami, architecture: image.architecture, recipe: image.recipe, stacks: [stack], current: image.recipe === current });
  }
  return { amis: [...byAmi.values()].sort((a, b) => a.ami.localeCompare(b.ami)), unpinned };
}

/** What `fawkes image list` shows; `root` undefined outside a project (local images only, none current). */
export function imageInventory(root: string | undefined, home?: string): ImageInventory {
  const problems: Problem[] = [];
  const recipe = root === undefined ? undefined : currentRecipe(root, problems);
  const local = (home === undefined ? listImages() : listImages(home)).map((i) => ({ ...i, current: i.built && i.hash === recipe?.hash }));
  const { amis, unpinned } = root === undefined ? { amis: [], unpinned: [] } : pinnedAmis(root, recipe?.hash, problems);
  return { ...(recipe ? { recipe } : {}), local, amis, unpinned, problems };
}
