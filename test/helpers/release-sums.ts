// Release artifacts the tests build themselves, and the sums a deploy would read of them: render
// takes the sum of every pinned release, and hosts verify against it. A test artifact is a small
// gzipped tar (made by the bundle writer, so the same release gives the same bytes) holding a
// manifest.json; its sum is hashed from those bytes, never written by hand.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EnvironmentSpec } from "../../src/config/index.ts";
import { artifactPaths } from "../../src/artifact/store.ts";
import type { EnvironmentPlan, HostPlan } from "../../src/model/index.ts";
import { bundleOf } from "../../src/render/bundle.ts";
import { renderEnvironment, type HostImage, type ReleaseSums } from "../../src/render/index.ts";

export interface TestArtifact {
  bytes: Uint8Array;
  sha256: string;
}

/** The artifact of `app` at `release`: manifest.json (image `image`) and an app.txt naming `variant`. */
export function testArtifact(app: string, release: string, opts: { image?: string; variant?: string } = {}): TestArtifact {
  const manifest = { app, release, image: opts.image ?? "00000000" };
  const { bytes, sha256 } = bundleOf([
    { path: "/app.txt", content: `${app} ${release} ${opts.variant ?? "as built"}\n`, mode: "0644", owner: "root:root" },
    { path: "/manifest.json", content: `${JSON.stringify(manifest)}\n`, mode: "0644", owner: "root:root" },
  ]);
  return { bytes, sha256 };
}

/** Every pin of the specs, app -> release. */
function pinsOf(specs: readonly Pick<EnvironmentSpec, "knobs">[]): Array<[string, string]> {
  return specs.flatMap((s) => Object.entries(s.knobs.releases));
}

/** The sums of the test artifacts of every release the specs pin (and of `extra` pins). */
export function testReleaseSums(...specs: Pick<EnvironmentSpec, "knobs">[]): ReleaseSums {
  const sums: Record<string, Record<string, string>> = {};
  for (const [app, release] of pinsOf(specs)) (sums[app] ??= {})[release] = testArtifact(app, release).sha256;
  return sums;
}

/** The sums of the test artifacts of the releases one host runs. */
export function testSumsOfHost(host: HostPlan): ReleaseSums {
  return Object.fromEntries(host.apps.map((a) => [a.name, { [a.release]: testArtifact(a.name, a.release).sha256 }]));
}

/** renderEnvironment, with the sums a deploy would read of the test artifacts of the plan's pins. */
export function renderWithTestArtifacts(plan: EnvironmentPlan): HostImage[] {
  return renderEnvironment(plan, testReleaseSums(plan.spec));
}

/** Writes the test artifacts of every release the specs pin into the store dir `store`, as `fawkes build` lays them out. */
export function writeTestArtifacts(store: string, ...specs: Pick<EnvironmentSpec, "knobs">[]): void {
  for (const [app, release] of pinsOf(specs)) {
    const paths = artifactPaths(store, app, release);
    const artifact = testArtifact(app, release);
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    writeFileSync(paths.tarball, artifact.bytes, { mode: 0o600 });
    writeFileSync(paths.buildInfo, `${JSON.stringify({ builtAt: "2026-01-01T00:00:00.000Z" })}\n`, { mode: 0o600 });
    writeFileSync(paths.sha256, `${artifact.sha256}\n`, { mode: 0o600 });
  }
}

/** A FAWKES_HOME's artifact store. */
export const storeOfHome = (home: string): string => join(home, "artifacts");
