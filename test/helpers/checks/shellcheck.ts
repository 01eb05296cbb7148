// shellcheck over every shell script a host runs: each rendered file whose first line is a sh/bash
// shebang, and the scripts cloud-init makes of the user-data's bootcmd and runcmd.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseCloudConfig, shellify } from "../cloud-config.ts";
import { writeHostTree, type ImageLike, type RenderedHost } from "../rendered-hosts.ts";
import { BASE_ENV, TOOLS, describeRun, requireTools, run } from "../tools.ts";

const SHELL_SHEBANG = /^#!\s*(?:\/usr)?\/bin\/(?:env\s+)?(?:ba|da)?sh(?:\s|$)/;
export const REQUIRED_SCRIPTS = ["/usr/local/sbin/fawkes-bootstrap", "/usr/local/lib/fawkes/fawkes-exec"];

export function shellFiles(host: { image: ImageLike }): string[] {
  return host.image.files.filter((f) => SHELL_SHEBANG.test(f.content.split("\n", 1)[0] ?? "")).map((f) => f.path);
}

/** The bootstrap and the exec wrapper are rendered, as #!/bin/bash or #!/bin/sh scripts. */
export function requiredScripts(host: RenderedHost): string[] {
  const shell = shellFiles(host);
  return REQUIRED_SCRIPTS.filter((p) => !shell.includes(p)).map((p) => `${p} is missing or not a sh/bash script (shell files: ${shell.join(", ") || "none"})`);
}

/** shellcheck's findings, named by the path on the host (or `user-data runcmd`). */
export async function shellcheck(host: { image: ImageLike }, dir: string): Promise<string[]> {
  requireTools(TOOLS.shellcheck);
  const tree = writeHostTree(host.image, join(dir, "root"));
  const scripts = new Map<string, string>(shellFiles(host).map((p) => [tree.at(p), p]));
  const config = parseCloudConfig(host.image.userData);
  mkdirSync(join(dir, "cloud-init"), { recursive: true });
  for (const key of ["bootcmd", "runcmd"]) {
    const text = shellify(config[key]);
    if (text === undefined) continue;
    const file = join(dir, "cloud-init", key);
    writeFileSync(file, text);
    scripts.set(file, `user-data ${key}`);
  }
  if (scripts.size === 0) return ["no shell script to check"];
  const r = await run([TOOLS.shellcheck.path, "--norc", "--format=gcc", ...scripts.keys()], { timeoutMs: 30_000, env: BASE_ENV });
  if (r.timedOut || (r.exitCode !== 0 && r.exitCode !== 1)) return [`shellcheck could not run: ${describeRun(r)}`];
  const findings = r.stdout.split("\n").filter(Boolean).map((line) => {
    for (const [tmp, shown] of scripts) if (line.startsWith(`${tmp}:`)) return `${shown}${line.slice(tmp.length)}`;
    return line;
  });
  if (r.exitCode !== 0 && findings.length === 0) return [`shellcheck failed without findings: ${describeRun(r)}`];
  return findings;
}
