// The repository's own stacks pin the releases its committed sample apps build to: a change to an
// app's source (or a library it uses) without `fawkes pin APP ID --all` fails here, not in the e2e
// tests' `local up` minutes later ("artifacts missing from the local store").
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { releaseIdOf } from "../../src/artifact/release-id.ts";
import { loadAllStacks } from "../../src/config/index.ts";

const ROOT = join(import.meta.dirname, "../..");

describe("the repository's stacks", () => {
  it("pin, for every sample app, the release of its source as committed at HEAD", async () => {
    const specs = loadAllStacks(ROOT);
    for (const app of specs[0]!.catalogue.apps) {
      const id = await releaseIdOf(ROOT, app.source, "HEAD");
      for (const spec of specs) expect(`${spec.stack}: ${app.name} ${spec.knobs.releases[app.name]}`).toBe(`${spec.stack}: ${app.name} ${id}`);
    }
  });
});
