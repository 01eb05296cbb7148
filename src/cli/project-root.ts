import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "./command.ts";

/** The project dir: `--project`, else the nearest dir upwards holding Pulumi.yaml. */
export function findProjectRoot(cwd: string, flag: unknown): string {
  if (typeof flag === "string") {
    const dir = resolve(cwd, flag);
    if (!existsSync(join(dir, "Pulumi.yaml"))) throw new UsageError(`--project ${flag}: no Pulumi.yaml in ${dir}`);
    return dir;
  }
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, "Pulumi.yaml"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new UsageError(`no Pulumi.yaml in ${cwd} or any parent dir; run fawkes inside a fawkes project or pass --project DIR`);
    dir = up;
  }
}
