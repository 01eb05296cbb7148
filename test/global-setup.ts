// Before any test: the golden image of the repository's recipe, built once (a fresh machine takes a
// few minutes: debootstrap of the base, then the recipe's packages). The validators and the e2e
// tests run the hosts' own tools in it; built here, no test waits on another's build within its
// own time limit. Without root it cannot be built: the tests that need it fail and say so.
import { loadStack } from "../src/config/index.ts";
import { ensureImage, imageOf, isBuilt } from "../src/local/index.ts";

const ROOT = new URL("..", import.meta.url).pathname;

export default async function setup(): Promise<void> {
  const image = imageOf(loadStack(ROOT, "dev").catalogue.image);
  if (isBuilt(image) || process.getuid?.() !== 0) return;
  const t0 = Date.now();
  await ensureImage(image, (m) => process.stderr.write(`golden image: ${m}\n`));
  process.stderr.write(`golden image ${image.hash} built in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}
