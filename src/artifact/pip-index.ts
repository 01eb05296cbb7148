// The package index a build may take packages from: the user's own pip configuration, read the way
// `pip download` reads it, since the build runs pip in the golden image, where the user's files
// are not. Only index-url and extra-index-url are taken; the build pins each file by sha256.
// Without either, packages come from the other routes only (repository, committed wheels, Debian).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface PipIndex {
  /** The index first, then the extra indexes: pip's --index-url, then --extra-index-url. */
  urls: string[];
  /** Where they were read: files and environment variables, for the build's progress. */
  from: string[];
  /** Index URLs left out, with why (a file:// index is on this machine, not in the image). */
  skipped: string[];
}

/** [section] key = value, with continuation lines (pip's extra-index-url may span lines). */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  let key: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(raw) || raw.trim() === "") continue;
    const head = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (head) {
      section = sections.get(head[1]!.trim()) ?? new Map<string, string>();
      sections.set(head[1]!.trim(), section);
      key = undefined;
      continue;
    }
    if (/^\s/.test(raw) && section && key !== undefined) {
      section.set(key, `${section.get(key)}\n${raw.trim()}`);
      continue;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (kv && section) {
      key = kv[1]!.trim().toLowerCase().replaceAll("_", "-");
      section.set(key, kv[2]!.trim());
    }
  }
  return sections;
}

/** pip's configuration files, in the order pip loads them (later ones win). */
export function pipConfigFiles(env: NodeJS.ProcessEnv, home = homedir()): string[] {
  const named = env.PIP_CONFIG_FILE;
  if (named === "/dev/null") return [];
  const xdgDirs = (env.XDG_CONFIG_DIRS || "/etc/xdg").split(":").filter((d) => d !== "");
  const xdgHome = env.XDG_CONFIG_HOME || join(home, ".config");
  return [
    ...xdgDirs.map((d) => join(d, "pip", "pip.conf")),
    "/etc/pip.conf",
    join(home, ".pip", "pip.conf"),
    join(xdgHome, "pip", "pip.conf"),
    ...(named ? [named] : []),
  ];
}

const URL_PATTERN = /^https?:\/\/[^\s"'\\]+$/i;

/**
 * The home of the user whose pip configuration counts: under sudo, the user who ran sudo (sudo sets
 * HOME to root's), else this process's.
 */
export function pipUserHome(env: NodeJS.ProcessEnv = process.env, passwd: () => string = () => readFileSync("/etc/passwd", "utf8")): string {
  const user = env.SUDO_USER;
  if (process.getuid?.() !== 0 || user === undefined || user === "" || user === "root") return homedir();
  const line = passwd().split("\n").find((l) => l.split(":")[0] === user);
  return line?.split(":")[5] || homedir();
}

/** The user's package index, as `pip download` would use it: files, then PIP_INDEX_URL / PIP_EXTRA_INDEX_URL. */
export function pipIndexOf(env: NodeJS.ProcessEnv = process.env, read: (file: string) => string | undefined = readIfThere, home = pipUserHome(env)): PipIndex {
  let index: string | undefined;
  let extra: string[] = [];
  const from: string[] = [];
  for (const file of pipConfigFiles(env, home)) {
    const text = read(file);
    if (text === undefined) continue;
    const ini = parseIni(text);
    for (const section of ["global", "download"]) {
      const values = ini.get(section);
      const i = values?.get("index-url");
      const e = values?.get("extra-index-url");
      if (i !== undefined) index = i;
      if (e !== undefined) extra = e.split(/\s+/).filter((u) => u !== "");
      if (i !== undefined || e !== undefined) from.push(`${file} [${section}]`);
    }
  }
  if (env.PIP_INDEX_URL !== undefined) {
    index = env.PIP_INDEX_URL;
    from.push("PIP_INDEX_URL");
  }
  if (env.PIP_EXTRA_INDEX_URL !== undefined) {
    extra = env.PIP_EXTRA_INDEX_URL.split(/\s+/).filter((u) => u !== "");
    from.push("PIP_EXTRA_INDEX_URL");
  }
  const urls: string[] = [];
  const skipped: string[] = [];
  // No index configured is no index route: the build never picks one for the user.
  for (const url of [index ?? "", ...extra]) {
    if (url === "") continue;
    if (URL_PATTERN.test(url)) urls.push(url);
    else skipped.push(`${redactedUrl(url)}: the build reaches an index over http or https only`);
  }
  return { urls: [...new Set(urls)], from, skipped };
}

/** A URL without the user and password a private index's URL may carry. */
export function redactedUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}

function readIfThere(file: string): string | undefined {
  try {
    return existsSync(file) ? readFileSync(file, "utf8") : undefined;
  } catch {
    return undefined;
  }
}
