// The AMI's half of "one recipe, two targets": the recipe (image/recipe.yaml) as an EC2 Image
// Builder component document (AWSTOE), doing what the local golden-image build does in its chroot:
// the same apt-get install of the same sorted packages, then each recipe step as the same bash
// script, then the same marker file. Pure: the component (components/image-pipeline.ts) only
// passes the text on.
import { stringify } from "yaml";
import type { ImageRecipe } from "../config/index.ts";
import { imagePackages, recipeHash } from "../model/index.ts";
import { shellWord, shellWords } from "./quote.ts";

/** Where a built image says what it was built from; the local build writes the same file last. */
export const IMAGE_MARKER_PATH = "/etc/fawkes/image.json";

/** What a recipe step runs under on both targets: the local build runs `/bin/bash -euo pipefail -c <run>`. */
export const STEP_SHELL_OPTIONS = "set -euo pipefail";

/** The environment of every build command on both targets (the local build sets it on each chroot step). */
export const BUILD_ENV = { DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C.UTF-8" } as const;

/**
 * Names of the steps fawkes adds around the recipe's. CamelCase on purpose: a recipe step name
 * is lower case with '-', so a recipe can never name a step that collides with one of these.
 */
export const FAWKES_STEPS = { install: "InstallPackages", clean: "CleanAptCaches", marker: "WriteImageMarker", check: "CheckBootTools" } as const;

type Recipe = Pick<ImageRecipe, "distribution" | "packages" | "steps">;

/** The install command both targets run, argv: apt-get install of every package, sorted. */
export function installArgv(recipe: Pick<ImageRecipe, "packages">): string[] {
  return ["apt-get", "install", "-y", "-q", "--no-install-recommends", ...imagePackages(recipe)];
}

/** The marker's bytes, as the local build writes them: hash, distribution and packages. */
export function imageMarker(recipe: Recipe): string {
  return `${JSON.stringify({ hash: recipeHash(recipe), distribution: recipe.distribution, packages: imagePackages(recipe) }, null, 2)}\n`;
}

const exportEnv = `export ${shellWords(Object.entries(BUILD_ENV).map(([k, v]) => `${k}=${v}`))}`;

interface Step {
  name: string;
  action: "ExecuteBash";
  inputs: { commands: string[] };
}

const bash = (name: string, ...commands: string[]): Step => ({ name, action: "ExecuteBash", inputs: { commands: [STEP_SHELL_OPTIONS, exportEnv, ...commands] } });

/** The tools a host cannot boot without, each asked for its version: in the built image, then in one booted from the AMI. */
const BOOT_TOOL_CHECKS = ["cloud-init --version", "supervisord --version", "nginx -v", `test -s ${shellWord(IMAGE_MARKER_PATH)}`];

/** The component document of a recipe, as Image Builder's `data` (YAML). */
export function imageBuilderComponent(recipe: Recipe, project: string): string {
  const hash = recipeHash(recipe);
  const marker = imageMarker(recipe);
  // Package names are lower case: the JSON can never hold this line.
  const delimiter = "FAWKES_IMAGE_JSON";
  const document = {
    name: `${project}-image-${hash}`,
    description: `fawkes image recipe ${hash} (${recipe.distribution}): ${imagePackages(recipe).length} packages, ${recipe.steps.length} step${recipe.steps.length === 1 ? "" : "s"}, as the local golden image`,
    // A string: AWSTOE reads "1.0", and a YAML float would be written back as 1.
    schemaVersion: "1.0",
    phases: [
      {
        name: "build",
        steps: [
          bash(FAWKES_STEPS.install, "apt-get update -q", shellWords(installArgv(recipe))),
          ...recipe.steps.map((s) => bash(s.name, s.run)),
          // What the local build removes after its steps: the image carries no package lists.
          bash(FAWKES_STEPS.clean, "apt-get clean", "rm -rf /var/lib/apt/lists/*"),
          // Last, as locally: only an image whose every step succeeded says what it is.
          bash(FAWKES_STEPS.marker, `mkdir -p ${shellWord(IMAGE_MARKER_PATH.replace(/\/[^/]+$/, ""))}`, `cat > ${shellWord(IMAGE_MARKER_PATH)} <<'${delimiter}'\n${marker}${delimiter}`, `chmod 0644 ${shellWord(IMAGE_MARKER_PATH)}`),
        ],
      },
      { name: "validate", steps: [bash(FAWKES_STEPS.check, ...BOOT_TOOL_CHECKS)] },
      { name: "test", steps: [bash(FAWKES_STEPS.check, ...BOOT_TOOL_CHECKS)] },
    ],
  };
  // No line folding: a script line is one command, and the document is read back by tests and by AWSTOE alike.
  return stringify(document, { lineWidth: 0 });
}
