// shellcheck over every shell script of every host of every stack: the bootstrap, the exec wrapper,
// any other rendered file with a sh/bash shebang, and the user-data's bootcmd/runcmd.
import { afterAll, describe, expect, test } from "vitest";
import { requiredScripts, shellcheck, shellFiles } from "../helpers/checks/shellcheck.ts";
import { allHosts, renderAllStacks, scratchDir } from "../helpers/rendered-hosts.ts";

const hosts = allHosts(renderAllStacks());
const scratch = scratchDir("shellcheck");
afterAll(() => scratch.remove());

describe.concurrent("shellcheck", () => {
  for (const host of hosts) {
    test(`${host.label}: the bootstrap and the exec wrapper are rendered as shell scripts`, () => {
      expect(requiredScripts(host), host.label).toEqual([]);
    });

    test(`${host.label}: shellcheck finds nothing in ${shellFiles(host).join(", ") || "no file"} and the cloud-init scripts`, async () => {
      expect(await shellcheck(host, scratch.sub(host.label)), host.label).toEqual([]);
    });
  }
});
