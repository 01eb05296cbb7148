import { existsSync } from "node:fs";
import type { EnvironmentSpec } from "../config/index.ts";
import type { Progress } from "../local/steps.ts";
import { buildArtifact } from "./build.ts";
import { releaseIdOf } from "./release-id.ts";
import { artifactPaths, defaultStore } from "./store.ts";

/**
 * Builds the pinned releases missing from the local store that this checkout can reproduce
 * (the pin is the release id of the committed source at HEAD). A pin it cannot reproduce is left
 * for `local up` to report. Returns the apps built.
 */
export async function buildPinnedIfMissing(root: string, spec: EnvironmentSpec, progress: Progress = () => {}): Promise<string[]> {
  const built: string[] = [];
  for (const app of spec.catalogue.apps) {
    const pin = spec.knobs.releases[app.name]!;
    const paths = artifactPaths(defaultStore(), app.name, pin);
    if (existsSync(paths.tarball) && existsSync(paths.sha256)) continue;
    const head = await releaseIdOf(root, app.source).catch(() => undefined);
    if (head !== pin) continue;
    progress(`${app.name}: release ${pin} is pinned but not built yet; building it from HEAD`);
    await buildArtifact({ root, spec, app: app.name, progress });
    built.push(app.name);
  }
  return built;
}
