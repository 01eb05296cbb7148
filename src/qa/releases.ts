// What `qa up` does first on either target: every app of the catalogue built at the branch head
// (a release already in the store is not built again), each release pinned in the branch's own
// stack file, stacks/Pulumi.<qa stack>.yaml, which the program and `local up` both read.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildArtifact, type BuildOptions, type BuildResult } from "../artifact/index.ts";
import { loadStack, readProject, setReleasePin, stackFile, type EnvironmentSpec } from "../config/index.ts";
import type { Progress } from "../local/steps.ts";

/** `buildArtifact` or, in tests, a stand-in that returns release ids without root or debootstrap. */
export type BuildFn = (opts: BuildOptions) => Promise<BuildResult>;

export interface BranchReleases {
  /** The stack before the branch pinned anything: the `qa` template's catalogue and knobs. */
  template: EnvironmentSpec;
  builds: BuildResult[];
  /** The stack file holding the pins, absolute. */
  stackFile: string;
  /** Whether the file was there before this call (`qa down` removes only a file `qa up` created). */
  stackFileExisted: boolean;
}

/** Builds every app at `commit` and pins the releases in the stack's own file (created when missing). */
export async function buildAndPin(opts: { root: string; stack: string; commit: string; store?: string; progress: Progress; build?: BuildFn }): Promise<BranchReleases> {
  const { root, stack, commit, progress } = opts;
  const build = opts.build ?? buildArtifact;
  const template = loadStack(root, stack);
  const builds: BuildResult[] = [];
  for (const app of template.catalogue.apps) {
    builds.push(await build({ root, spec: template, app: app.name, ref: commit, ...(opts.store ? { store: opts.store } : {}), progress: (m) => progress(`${app.name}: ${m}`) }));
  }
  const file = join(root, stackFile(readProject(root), stack));
  const stackFileExisted = existsSync(file);
  for (const b of builds) setReleasePin(root, stack, b.app, b.release);
  return { template, builds, stackFile: file, stackFileExisted };
}
