// Every project needs its image recipe: test projects made from parts take the repository's.
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { RECIPE_FILE } from "../../src/config/index.ts";

const REPO = join(import.meta.dirname, "../..");

/** Copies the repository's image/recipe.yaml into the project at `root`. */
export function withRecipe(root: string): void {
  mkdirSync(join(root, "image"), { recursive: true });
  cpSync(join(REPO, RECIPE_FILE), join(root, RECIPE_FILE));
}
