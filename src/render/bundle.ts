// A host's bundle: every file it boots from but the stage-1 script, as one gzipped tarball stored
// in the artifact store under a key made of its sha256. The user-data carries only that script and
// the sum, so its size does not grow with the apps (EC2 takes 16 KiB of user-data).
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { HostBundle, RenderedFile } from "./types.ts";

/** Where bundles live in the artifact store: `_` starts no app name, so no app's releases share it. */
export const BUNDLE_PREFIX = "_bundles/";

export const bundleKey = (sha256: string): string => `${BUNDLE_PREFIX}${sha256}.tar.gz`;

const BLOCK = 512;

/** A ustar header field: text or octal, NUL-padded to its width. */
function field(header: Buffer, offset: number, width: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > width) throw new Error(`tar field of ${width} bytes cannot hold ${JSON.stringify(value)}`);
  bytes.copy(header, offset);
}

const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, "0");

/** ustar keeps a name of up to 100 bytes, or 155 + "/" + 100 split at a slash. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  for (let i = name.indexOf("/"); i > 0; i = name.indexOf("/", i + 1)) {
    const [prefix, rest] = [name.slice(0, i), name.slice(i + 1)];
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { prefix, name: rest };
  }
  throw new Error(`a bundle path of ${Buffer.byteLength(name)} bytes does not fit a tar header: ${name}`);
}

function header(path: string, mode: string, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(path.replace(/^\/+/, ""));
  field(h, 0, 100, name);
  field(h, 100, 8, octal(Number.parseInt(mode, 8), 8));
  field(h, 108, 8, octal(0, 8));
  field(h, 116, 8, octal(0, 8));
  field(h, 124, 12, octal(size, 12));
  // No time: the same files give the same bytes, and so the same key.
  field(h, 136, 12, octal(0, 12));
  h.fill(0x20, 148, 156);
  field(h, 156, 1, "0");
  field(h, 257, 6, "ustar");
  field(h, 263, 2, "00");
  field(h, 265, 32, "root");
  field(h, 297, 32, "root");
  field(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, `${octal(sum, 7)}\0`);
  return h;
}

/** The files as a gzipped ustar archive (paths relative to /, owner root, no times), and its key. */
export function bundleOf(files: readonly RenderedFile[]): HostBundle {
  const parts: Buffer[] = [];
  for (const f of files) {
    if (f.owner !== "root:root") throw new Error(`${f.path} is owned by ${f.owner}: a bundle holds root's files only`);
    const body = Buffer.from(f.content, "utf8");
    parts.push(header(f.path, f.mode, body.length), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  // gzip's header holds no time or name unless given.
  const bytes = new Uint8Array(gzipSync(Buffer.concat(parts), { level: 9 }));
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return { key: bundleKey(sha256), sha256, bytes };
}

const text = (b: Buffer, offset: number, width: number) => b.subarray(offset, offset + width).toString("utf8").replace(/\0.*$/s, "");

/** The files of a bundle `bundleOf` made, back (plans diff them; tests read them). */
export function filesOfBundle(bytes: Uint8Array): RenderedFile[] {
  const tar = gunzipSync(bytes);
  const files: RenderedFile[] = [];
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const h = tar.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    const name = text(h, 0, 100);
    const prefix = text(h, 345, 155);
    const size = Number.parseInt(text(h, 124, 12).trim() || "0", 8);
    const mode = Number.parseInt(text(h, 100, 8).trim(), 8).toString(8).padStart(4, "0");
    const content = tar.subarray(at + BLOCK, at + BLOCK + size).toString("utf8");
    files.push({ path: `/${prefix ? `${prefix}/` : ""}${name}`, content, mode, owner: `${text(h, 265, 32)}:${text(h, 297, 32)}` });
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}
