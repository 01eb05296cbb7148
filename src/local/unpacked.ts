// Releases unpacked once per machine, read-only, for every local host to mount (as an EBS
// snapshot would be on AWS): a host's bootstrap then mounts a tree instead of unpacking 10,000
// files at each boot. A tree is named by the sha256 the host's bundle pins (read from the store
// when the environment was deployed) and made only from a tarball that matches it, with a .sha256
// that says the same; a tarball that changes afterwards is hashed again, and one that no longer
// matches loses its tree's record, so its hosts verify (and fail) as on AWS.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { artifactPaths, sha256OfFile } from "../artifact/store.ts";
import { SHA256_PATTERN } from "../render/index.ts";
import { fawkesHome } from "./image.ts";
import type { Progress } from "./steps.ts";

/** Machine-wide, beside the artifact store it is made from. */
export function unpackedDir(home = fawkesHome()): string {
  return join(home, "unpacked");
}

/** What a tree was made from: the tarball as it was then, and the owner its files were given. */
export interface UnpackedRecord {
  app: string;
  release: string;
  tarball: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  uid: number;
  gid: number;
}

export interface UnpackedApp {
  name: string;
  release: string;
  /** The sum the host's bundle pins for the release: the tree is made of a tarball that has it, and named by it. */
  sha256: string;
  uid: number;
  gid: number;
}

/**
 * Beside the tree `<dir>/<sha256>`: its record, and the marker that the tarball, as the record
 * last saw it, matches the sum. The host's bootstrap mounts a tree only while its marker exists.
 */
export function unpackedPaths(dir: string, sha256: string): { tree: string; record: string; verified: string } {
  return { tree: join(dir, sha256), record: join(dir, `${sha256}.json`), verified: join(dir, `${sha256}.verified`) };
}

function readRecord(path: string): UnpackedRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as UnpackedRecord;
  } catch {
    return undefined;
  }
}

function tarballNow(path: string): Pick<UnpackedRecord, "size" | "mtimeMs" | "ctimeMs" | "ino"> {
  const s = statSync(path);
  return { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
}

const sameFile = (a: Pick<UnpackedRecord, "size" | "mtimeMs" | "ctimeMs" | "ino">, b: typeof a) =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;

/**
 * Makes sure the release of `app` in `store` has its verified tree in `dir`; does nothing for a
 * release that is not in the store, whose .sha256 is not the sum the bundle pins, or whose tarball
 * does not match it (the host's own checks then say so). Returns what happened, for progress and tests.
 */
export async function ensureUnpacked(store: string, dir: string, app: UnpackedApp, progress: Progress = () => {}): Promise<Unpacked> {
  // Hosts of one rollout boot side by side, several with the same release: one unpacks, the
  // others then find its tree.
  const key = JSON.stringify([store, dir, app.name, app.release, app.sha256]);
  const before = inFlight.get(key);
  const run = (before ?? Promise.resolve()).catch(() => {}).then(() => unpackOnce(store, dir, app, progress));
  inFlight.set(key, run);
  try {
    return await run;
  } finally {
    if (inFlight.get(key) === run) inFlight.delete(key);
  }
}

type Unpacked = "kept" | "verified" | "unpacked" | "mismatch" | "absent";
const inFlight = new Map<string, Promise<Unpacked>>();

async function unpackOnce(store: string, dir: string, app: UnpackedApp, progress: Progress): Promise<Unpacked> {
  const paths = artifactPaths(store, app.name, app.release);
  // Hosts bind-mount it whether or not this release gets a tree.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(paths.sha256) || !existsSync(paths.tarball)) return "absent";
  const want = app.sha256;
  // The store's word only agrees or not: the tree is named by, and checked against, the bundle's.
  if (!SHA256_PATTERN.test(want) || readFileSync(paths.sha256, "utf8").trim().split(/\s/)[0] !== want) return "mismatch";
  const { tree, record, verified } = unpackedPaths(dir, want);
  const now = tarballNow(paths.tarball);
  const had = readRecord(record);
  const owned = had !== undefined && had.uid === app.uid && had.gid === app.gid;
  if (existsSync(tree) && existsSync(verified) && owned && had.tarball === paths.tarball && sameFile(had, now)) return "kept";
  // Not known as it is now: hash it, the marker gone meanwhile so that no host mounts the tree.
  rmSync(verified, { force: true });
  if ((await sha256OfFile(paths.tarball)) !== want) return "mismatch";
  const unpack = !existsSync(tree) || !owned;
  // Names of this call's scratch files: another fawkes may be unpacking beside it.
  const tag = `${process.pid}-${randomBytes(3).toString("hex")}`;
  if (unpack) {
    const partial = `${tree}.partial-${tag}`;
    mkdirSync(partial, { mode: 0o755 });
    progress(`${app.name} ${app.release}: unpacking into ${tree} (once per release on this machine)`);
    try {
      await execa("tar", ["-xzf", paths.tarball, "-C", partial, "--no-same-owner"]);
      await execa("chown", ["-R", "-h", `${app.uid}:${app.gid}`, partial]);
      // A tree no host mounts any more (another owner, or left by a crash) is replaced whole.
      if (existsSync(tree)) renameSync(tree, `${tree}.old-${tag}`);
      try {
        renameSync(partial, tree);
      } catch (e) {
        // Another fawkes (a second stack coming up) made the same tree first.
        if (!existsSync(tree)) throw e;
      }
    } finally {
      rmSync(partial, { recursive: true, force: true });
      rmSync(`${tree}.old-${tag}`, { recursive: true, force: true });
    }
  }
  const rec: UnpackedRecord = { app: app.name, release: app.release, tarball: paths.tarball, ...now, uid: app.uid, gid: app.gid };
  writeFileSync(`${record}.partial-${tag}`, `${JSON.stringify(rec, null, 2)}\n`);
  renameSync(`${record}.partial-${tag}`, record);
  writeFileSync(verified, "");
  return unpack ? "unpacked" : "verified";
}

/**
 * Removes the trees whose tarball left the store (retention never removes one a local
 * environment runs, so no running host loses its tree), and leftovers of interrupted unpacks.
 */
export function pruneUnpacked(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    // Leftovers of an unpack cut short; one younger than an hour may still be going on.
    if (/\.(partial|old)-[0-9a-f-]+$/.test(name)) {
      if (Date.now() - statSync(path).mtimeMs < 3_600_000) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(name);
      continue;
    }
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const rec = readRecord(join(dir, `${name}.json`));
    if (rec !== undefined && existsSync(rec.tarball)) continue;
    const p = unpackedPaths(dir, name);
    rmSync(p.verified, { force: true });
    rmSync(p.record, { force: true });
    rmSync(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
