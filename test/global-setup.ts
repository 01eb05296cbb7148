// Before any test: the golden image of the repository's recipe, built once (a fresh machine takes a
// few minutes: debootstrap of the base, then the recipe's packages). The validators and the e2e
// tests run the hosts' own tools in it; built here, no test waits on another's build within its
// own time limit. Without root it cannot be built: the tests that need it fail and say so.
import { loadStack } from "../src/config/index.ts";
import { ensureImage, imageOf, isBuilt } from "../src/local/index.ts";

const ROOT = new URL("..", import.meta.url).pathname;

export default async function setup(): Promise<void> {
  // No test reaches the package index of this machine's pip configuration: a build's index route
  // is the one a test serves on 127.0.0.1 (test/e2e/app-add.test.ts). The test workers inherit this.
  process.env.PIP_CONFIG_FILE = "/dev/null";
  delete process.env.PIP_INDEX_URL;
  delete process.env.PIP_EXTRA_INDEX_URL;
  const image = imageOf(loadStack(ROOT, "dev").catalogue.image);
  if (isBuilt(image) || process.getuid?.() !== 0) return;
  const t0 = Date.now();
  await ensureImage(image, (m) => process.stderr.write(`golden image: ${m}\n`));
  process.stderr.write(`golden image ${image.hash} built in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}
