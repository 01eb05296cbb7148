// A launch template's user-data, decoded back into the files a host boots with: the cloud-config
// itself (each file's content left out) and every `write_files` entry. Plans diff these, never
// the base64 blob EC2 receives.
import { gunzipSync } from "node:zlib";
import { isMap, isSeq, parseDocument } from "yaml";

export interface HostFile {
  /** The file's path on the host, or CLOUD_CONFIG for the cloud-config around the files. */
  path: string;
  content: string;
}

export const CLOUD_CONFIG = "user-data (#cloud-config)";

/** base64 -> text; gzip (what fawkes sends past EC2's 16 KiB) unpacked as cloud-init unpacks it. */
export function decodeUserData(base64: string): string {
  const bytes = Buffer.from(base64, "base64");
  const gzipped = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return (gzipped ? gunzipSync(bytes) : bytes).toString("utf8");
}

function fileContent(entry: { content?: unknown; encoding?: unknown }): string {
  const content = typeof entry.content === "string" ? entry.content : "";
  switch (entry.encoding) {
    case "b64":
    case "base64":
      return Buffer.from(content, "base64").toString("utf8");
    case "gz+b64":
    case "gzip+base64":
    case "gz+base64":
    case "gzip+b64":
      return gunzipSync(Buffer.from(content, "base64")).toString("utf8");
    default:
      return content;
  }
}

/**
 * The files of a host image, by path. User-data that is not a cloud-config (a script) is one
 * file, CLOUD_CONFIG. The cloud-config keeps every key but each file's content, which is listed
 * as a file of its own.
 */
export function hostFiles(userData: string): HostFile[] {
  if (!userData.startsWith("#cloud-config")) return [{ path: CLOUD_CONFIG, content: userData }];
  const doc = parseDocument(userData);
  const files: HostFile[] = [];
  const writeFiles = doc.get("write_files");
  if (isSeq(writeFiles)) {
    for (const item of writeFiles.items) {
      if (!isMap(item)) continue;
      const entry = item.toJSON() as { path?: unknown; content?: unknown; encoding?: unknown };
      if (typeof entry.path !== "string") continue;
      files.push({ path: entry.path, content: fileContent(entry) });
      item.set("content", `(${entry.path}, shown as a file of its own)`);
      item.delete("encoding");
    }
  }
  const config: HostFile = { path: CLOUD_CONFIG, content: doc.toString({ lineWidth: 0 }) };
  return [config, ...files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))];
}
