// The deploy console host's user-data (a management stack's) through the tools that will read it:
// cloud-init's own schema in the hosts' image, and shellcheck over the scripts it writes and runs.
import { afterAll, describe, expect, test } from "vitest";
import { renderConsoleHost } from "../../src/render/index.ts";
import { cloudInitSchema } from "../helpers/checks/cloud-init.ts";
import { shellcheck, shellFiles } from "../helpers/checks/shellcheck.ts";
import { scratchDir } from "../helpers/rendered-hosts.ts";

const image = renderConsoleHost({
  project: "fawkes",
  stack: "ops",
  region: "eu-west-1",
  albArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/fawkes-ops-console/50dc6c495c0c9188",
  artifactBucket: "fawkes-ops-artifacts-123456789012-eu-west-1",
  bundleSha256: "9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d",
  groupsClaim: "cognito:groups",
  manages: "staging,production",
});
const host = { image: { stack: "ops", role: "console", files: image.files, userData: image.userData } };
const scratch = scratchDir("console-host");
afterAll(() => scratch.remove());

describe("the console host's user-data", () => {
  test("`cloud-init schema` says it is valid, with no deprecated key", async () => {
    expect(await cloudInitSchema(host, scratch.sub("schema"))).toEqual([]);
  });

  test("shellcheck finds nothing in the fetch and start scripts, nor in its runcmd", async () => {
    expect(shellFiles(host)).toEqual(["/usr/local/sbin/fawkes-console-fetch", "/usr/local/sbin/fawkes-console-start"]);
    expect(await shellcheck(host, scratch.sub("shellcheck"))).toEqual([]);
  });
});
