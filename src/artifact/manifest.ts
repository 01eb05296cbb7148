import { createHash } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { ReleaseSource } from "./release-id.ts";

export const MANIFEST = "manifest.json";

/** One wheel of the wheelhouse, as scripts/build-wheelhouse.py reports it. */
export interface WheelEntry {
  name: string;
  version: string;
  file: string;
  sha256: string;
  /** The route: Debian's packages, the repository's libraries, Debian's wheel files, the app's committed wheels/, the package index. */
  source: "debian" | "repository" | "python-wheels" | "wheels" | "index";
  debianPackage?: string;
  debianVersion?: string;
  /** Where it came from: the library's dir in the repository, or Debian's wheel file. */
  path?: string;
  requiredBy: string[];
  /** Index only: the index (without credentials), the file downloaded and its sha256 as the lock pins it. */
  index?: string;
  downloaded?: string;
  downloadSha256?: string;
  /** Built here from an sdist (committed or downloaded). */
  builtFrom?: "sdist";
  /** Optional compiled accelerators left out of a pure wheel. */
  dropped?: string[];
}

/** `manifest.json` at the top of every artifact: what the release is, and a checksum per file. */
export interface Manifest {
  format: 1;
  app: string;
  release: string;
  ref: string;
  gitSha: string;
  source: string;
  sourceTree: string;
  libraries: Array<{ dir: string; name: string; version: string; tree: string }>;
  /** Recipe hash of the golden image the venv was built in; hosts of another image rebuild it. */
  image: string;
  /**
   * The commit's time, which is also every file's mtime: the artifact is a function of its inputs,
   * so the wall-clock build time lives beside it in the store (`<release>.build.json`).
   */
  sourceDate: string;
  python: string;
  releasePath: string;
  requirements: string[];
  buildHooks: string[];
  wheels: WheelEntry[];
  /** sha256 of every regular file except manifest.json, by path, sorted. */
  files: Record<string, string>;
  /** Target of every symlink, by path, sorted. */
  links: Record<string, string>;
}

export interface TreeDigest {
  files: Record<string, string>;
  links: Record<string, string>;
}

/** sha256 of every file under `dir` and the target of every link, paths sorted (manifest.json left out). */
export function digestTree(dir: string): TreeDigest {
  const files: Array<[string, string]> = [];
  const links: Array<[string, string]> = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isSymbolicLink()) links.push([path, readlinkSync(join(dir, path))]);
      else if (e.isDirectory()) walk(path);
      else if (e.isFile() && path !== MANIFEST) files.push([path, createHash("sha256").update(readFileSync(join(dir, path))).digest("hex")]);
    }
  };
  walk("");
  const sorted = (xs: Array<[string, string]>) => Object.fromEntries(xs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { files: sorted(files), links: sorted(links) };
}

/** `version = 3.11.2` of the venv's pyvenv.cfg: the golden image's Python. */
export function pythonVersionOf(pyvenvCfg: string): string {
  const m = /^version(?:_info)?\s*=\s*(\S+)/m.exec(pyvenvCfg);
  if (!m) throw new Error("venv/pyvenv.cfg names no Python version");
  return m[1]!;
}

export function manifestOf(input: {
  app: string;
  release: ReleaseSource;
  image: string;
  python: string;
  releasePath: string;
  requirements: string;
  buildHooks: readonly string[];
  wheels: readonly WheelEntry[];
  digest: TreeDigest;
}): Manifest {
  const r = input.release;
  return {
    format: 1,
    app: input.app,
    release: r.id,
    ref: r.ref,
    gitSha: r.commit,
    source: r.source,
    sourceTree: r.sourceTree,
    libraries: r.libraries.map(({ dir, name, version, tree }) => ({ dir, name, version, tree })),
    image: input.image,
    sourceDate: new Date(r.commitTime * 1000).toISOString(),
    python: input.python,
    releasePath: input.releasePath,
    requirements: input.requirements.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "").trim()).filter((l) => l !== ""),
    buildHooks: [...input.buildHooks],
    wheels: [...input.wheels].sort((a, b) => (a.file < b.file ? -1 : 1)),
    files: input.digest.files,
    links: input.digest.links,
  };
}

export function manifestJson(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** What differs between an unpacked release dir and its manifest: empty when every checksum holds. */
export function verifyTree(dir: string, m: Pick<Manifest, "files" | "links">): string[] {
  const now = digestTree(dir);
  const problems: string[] = [];
  for (const [kind, want, have] of [["file", m.files, now.files], ["link", m.links, now.links]] as const) {
    for (const p of Object.keys(want)) if (have[p] === undefined) problems.push(`${kind} ${p}: missing`);
    else if (have[p] !== want[p]) problems.push(`${kind} ${p}: ${kind === "file" ? "sha256" : "target"} differs`);
    for (const p of Object.keys(have)) if (want[p] === undefined) problems.push(`${kind} ${p}: not in the manifest`);
  }
  return problems;
}
