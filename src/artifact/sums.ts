// The edge's half of pinning release sums (src/render/release-sums.ts): whoever renders or deploys
// reads each pinned release's .sha256 from its store once, here, and passes the sums to render,
// which writes them into the host's bundle. Hosts then trust no sum they fetch from the store.
import { SHA256_PATTERN, type ReleaseSums } from "../render/index.ts";
import type { ArtifactStore } from "./stores.ts";

export interface ReleaseSumsRead {
  sums: ReleaseSums;
  /** Pins the store has no (well-formed) .sha256 for. */
  missing: Array<{ app: string; release: string; why: string }>;
}

/** Reads the sum of every pin (app -> release) of `pins` from `store`; what is missing is listed, never guessed. */
export async function releaseSumsIn(store: ArtifactStore, ...pins: ReadonlyArray<Readonly<Record<string, string>>>): Promise<ReleaseSumsRead> {
  const sums: Record<string, Record<string, string>> = {};
  const missing: ReleaseSumsRead["missing"] = [];
  const seen = new Set<string>();
  for (const releases of pins) {
    for (const [app, release] of Object.entries(releases)) {
      if (seen.has(`${app}/${release}`)) continue;
      seen.add(`${app}/${release}`);
      const sum = await store.sum(app, release);
      if (sum === undefined) missing.push({ app, release, why: `is not in ${store.where}` });
      else if (!SHA256_PATTERN.test(sum)) missing.push({ app, release, why: `has a .sha256 in ${store.where} that holds no sha256` });
      else (sums[app] ??= {})[release] = sum;
    }
  }
  return { sums, missing };
}
