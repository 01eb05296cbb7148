// A push's output as the console shows it: the rollout's log and the copies beside it, read as
// regular files only, never through a link, with the environment's secrets cut out.
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import type { EnvironmentSpec } from "../config/index.ts";
import { rolloutLogDir, type HistoryEntry } from "../release/index.ts";
import { secretRedactor } from "./actions.ts";
import type { ConsoleContext } from "./view.ts";

/**
 * The push's own log and the copies beside it (the hooks' output; a failed host's logs, one dir
 * per host), secrets cut out. Copies of a host's logs may hold links the host planted: only
 * regular files are read, never a link.
 */
export function pushLogs(ctx: ConsoleContext, env: { stack: string; spec: EnvironmentSpec }, entry: HistoryEntry): Array<{ name: string; text: string }> {
  const dir = rolloutLogDir(env.stack, entry.id, ctx.home);
  if (!existsSync(dir)) return [];
  const redact = secretRedactor(env.spec);
  const logsIn = (sub: string) =>
    readdirSync(join(dir, sub), { withFileTypes: true })
      .filter((f) => f.isFile() && f.name.endsWith(".log"))
      .map((f) => (sub ? `${sub}/${f.name}` : f.name))
      .sort();
  const hosts = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const names = [...logsIn(""), ...hosts.flatMap(logsIn)].sort((a, b) => Number(b === "rollout.log") - Number(a === "rollout.log"));
  return names.map((name) => ({ name, text: redact(readTail(join(dir, name), 512 * 1024)) }));
}

/** The last `bytes` of a regular file, opened without following a link. */
function readTail(file: string, bytes: number): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, bytes);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    return buf.toString("utf8");
  } finally {
    closeSync(fd);
  }
}
