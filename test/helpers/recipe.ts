// Every project needs its image recipe: test projects made from parts take the repository's.
import { cpSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RECIPE_FILE } from "../../src/config/index.ts";

const REPO = join(import.meta.dirname, "../..");

/** Copies the repository's image/recipe.yaml into the project at `root`. */
export function withRecipe(root: string): void {
  mkdirSync(join(root, "image"), { recursive: true });
  cpSync(join(REPO, RECIPE_FILE), join(root, RECIPE_FILE));
}

/**
 * A copy of the repository's project in a new temp dir named from `prefix`: Pulumi.yaml, the
 * image recipe, the stack files and the example apps. Returns its root; the caller removes it.
 */
export function repoProjectCopy(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(REPO, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
  withRecipe(root);
  cpSync(join(REPO, "stacks"), join(root, "stacks"), { recursive: true });
  cpSync(join(REPO, "examples"), join(root, "examples"), { recursive: true });
  return root;
}
