// The local target's tracebacks: each host's per-app log files (supervisord's stdout_logfile
// of every process, stderr merged: gunicorn's error and access logs, the app's logging), read
// from the host's overlay upper dir, where they outlive a stopped host until it is replaced.
import { existsSync, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { appFilesIn, readAppFile } from "../app-tree/index.ts";
import { appPaths } from "../model/index.ts";
import { RELEASE_ID } from "../names/index.ts";
import type { Occurrence } from "./digest.ts";
import { ErrorsError, occurrencesIn, type ErrorSource } from "./source.ts";

/** `web.log.2`, `web.log.1`, `web.log`: supervisord's rotated files, oldest first. */
export function logFilesOldestFirst(names: readonly string[]): string[] {
  const rotation = (n: string) => Number(/\.log\.(\d+)$/.exec(n)?.[1] ?? 0);
  const base = (n: string) => n.replace(/\.log(\.\d+)?$/, "");
  return names.filter((n) => /\.log(\.\d+)?$/.test(n)).sort((a, b) => base(a).localeCompare(base(b)) || rotation(b) - rotation(a));
}

function unreadable(path: string, e: unknown): ErrorsError {
  const root = (e as NodeJS.ErrnoException).code === "EACCES" ? " (the hosts' files belong to root: run as root)" : "";
  return new ErrorsError(`cannot read ${path}: ${(e as Error).message}${root}`);
}

/** Names in a directory of the machine's; a permission problem said plainly. */
function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    throw unreadable(dir, e);
  }
}

/** The regular files of an app's log dir on a host's disk: no link is followed there. */
function logFiles(upper: string, logs: string): string[] {
  try {
    return appFilesIn(upper, logs);
  } catch (e) {
    throw unreadable(join(upper, logs), e);
  }
}

/**
 * The release a host ran for an app: its `current` link on the host's disk, read, never followed.
 * The app's user flips that link, so its text is checked to be `<releases>/<id>` before use.
 */
export function hostRelease(upper: string, app: string): string | undefined {
  const paths = appPaths(app);
  let target: string;
  try {
    if (!lstatSync(join(upper, paths.current)).isSymbolicLink()) return undefined;
    target = readlinkSync(join(upper, paths.current));
  } catch {
    return undefined;
  }
  const id = target.startsWith(`${paths.releases}/`) ? target.slice(paths.releases.length + 1) : undefined;
  return id !== undefined && RELEASE_ID.test(id) ? id : undefined;
}

/**
 * The stack's hosts under `hostsDir` (`$FAWKES_HOME/envs/<stack>/hosts`): running ones and the
 * stopped ones kept for their logs; not a replaced host's disk being removed (`*.old-*`).
 */
export function localErrorSource(stack: string, hostsDir: string): ErrorSource {
  return {
    where: hostsDir,
    async collect(query) {
      if (!existsSync(hostsDir)) throw new ErrorsError(`stack ${stack} has no hosts on this machine (${hostsDir}); fawkes local up --stack ${stack} boots them`);
      const hosts = list(hostsDir)
        .filter((h) => !h.includes(".old-"))
        .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      const occurrences: Occurrence[] = [];
      let cutShort = 0;
      let files = 0;
      for (const host of hosts) {
        for (const app of query.apps) {
          const logs = appPaths(app).logs;
          const upper = join(hostsDir, host, "upper");
          const dir = join(upper, logs);
          if (!existsSync(dir)) continue;
          const release = hostRelease(upper, app);
          for (const name of logFilesOldestFirst(logFiles(upper, logs))) {
            const path = join(dir, name);
            const mtime = lstatSync(path).mtimeMs;
            // Nothing in a file last written before the window can be in it.
            if (mtime < query.since) continue;
            files++;
            let text: string;
            try {
              text = readAppFile(upper, join(logs, name)).toString("utf8");
            } catch (e) {
              throw unreadable(path, e);
            }
            const found = occurrencesIn(text, { app, host, where: `${logs}/${name}`, fallbackTime: mtime, ...(release !== undefined ? { release } : {}) }, query);
            occurrences.push(...found.occurrences);
            cutShort += found.cutShort;
          }
        }
      }
      return { occurrences, cutShort, scanned: `${hosts.length} host${hosts.length === 1 ? "" : "s"}, ${files} log file${files === 1 ? "" : "s"} read` };
    },
  };
}
