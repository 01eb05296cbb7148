// shellcheck over every shell script of every host of every stack: the bootstrap, the exec wrapper,
// any other rendered file with a sh/bash shebang, and the user-data's bootcmd/runcmd; and over the
// repository's own shell scripts (scripts/*.sh: the AWS smoke script a user runs, the installers).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { requiredScripts, shellcheck, shellFiles } from "../helpers/checks/shellcheck.ts";
import { allHosts, renderAllStacks, scratchDir } from "../helpers/rendered-hosts.ts";
import { BASE_ENV, describeRun, requireTools, run, TOOLS } from "../helpers/tools.ts";

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

describe("shellcheck of the repository's scripts", () => {
  const dir = join(import.meta.dirname, "../../scripts");
  const scripts = readdirSync(dir).filter((f) => f.endsWith(".sh") || /^#!.*\b(ba)?sh\b/.test(readFileSync(join(dir, f), "utf8").split("\n", 1)[0] ?? ""));

  test("scripts/ holds the AWS smoke script", () => {
    expect(scripts).toContain("aws-smoke.sh");
  });

  for (const script of scripts) {
    test(`scripts/${script}: shellcheck finds nothing`, async () => {
      requireTools(TOOLS.shellcheck);
      const r = await run([TOOLS.shellcheck.path, "--norc", "--format=gcc", join(dir, script)], { timeoutMs: 30_000, env: BASE_ENV });
      expect(r.timedOut, describeRun(r)).toBe(false);
      expect(r.stdout.split("\n").filter(Boolean).map((l) => l.slice(dir.length + 1))).toEqual([]);
      expect(r.exitCode, describeRun(r)).toBe(0);
    });
  }
});
