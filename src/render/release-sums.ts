// The sha256 of each pinned release, as the deploy read it from the artifact store: render writes
// it into the host's bundle (load_app's RELEASE_SHA256), which the user-data pins by its own sum,
// and the host verifies the tarball it fetches against that, never against the .sha256 beside it
// in the store (issue 17, finding 11). Render reads no store: whoever renders or deploys passes
// the sums in (src/artifact/sums.ts, components/release-sums.ts).
import { createHash } from "node:crypto";
import { ConfigError, type Problem } from "../config/index.ts";

/** app -> release id -> the tarball's sha256 (64 hex). */
export type ReleaseSums = Readonly<Record<string, Readonly<Record<string, string>>>>;

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** The pins a render needs sums for: one release per app. */
export interface PinnedRelease {
  app: string;
  release: string;
}

function problemOf(stack: string, pin: PinnedRelease, why: string): Problem {
  return {
    file: `stack ${stack}`,
    path: `releases.${pin.app}`,
    message: `release ${pin.release} of ${pin.app} ${why}: hosts verify a release only against the sum read from the artifact store when the stack is rendered or deployed, never against the store's own .sha256 at boot`,
    hint: `build it (fawkes build ${pin.app}) for the local target, or build and push it (fawkes build ${pin.app} --push --stack ${stack}) for AWS, then render or deploy again`,
  };
}

/** The sum of every pin, or one ConfigError naming each pin that has none (or a malformed one). */
export function sumsOfPins(stack: string, pins: readonly PinnedRelease[], sums: ReleaseSums): Record<string, string> {
  const problems: Problem[] = [];
  const out: Record<string, string> = {};
  for (const pin of pins) {
    const sum = Object.hasOwn(sums, pin.app) && Object.hasOwn(sums[pin.app]!, pin.release) ? sums[pin.app]![pin.release] : undefined;
    if (sum === undefined) problems.push(problemOf(stack, pin, "has no sha256 to pin in the host's bundle"));
    else if (!SHA256_PATTERN.test(sum)) problems.push(problemOf(stack, pin, `has ${JSON.stringify(sum)} for its sha256, not 64 hex digits`));
    else out[pin.app] = sum;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/**
 * Sums for renders that deploy nothing and read no store (`fawkes check`, `diff-stacks`, `plan`'s
 * preview under mocks), like the mocks' made-up AMI: a hash of the words below, which no artifact
 * has, so a host ever given one refuses every tarball (fails closed). Equal pins give equal sums,
 * so two stacks or two refs still compare byte for byte.
 */
export function standInSum(app: string, release: string): string {
  return createHash("sha256").update(`fawkes stand-in: no artifact was read for ${app} ${release}`).digest("hex");
}

/**
 * The environment variable that makes the Pulumi program render stand-in sums instead of reading
 * the bucket: only for the targeted up that creates the artifact store before anything can be
 * pushed to it ("First contact"; `qa up`'s first up). A host booted from such user-data refuses
 * every release: it fails closed, and never falls back to the store's sum.
 */
export const STAND_IN_SUMS_VARIABLE = "FAWKES_STAND_IN_RELEASE_SUMS";

/** Stand-in sums for every pin of these release maps (app -> release). */
export function standInSums(...pins: ReadonlyArray<Readonly<Record<string, string>>>): ReleaseSums {
  const sums: Record<string, Record<string, string>> = {};
  for (const releases of pins) for (const [app, release] of Object.entries(releases)) (sums[app] ??= {})[release] = standInSum(app, release);
  return sums;
}
