// The Pulumi program's read of the release sums (issue 17, finding 11): each pinned release's
// .sha256, read once per `pulumi up` from the stack's artifact bucket by the deployer's own
// credentials (an aws.s3.getObject invoke; under fawkes' mocks the mocks answer it), then passed to
// Environment, which pins them in each host's bundle. Hosts never trust the .sha256 they fetch.
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { ConfigError, type EnvironmentSpec, type Problem } from "../src/config/index.ts";
import { storesOf } from "../src/model/index.ts";
import { SHA256_PATTERN, STAND_IN_SUMS_VARIABLE, standInSums, type ReleaseSums } from "../src/render/index.ts";

export { STAND_IN_SUMS_VARIABLE };

/** The sums of every pin of `spec`, from `s3://<artifact bucket>/<app>/<release>.sha256`; every missing one at once. */
export async function releaseSumsInBucket(spec: EnvironmentSpec, opts: pulumi.InvokeOptions = {}): Promise<ReleaseSums> {
  if (process.env[STAND_IN_SUMS_VARIABLE] === "1") return standInSums(spec.knobs.releases);
  const bucket = storesOf(spec).artifactBucket;
  const problems: Problem[] = [];
  const sums: Record<string, Record<string, string>> = {};
  for (const [app, release] of Object.entries(spec.knobs.releases)) {
    const key = `${app}/${release}.sha256`;
    const problem = (why: string): Problem => ({
      file: `stack ${spec.stack}`,
      path: `releases.${app}`,
      message: `release ${release} of ${app}: s3://${bucket}/${key} ${why}; its sha256 is read there once per deploy and pinned in the hosts' bundle`,
      hint: `build and push it (fawkes build ${app} --push --stack ${spec.stack}), then run pulumi up again`,
    });
    let body: string;
    try {
      body = (await aws.s3.getObject({ bucket, key }, opts)).body ?? "";
    } catch (e) {
      problems.push(problem(`could not be read (${(e as Error).message.split("\n")[0]})`));
      continue;
    }
    const sum = body.trim().split(/\s/)[0] ?? "";
    if (SHA256_PATTERN.test(sum)) (sums[app] ??= {})[release] = sum;
    else problems.push(problem("holds no sha256"));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return sums;
}
