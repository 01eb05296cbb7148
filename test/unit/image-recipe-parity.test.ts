// One list, one set of steps: the local golden image (debootstrap, then apt and the recipe's steps
// in a chroot) and the AMI (EC2 Image Builder's component document) are both made from
// image/recipe.yaml. Each side is read back from what it would run, never from the recipe, and the
// two must install the same packages and run the same scripts in the same order.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ImageRecipeSchema, RECIPE_FILE, type ImageRecipe } from "../../src/config/index.ts";
import { buildSteps, imageOf } from "../../src/local/image.ts";
import type { Step } from "../../src/local/steps.ts";
import { imagePackages, recipeHash } from "../../src/model/index.ts";
import { FAWKES_STEPS, IMAGE_MARKER_PATH, imageBuilderComponent } from "../../src/render/index.ts";

const ROOT = join(import.meta.dirname, "../..");
const WORK = "/w/rootfs";
const repoRecipe = (): ImageRecipe => ImageRecipeSchema.parse(parse(readFileSync(join(ROOT, RECIPE_FILE), "utf8")));

/** What a build does, as both sides can say it. */
interface BuildFacts {
  installOptions: string[];
  packages: string[];
  /** Recipe steps in the order they run: name, the bash options they run under, the script. */
  steps: Array<{ name: string; shell: string; script: string }>;
  env: Record<string, string>;
  marker: string;
  /** Where in the build the install, the recipe steps and the marker come: install first, marker last. */
  order: string[];
}

/** `apt-get install -y ... pkg pkg` -> its options and its packages. */
function splitInstall(argv: readonly string[]): { options: string[]; packages: string[] } {
  const args = argv.slice(argv.indexOf("install") + 1);
  return { options: args.filter((a) => a.startsWith("-")), packages: args.filter((a) => !a.startsWith("-")) };
}

/** The local build, read from its steps. */
function localFacts(steps: readonly Step[]): BuildFacts {
  const runs = steps.filter((s): s is Extract<Step, { kind: "run" }> => s.kind === "run" && s.argv[0] === "chroot" && s.argv[1] === WORK);
  const install = runs.find((s) => s.argv[2] === "apt-get" && s.argv[3] === "install")!;
  const recipeSteps = runs.filter((s) => s.argv[2] === "/bin/bash");
  const marker = steps.find((s): s is Extract<Step, { kind: "write" }> => s.kind === "write" && s.path === join(WORK, IMAGE_MARKER_PATH))!;
  const { options, packages } = splitInstall(install.argv);
  return {
    installOptions: options,
    packages,
    // chroot <work> /bin/bash -euo pipefail -c <run>
    steps: recipeSteps.map((s) => {
      expect(s.argv[5], s.title).toBe("-c");
      return { name: s.title.replace(/^recipe step /, ""), shell: s.argv.slice(3, 5).join(" "), script: s.argv[6]! };
    }),
    env: { DEBIAN_FRONTEND: install.env!.DEBIAN_FRONTEND!, LC_ALL: install.env!.LC_ALL! },
    marker: marker.content,
    order: steps.map((s) => (s === install ? "install" : s === marker ? "marker" : recipeSteps.includes(s as never) ? "step" : "other")).filter((x) => x !== "other"),
  };
}

interface DocStep {
  name: string;
  action: string;
  inputs: { commands: string[] };
}

/** The AMI's build, read from the component document Image Builder gets. */
function imageBuilderFacts(data: string): BuildFacts {
  const doc = parse(data) as { phases: Array<{ name: string; steps: DocStep[] }> };
  const build = doc.phases.find((p) => p.name === "build")!.steps;
  for (const s of build) expect(s.action).toBe("ExecuteBash");
  const ours = Object.values(FAWKES_STEPS) as string[];
  const install = build.find((s) => s.name === FAWKES_STEPS.install)!;
  const recipeSteps = build.filter((s) => !ours.includes(s.name));
  const markerStep = build.find((s) => s.name === FAWKES_STEPS.marker)!;
  const exported = Object.fromEntries(install.inputs.commands.find((c) => c.startsWith("export "))!.slice("export ".length).split(" ").map((kv) => kv.split("=") as [string, string]));
  const apt = install.inputs.commands.find((c) => c.startsWith("apt-get install "))!;
  const { options, packages } = splitInstall(apt.split(/\s+/));
  // The recipe step's script is what follows the shell options and the environment: one command, the run itself.
  const scriptOf = (s: DocStep) => s.inputs.commands.slice(2);
  const heredoc = /^cat > (\S+) <<'(\w+)'\n([\s\S]*)\2$/.exec(markerStep.inputs.commands.find((c) => c.startsWith("cat > "))!)!;
  expect(heredoc[1]).toBe(IMAGE_MARKER_PATH);
  return {
    installOptions: options,
    packages,
    steps: recipeSteps.map((s) => {
      expect(scriptOf(s), s.name).toHaveLength(1);
      return { name: s.name, shell: s.inputs.commands[0]!.replace(/^set /, ""), script: scriptOf(s)[0]! };
    }),
    env: exported,
    marker: heredoc[3]!,
    order: build.map((s) => (s === install ? "install" : s === markerStep ? "marker" : recipeSteps.includes(s) ? "step" : "other")).filter((x) => x !== "other"),
  };
}

function bothSides(recipe: ImageRecipe): { local: BuildFacts; ami: BuildFacts } {
  return {
    local: localFacts(buildSteps(imageOf(recipe, "/var/lib/fawkes"), "http://mirror.invalid/debian", WORK)),
    ami: imageBuilderFacts(imageBuilderComponent(recipe, "fawkes")),
  };
}

describe("image/recipe.yaml makes the same image on both targets", () => {
  const recipe = repoRecipe();
  const { local, ami } = bothSides(recipe);

  it("installs one list of packages, with the same apt options and environment", () => {
    expect(ami.packages).toEqual(local.packages);
    expect(ami.installOptions).toEqual(local.installOptions);
    expect(local.installOptions).toEqual(["-y", "-q", "--no-install-recommends"]);
    expect(ami.env).toEqual(local.env);
    // The list is the recipe's, sorted, each package once.
    expect(local.packages).toEqual(imagePackages(recipe));
    expect(local.packages.length).toBeGreaterThan(0);
  });

  it("runs one set of steps: the same names, scripts and bash options, in the same order", () => {
    expect(ami.steps).toEqual(local.steps);
    expect(local.steps.map((s) => s.name)).toEqual(recipe.steps.map((s) => s.name));
    expect(local.steps.every((s) => s.shell === "-euo pipefail")).toBe(true);
  });

  it("installs first, then runs the steps, and marks the image last with the same bytes", () => {
    expect(ami.order).toEqual(local.order);
    expect(local.order).toEqual(["install", ...recipe.steps.map(() => "step"), "marker"]);
    expect(ami.marker).toBe(local.marker);
    expect(JSON.parse(local.marker)).toEqual({ hash: recipeHash(recipe), distribution: recipe.distribution, packages: imagePackages(recipe) });
  });
});

describe("a change of the recipe reaches both targets", () => {
  const before = repoRecipe();
  const changed: ImageRecipe = {
    ...before,
    packages: [...before.packages, "htop"],
    steps: [{ name: "motd", run: "echo 'fawkes host' > /etc/motd\n" }, ...before.steps, { name: "no-cron", run: "systemctl disable cron.service || true\n" }],
  };
  const old = bothSides(before);
  const now = bothSides(changed);

  it("adds the package on both sides, in its sorted place", () => {
    for (const side of [now.local, now.ami]) {
      expect(side.packages).toContain("htop");
      expect(side.packages).toEqual([...side.packages].sort());
    }
    expect(old.local.packages).not.toContain("htop");
    expect(now.ami.packages).toEqual(now.local.packages);
  });

  it("runs the new steps on both sides, where the recipe puts them", () => {
    expect(now.local.steps.map((s) => s.name)).toEqual(["motd", ...before.steps.map((s) => s.name), "no-cron"]);
    expect(now.ami.steps).toEqual(now.local.steps);
    expect(now.ami.steps).not.toEqual(old.ami.steps);
  });

  it("names a new image on both sides: a new hash in the marker and the component", () => {
    expect(recipeHash(changed)).not.toBe(recipeHash(before));
    expect(JSON.parse(now.ami.marker).hash).toBe(recipeHash(changed));
    expect(now.ami.marker).toBe(now.local.marker);
    expect(imageBuilderComponent(changed, "fawkes")).toContain(`name: fawkes-image-${recipeHash(changed)}`);
  });
});
