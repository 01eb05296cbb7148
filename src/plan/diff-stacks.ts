import type { EnvironmentSpec } from "../config/index.ts";
import { planEnvironment } from "../model/index.ts";
import { renderEnvironment, standInSums, type HostImage } from "../render/index.ts";
import { diffValues, type ValueDifference } from "./diff-values.ts";

export interface StackComparison {
  a: string;
  b: string;
  /** Differences in the catalogue: must be none, environments are identical by construction. */
  catalogue: ValueDifference[];
  /** Knob differences: the only differences allowed. */
  knobs: ValueDifference[];
  /** Host-image files that differ between the stacks, per role. */
  files: Array<{ role: string; path: string }>;
  /** Files of B that A's catalogue with B's knobs does not reproduce: must be none. */
  unexplained: Array<{ role: string; path: string }>;
}

function byPath(images: HostImage[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const img of images) {
    for (const f of img.files) m.set(`${img.role}:${f.path}`, f.content);
    m.set(`${img.role}:user-data`, img.userData);
  }
  return m;
}

function changed(x: Map<string, string>, y: Map<string, string>): Array<{ role: string; path: string }> {
  const keys = [...new Set([...x.keys(), ...y.keys()])].sort();
  return keys
    .filter((k) => x.get(k) !== y.get(k))
    .map((k) => {
      const i = k.indexOf(":");
      return { role: k.slice(0, i), path: k.slice(i + 1) };
    });
}

/**
 * Proves that two stacks differ only in knobs: their catalogues are equal, and rendering A's
 * catalogue with B's stack name and knobs gives B's host images byte for byte.
 */
export function compareStacks(a: EnvironmentSpec, b: EnvironmentSpec): StackComparison {
  // The stacks' own images, compared and never deployed: stand-in sums, equal for equal pins.
  const sums = standInSums(a.knobs.releases, b.knobs.releases);
  const imagesA = renderEnvironment(planEnvironment(a), sums);
  const imagesB = renderEnvironment(planEnvironment(b), sums);
  const aWithBKnobs: EnvironmentSpec = { ...a, stack: b.stack, template: b.template, knobs: b.knobs };
  const explained = renderEnvironment(planEnvironment(aWithBKnobs), sums);
  return {
    a: a.stack,
    b: b.stack,
    catalogue: diffValues(a.catalogue, b.catalogue),
    knobs: diffValues(a.knobs, b.knobs),
    files: changed(byPath(imagesA), byPath(imagesB)),
    unexplained: changed(byPath(explained), byPath(imagesB)),
  };
}
