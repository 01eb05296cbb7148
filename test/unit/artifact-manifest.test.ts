// manifest.json: what a release is and a checksum per file; and the store's layout and atomic publish.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { artifactPaths, CorruptArtifactError, digestTree, manifestJson, manifestOf, publish, storedArtifact, verifyTree, type ReleaseSource } from "../../src/artifact/index.ts";
import { pythonVersionOf } from "../../src/artifact/manifest.ts";

const tmp = mkdtempSync(join(tmpdir(), "fawkes-manifest-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

const release: ReleaseSource = {
  id: "r0123456789ab", ref: "main", commit: "c".repeat(40), commitTime: 1767323045, source: "examples/flask-shop", sourceTree: "a".repeat(40),
  requirements: "", libraries: [{ dir: "examples/libs/fawkes-greeting-1", name: "fawkes-greeting", version: "1.4.0", dependencies: [], tree: "b".repeat(40) }],
};

function tree(): string {
  const dir = mkdtempSync(join(tmp, "tree-"));
  mkdirSync(join(dir, "venv/bin"), { recursive: true });
  writeFileSync(join(dir, "b.py"), "b\n");
  writeFileSync(join(dir, "a.py"), "a\n");
  writeFileSync(join(dir, "venv/bin/python3.11"), "");
  symlinkSync("python3.11", join(dir, "venv/bin/python"));
  writeFileSync(join(dir, "manifest.json"), "{}");
  return dir;
}

describe("manifest", () => {
  it("checksums every file but itself, sorted, and records links by target", () => {
    const d = digestTree(tree());
    expect(Object.keys(d.files)).toEqual(["a.py", "b.py", "venv/bin/python3.11"]);
    expect(d.files["a.py"]).toBe(sha("a\n"));
    expect(d.links).toEqual({ "venv/bin/python": "python3.11" });
  });

  it("has the shape hosts and people read: app, release, git sha, image, python, wheels, files", () => {
    const dir = tree();
    const m = manifestOf({
      app: "shop", release, image: "fc0af700", python: "3.11.2", releasePath: "/srv/apps/shop/releases/r0123456789ab",
      requirements: "Flask>=2.2,<4\n# a comment\ngunicorn  # added by fawkes build\n", buildHooks: [],
      wheels: [
        { name: "Werkzeug", version: "2.2.2", file: "werkzeug-2.2.2-py3-none-any.whl", sha256: "1", source: "debian", requiredBy: ["Flask 2.2.2"] },
        { name: "Flask", version: "2.2.2", file: "flask-2.2.2-py3-none-any.whl", sha256: "2", source: "debian", requiredBy: ["requirements.txt"] },
      ],
      digest: digestTree(dir),
    });
    expect(m).toMatchObject({
      format: 1, app: "shop", release: "r0123456789ab", ref: "main", gitSha: "c".repeat(40), image: "fc0af700", python: "3.11.2",
      sourceDate: "2026-01-02T03:04:05.000Z", requirements: ["Flask>=2.2,<4", "gunicorn"],
      libraries: [{ dir: "examples/libs/fawkes-greeting-1", name: "fawkes-greeting", version: "1.4.0", tree: "b".repeat(40) }],
    });
    expect(m.wheels.map((w) => w.file)).toEqual(["flask-2.2.2-py3-none-any.whl", "werkzeug-2.2.2-py3-none-any.whl"]);
    expect(Object.keys(JSON.parse(manifestJson(m)) as object)).toEqual([
      "format", "app", "release", "ref", "gitSha", "source", "sourceTree", "libraries", "image", "sourceDate", "python", "releasePath", "requirements", "buildHooks", "wheels", "files", "links",
    ]);
    // The bootstrap reads exactly this key.
    expect((JSON.parse(manifestJson(m)) as { image: string }).image).toBe("fc0af700");
    expect(verifyTree(dir, m)).toEqual([]);
    writeFileSync(join(dir, "a.py"), "changed\n");
    writeFileSync(join(dir, "new.py"), "");
    rmSync(join(dir, "b.py"));
    expect(verifyTree(dir, m)).toEqual(["file a.py: sha256 differs", "file b.py: missing", "file new.py: not in the manifest"]);
  });

  it("takes the Python version from the venv's pyvenv.cfg", () => {
    expect(pythonVersionOf("home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n")).toBe("3.11.2");
    expect(() => pythonVersionOf("home = /usr/bin\n")).toThrow("venv/pyvenv.cfg names no Python version");
  });
});

describe("store", () => {
  it("lays out <store>/<app>/<release>.tar.gz and .sha256, the .sha256 written last", async () => {
    const store = join(tmp, "store");
    const p = artifactPaths(store, "shop", "r1");
    expect(p).toMatchObject({ tarball: `${store}/shop/r1.tar.gz`, sha256: `${store}/shop/r1.sha256`, buildInfo: `${store}/shop/r1.build.json` });
    expect(await storedArtifact(p)).toBeUndefined();
    mkdirSync(p.dir, { recursive: true });
    const partial = `${p.tarball}.1.partial`;
    writeFileSync(partial, "tarball");
    publish(p, partial, sha("tarball"), { builtAt: "now" });
    expect(existsSync(partial)).toBe(false);
    expect(readFileSync(p.sha256, "utf8")).toBe(`${sha("tarball")}\n`);
    expect(await storedArtifact(p)).toBe(sha("tarball"));
  });

  it("refuses a stored tarball that no longer matches its .sha256", async () => {
    const p = artifactPaths(join(tmp, "store2"), "shop", "r1");
    mkdirSync(p.dir, { recursive: true });
    writeFileSync(p.tarball, "tampered");
    writeFileSync(p.sha256, `${sha("original")}\n`);
    await expect(storedArtifact(p)).rejects.toThrow(CorruptArtifactError);
    await expect(storedArtifact(p)).rejects.toThrow(/r1\.tar\.gz does not match .*r1\.sha256 .*; remove both to rebuild$/);
  });
});
