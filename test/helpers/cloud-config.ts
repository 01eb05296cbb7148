// Reads a rendered #cloud-config the way cloud-init 22.4 acts on it: the files write_files writes
// (decoded), and the shell scripts it makes of runcmd/bootcmd (cloudinit.util.shellify).
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";

export interface WrittenFile {
  path: string;
  content: Buffer;
  permissions: string;
  owner: string;
  defer: boolean;
  append: boolean;
}

type Entry = Record<string, unknown>;

function decode(content: string, encoding: string): Buffer {
  const e = encoding.toLowerCase();
  if (["gz+base64", "gzip+base64", "gz+b64", "gzip+b64"].includes(e)) return gunzipSync(Buffer.from(content, "base64"));
  if (["gz", "gzip"].includes(e)) return gunzipSync(Buffer.from(content, "binary"));
  if (["b64", "base64"].includes(e)) return Buffer.from(content, "base64");
  return Buffer.from(content, "utf8");
}

export function parseCloudConfig(userData: string): Record<string, unknown> {
  const doc: unknown = parse(userData);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("user-data is not a YAML map");
  return doc as Record<string, unknown>;
}

/** What write_files (and write_files with defer: true) would write, with cloud-init's defaults. */
export function writtenFiles(config: Record<string, unknown>): WrittenFile[] {
  const entries = Array.isArray(config.write_files) ? (config.write_files as Entry[]) : [];
  return entries.map((e) => ({
    path: String(e.path),
    content: decode(typeof e.content === "string" ? e.content : "", typeof e.encoding === "string" ? e.encoding : "text/plain"),
    permissions: typeof e.permissions === "string" ? e.permissions : "0644",
    owner: typeof e.owner === "string" ? e.owner : "root:root",
    defer: e.defer === true,
    append: e.append === true,
  }));
}

/** `#!/bin/sh` + one line per item, list items single-quoted: the script cloud-init runs. */
export function shellify(items: unknown): string | undefined {
  if (!Array.isArray(items) || items.length === 0) return undefined;
  const quote = (s: unknown) => `'${String(s).replace(/'/g, `'\\''`)}'`;
  const lines = items.map((item) => (Array.isArray(item) ? item.map(quote).join(" ") : String(item)));
  return `#!/bin/sh\n${lines.join("\n")}\n`;
}

/** Users that exist on a Debian 13 host before cloud-init's users-groups module runs. */
export const DEBIAN_BASE_USERS = [
  "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
  "www-data", "backup", "list", "irc", "_apt", "nobody",
];

/** Groups of Debian 13's base-passwd, present before users-groups runs. */
export const DEBIAN_BASE_GROUPS = [
  "root", "daemon", "bin", "sys", "adm", "tty", "disk", "lp", "mail", "news", "uucp", "man", "proxy",
  "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape", "sudo", "audio", "dip", "www-data",
  "backup", "operator", "list", "irc", "src", "shadow", "utmp", "video", "sasl", "plugdev", "staff",
  "games", "users", "nogroup",
];

/** Names of users and groups the cloud-config's users/groups keys create. */
export function declaredUsers(config: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  const users = Array.isArray(config.users) ? config.users : [];
  for (const u of users) {
    if (typeof u === "string") names.add(u);
    else if (typeof u === "object" && u !== null && typeof (u as Entry).name === "string") names.add((u as Entry).name as string);
  }
  const groups = Array.isArray(config.groups) ? config.groups : [];
  for (const g of groups) {
    if (typeof g === "string") names.add(g);
    else if (typeof g === "object" && g !== null) for (const k of Object.keys(g)) names.add(k);
  }
  return names;
}
