// The error digest: tracebacks grouped by signature across hosts. Pure, no I/O.
import { createHash } from "node:crypto";
import { RELEASE_ID } from "../names/index.ts";
import type { Traceback } from "./traceback.ts";

/** One traceback found in an app's logs on a host. */
export interface Occurrence {
  app: string;
  host: string;
  traceback: Traceback;
  /** Epoch ms: the traceback's own time, else the source's estimate (a file's mtime). */
  time: number;
  /** Where it was read: a file on the host, or a CloudWatch log group/stream. */
  where: string;
  /** The release the host ran when the source knows it (a local host's `current` link). */
  release?: string;
}

export interface ErrorGroup {
  /** 12 hex characters of sha256 over the exception types and their frames' (file, function). */
  signature: string;
  app: string;
  type: string;
  /** The message if every occurrence had the same, else its normalised form (`order N of '…'`). */
  message: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** Hosts, sorted, with how many occurrences each. */
  hosts: Array<{ host: string; count: number }>;
  /** The frames of the signature: `file:function`, outermost first, of the exception raised last. */
  frames: string[];
  /** The most recent occurrence, whole. */
  sample: { host: string; where: string; time: number; logLine?: string; lines: string[] };
  /** The release of the earliest occurrence that names one (see `releaseOf`): where it started, as far as the window shows. */
  firstRelease?: string;
}

const RELEASE_DIR = /^\/srv\/apps\/[^/]+\/releases\/([^/]+)\//;

/**
 * The release an occurrence ran: a frame's `/srv/apps/<app>/releases/<id>/` (the venv's frames
 * are there, the app's own when the process runs from the release dir), else the log's place (the
 * host's release, when the source knows it). Phoenix hosts run one release each for life.
 */
export function releaseOf(o: Pick<Occurrence, "traceback" | "release">): string | undefined {
  for (const block of o.traceback.blocks) {
    for (const f of block.frames) {
      const id = RELEASE_DIR.exec(f.file)?.[1];
      if (id !== undefined && RELEASE_ID.test(id)) return id;
    }
  }
  return o.release !== undefined && RELEASE_ID.test(o.release) ? o.release : undefined;
}

/**
 * A frame's file as it is the same on every host and release: the release dir, the app's
 * `current` link and the venv's or Python's version-specific prefixes are cut.
 */
export function normaliseFile(file: string): string {
  return file
    .replace(/^\/srv\/apps\/([^/]+)\/(?:releases\/[^/]+|current)\//, "$1/")
    .replace(/^.*\/(?:site|dist)-packages\//, "site-packages/")
    .replace(/^\/usr\/(?:local\/)?lib\/python3(?:\.\d+)?\//, "python/");
}

/** A message's shape: quoted values, hex, uuids and numbers replaced, so that similar messages read alike. */
export function normaliseMessage(message: string): string {
  return message
    .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, (q) => `${q[0]}…${q[0]}`)
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "<uuid>")
    .replace(/\b0x[0-9a-f]+\b/gi, "0x…")
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, "<hex>")
    .replace(/\d+(?:\.\d+)?(?!x…)/g, "N");
}

/**
 * The signature: the same for the same bug on every host, request and release. Exception types
 * and each block's frames as (normalised file, function); never line numbers (they move between
 * releases), messages, addresses or request ids. Runs of one frame (recursion) count once.
 */
export function signatureOf(tb: Traceback): string {
  const blocks = tb.blocks.map((b) => {
    const frames = b.frames.map((f) => `${normaliseFile(f.file)}:${f.function ?? ""}`);
    return [b.type, frames.filter((f, i) => f !== frames[i - 1])];
  });
  return createHash("sha256").update(JSON.stringify(blocks)).digest("hex").slice(0, 12);
}

/** Groups occurrences by app and signature; the most frequent first, then the most recent. */
export function groupOccurrences(occurrences: readonly Occurrence[]): ErrorGroup[] {
  const groups = new Map<string, { sig: string; items: Occurrence[] }>();
  for (const o of occurrences) {
    const sig = signatureOf(o.traceback);
    const key = `${o.app}\0${sig}`;
    const g = groups.get(key) ?? { sig, items: [] };
    g.items.push(o);
    groups.set(key, g);
  }
  const result = [...groups.values()].map(({ sig, items }): ErrorGroup => {
    const latest = items.reduce((a, b) => (b.time >= a.time ? b : a));
    const messages = new Set(items.map((o) => o.traceback.message));
    const byHost = new Map<string, number>();
    for (const o of items) byHost.set(o.host, (byHost.get(o.host) ?? 0) + 1);
    const last = latest.traceback.blocks.at(-1)!;
    let firstRelease: string | undefined;
    let firstReleaseAt = Infinity;
    for (const o of items) {
      const id = o.time < firstReleaseAt ? releaseOf(o) : undefined;
      if (id !== undefined) [firstRelease, firstReleaseAt] = [id, o.time];
    }
    return {
      signature: sig,
      app: latest.app,
      type: latest.traceback.type,
      message: messages.size === 1 ? latest.traceback.message : normaliseMessage(latest.traceback.message),
      count: items.length,
      firstSeen: items.reduce((t, o) => Math.min(t, o.time), Infinity),
      lastSeen: latest.time,
      hosts: [...byHost].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })).map(([host, count]) => ({ host, count })),
      frames: last.frames.map((f) => `${normaliseFile(f.file)}:${f.function ?? "?"}`),
      sample: { host: latest.host, where: latest.where, time: latest.time, ...(latest.traceback.logLine !== undefined ? { logLine: latest.traceback.logLine } : {}), lines: latest.traceback.lines },
      ...(firstRelease !== undefined ? { firstRelease } : {}),
    };
  });
  return result.sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen || a.app.localeCompare(b.app) || a.signature.localeCompare(b.signature));
}
