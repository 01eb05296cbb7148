// The deploy console host's user-data (a management stack's) through the tools that will read it:
// cloud-init's own schema in the hosts' image, and shellcheck over the scripts it writes and runs.
import { afterAll, describe, expect, test } from "vitest";
import { renderConsoleHost } from "../../src/render/index.ts";
import { cloudInitSchema } from "../helpers/checks/cloud-init.ts";
import { CONSOLE_HOST_ARGS } from "../helpers/console-host-args.ts";
import { shellcheck, shellFiles } from "../helpers/checks/shellcheck.ts";
import { scratchDir } from "../helpers/rendered-hosts.ts";

const image = renderConsoleHost({ ...CONSOLE_HOST_ARGS, groupsClaim: "cognito:groups" });
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
