// Python distributions a test makes and serves: a wheel or an sdist of a tiny package, and a PEP 503
// "simple" package index on 127.0.0.1 serving files from a dir. Nothing here reaches the network.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface PackageSpec {
  name: string;
  version: string;
  /** Requires-Dist lines. */
  requires?: string[];
  /** The module's source; default a GREETING constant naming the package and version. */
  source?: string;
  /** sdist only: its setup names a package dir it lacks, so building it fails. */
  broken?: boolean;
}

const MAKE = String.raw`
import base64, hashlib, io, json, re, sys, tarfile, zipfile
spec, kind, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
name, version = spec["name"], spec["version"]
mod = re.sub(r"[-.]+", "_", name).lower()
source = spec.get("source") or f'GREETING = "{name} {version}"\n'
if kind == "wheel":
    di = f"{mod}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in spec.get("requires", [])) + "\n"
    files = {f"{mod}/__init__.py": source, f"{di}/METADATA": meta, f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b'=').decode()},{len(d.encode())}\n" for p, d in files.items()) + f"{di}/RECORD,,\n"
    files[f"{di}/RECORD"] = record
    path = f"{out}/{mod}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for p, d in files.items():
            z.writestr(zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)), d)
else:
    top = f"{mod}-{version}"
    reqs = ", ".join(json.dumps(r) for r in spec.get("requires", []))
    files = {
        f"{top}/pyproject.toml": f'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "{name}"\nversion = "{version}"\ndependencies = [{reqs}]\n\n[tool.setuptools]\npackages = ["{mod}{"_missing" if spec.get("broken") else ""}"]\n',
        f"{top}/{mod}/__init__.py": source,
        f"{top}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    path = f"{out}/{top}.tar.gz"
    with tarfile.open(path, "w:gz") as t:
        for p, d in files.items():
            data = d.encode()
            info = tarfile.TarInfo(p)
            info.size, info.mtime, info.mode = len(data), 315532800, 0o644
            t.addfile(info, io.BytesIO(data))
print(path)
`;

/** Writes a pure wheel (kind "wheel") or a setuptools sdist (kind "sdist") of the package into `dir`; its path. */
export function makeDistribution(dir: string, spec: PackageSpec, kind: "wheel" | "sdist" = "wheel"): string {
  mkdirSync(dir, { recursive: true });
  return execFileSync("/usr/bin/python3", ["-c", MAKE, JSON.stringify(spec), kind, dir], { encoding: "utf8" }).trim();
}

export interface PackageIndex {
  /** http://127.0.0.1:PORT/simple/ */
  url: string;
  /** Requests answered, by path: what the build fetched. */
  requests: string[];
  close(): Promise<void>;
}

const canonical = (n: string) => n.replace(/[-_.]+/g, "-").toLowerCase();
const projectOf = (file: string) => canonical(file.replace(/(-py3-none-any\.whl|\.tar\.gz)$/, "").replace(/-[^-]+$/, ""));
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/**
 * A PEP 503 index of the files in `dir` (read at each request, so a test may replace one), on
 * 127.0.0.1 at a port the kernel picks: /simple/ lists projects, /simple/<name>/ links each file
 * with #sha256=, /files/<file> serves it.
 */
export async function servePackageIndex(dir: string): Promise<PackageIndex> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    requests.push(path);
    const files = readdirSync(dir).filter((f) => f.endsWith(".whl") || f.endsWith(".tar.gz"));
    const html = (body: string) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!DOCTYPE html><html><body>\n${body}</body></html>\n`);
    };
    if (path === "/simple/") return html([...new Set(files.map(projectOf))].map((p) => `<a href="${p}/">${p}</a><br>\n`).join(""));
    const project = /^\/simple\/([^/]+)\/$/.exec(path)?.[1];
    if (project !== undefined) {
      const mine = files.filter((f) => projectOf(f) === canonical(project));
      if (mine.length === 0) {
        res.writeHead(404).end("not found\n");
        return;
      }
      return html(mine.map((f) => `<a href="../../files/${f}#sha256=${sha256(join(dir, f))}">${f}</a><br>\n`).join(""));
    }
    const file = /^\/files\/([^/]+)$/.exec(path)?.[1];
    if (file !== undefined && files.includes(file)) {
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(readFileSync(join(dir, file)));
      return;
    }
    res.writeHead(404).end("not found\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/simple/`, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}
