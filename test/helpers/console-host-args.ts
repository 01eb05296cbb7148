// The console host's render inputs the renderer's unit test and the validators share: a
// management stack `ops` of staging and production.
import type { ConsoleHostArgs } from "../../src/render/index.ts";

export const CONSOLE_HOST_ARGS: ConsoleHostArgs = {
  project: "fawkes",
  stack: "ops",
  region: "eu-west-1",
  albArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/fawkes-ops-console/50dc6c495c0c9188",
  artifactBucket: "fawkes-ops-artifacts-123456789012-eu-west-1",
  bundleSha256: "9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d",
  groupsClaim: "groups",
  manages: "staging,production",
};
