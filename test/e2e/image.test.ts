// `fawkes image build` with bad input, as root: a recipe naming a package Debian does not have
// fails with apt's words naming it and leaves no image, the previous one still there; a build cut
// short never leaves an image a host would boot, and pruning removes what it left.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ImageRecipeSchema, RECIPE_FILE } from "../../src/config/index.ts";
import { fawkesHome, imageOf, isBuilt, listImages, pruneImages, type GoldenImage } from "../../src/local/index.ts";
import { goldenImage } from "../helpers/image-root.ts";
import { scratchProject, type ScratchProject } from "../helpers/scratch-project.ts";
import { requireRoot } from "./machine.ts";

const CLI = join(import.meta.dirname, "../../bin/fawkes.mjs");
let project: ScratchProject;
let current: GoldenImage;

/** Rewrites the scratch project's recipe with more packages; returns the image that recipe names. */
function recipeWith(extra: string[]): GoldenImage {
  const file = join(project.root, RECIPE_FILE);
  const recipe = parse(readFileSync(file, "utf8")) as { packages: string[] };
  recipe.packages.push(...extra);
  writeFileSync(file, stringify(recipe));
  return imageOf(ImageRecipeSchema.parse(recipe));
}

const leftovers = (hash: string) => readdirSync(join(fawkesHome(), "images")).filter((d) => d.startsWith(`.build-${hash}-`));


beforeAll(async () => {
  requireRoot();
  current = await goldenImage();
  project = await scratchProject("image");
});

afterAll(() => project?.remove());

describe("fawkes image build refuses bad input and never leaves half an image", () => {
  it("a package Debian does not have: the error names it, no image is made, the current one is untouched", async () => {
    const before = readFileSync(join(current.rootfs, "etc/fawkes/image.json"), "utf8");
    const bad = recipeWith(["surely-not-a-debian-package"]);
    const r = await execa(process.execPath, [CLI, "image", "build", "--project", project.root], { reject: false, all: true, timeout: 600_000 });
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toContain("apt-get install");
    expect(r.all).toContain("Unable to locate package surely-not-a-debian-package");
    expect(r.all).not.toMatch(/\n\s+at /);
    expect(existsSync(bad.dir)).toBe(false);
    expect(leftovers(bad.hash)).toEqual([]);
    expect(isBuilt(current)).toBe(true);
    expect(readFileSync(join(current.rootfs, "etc/fawkes/image.json"), "utf8")).toBe(before);
    // The first build on a machine debootstraps the distribution's base (about a minute) before apt.
  }, 600_000);

  it("cut short (killed while apt works): no image a host would boot; prune removes what it left", async () => {
    const cut = recipeWith(["less"]);
    const build = execa(process.execPath, [CLI, "image", "build", "--project", project.root], { reject: false, all: true, detached: true });
    let log = "";
    build.all?.on("data", (d: Buffer) => (log += d.toString()));
    // Bounded: until apt starts in the copy of the base (a few seconds), at most 5 minutes.
    for (let i = 0; i < 3000 && !/apt-get (update|install)/.test(log); i++) await sleep(100);
    expect(log).toMatch(/apt-get (update|install)/);
    process.kill(-build.pid!, "SIGKILL");
    await build;
    expect(isBuilt(cut)).toBe(false);
    expect(existsSync(cut.dir)).toBe(false);
    expect(leftovers(cut.hash)).toHaveLength(1);
    expect(listImages().find((i) => i.hash === cut.hash && i.built)).toBeUndefined();
    // Prune, keeping every image there is: only what the cut build left goes (its process is gone).
    const images = listImages().map((i) => i.hash);
    const { removed } = pruneImages(images);
    // Only half-built leftovers (another dead build's may be there too), the cut one among them.
    expect(removed.filter((d) => !d.startsWith(".build-"))).toEqual([]);
    expect(removed.filter((d) => d.startsWith(`.build-${cut.hash}-`))).toHaveLength(1);
    expect(leftovers(cut.hash)).toEqual([]);
    expect(listImages().map((i) => i.hash)).toEqual(images);
    expect(isBuilt(current)).toBe(true);
  }, 600_000);
});
