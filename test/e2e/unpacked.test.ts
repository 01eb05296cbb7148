// The machine's store of unpacked releases (src/local/unpacked.ts), as root: a tarball with its
// .sha256 in a scratch artifact store, unpacked once, owned by the app's ids, marked verified
// only while the tarball matches the sum the host's bundle pins (and the store's .sha256 says the
// same), pruned when its tarball leaves the store.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { artifactPaths } from "../../src/artifact/store.ts";
import { ensureUnpacked, pruneUnpacked, unpackedPaths } from "../../src/local/unpacked.ts";
import { requireRoot } from "./machine.ts";

const tmp = mkdtempSync(join(tmpdir(), "fawkes-unpacked-"));
const store = join(tmp, "artifacts");
const dir = join(tmp, "unpacked");
const app = { name: "shop", release: "r000000000001", uid: 40123, gid: 40124 };
const paths = artifactPaths(store, app.name, app.release);

/** A release tarball of a few files (one executable, one symlink) and its .sha256. */
async function putRelease(text: string): Promise<string> {
  const src = join(tmp, "src");
  rmSync(src, { recursive: true, force: true });
  mkdirSync(join(src, "venv/bin"), { recursive: true });
  writeFileSync(join(src, "manifest.json"), `{"app":"shop","text":${JSON.stringify(text)}}\n`);
  writeFileSync(join(src, "venv/bin/run"), "#!/bin/sh\necho run\n", { mode: 0o755 });
  await execa("ln", ["-s", "/usr/bin/python3", join(src, "venv/bin/python")]);
  mkdirSync(paths.dir, { recursive: true });
  await execa("tar", ["-czf", paths.tarball, "-C", src, "."]);
  const sum = createHash("sha256").update(readFileSync(paths.tarball)).digest("hex");
  writeFileSync(paths.sha256, `${sum}\n`);
  return sum;
}

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.sequential("unpacked releases on the machine", () => {
  beforeEach(() => requireRoot());

  it("unpacks a release once, as the app's files, and marks it verified against its sum", async () => {
    const sum = await putRelease("v1");
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).toBe("unpacked");
    const p = unpackedPaths(dir, sum);
    expect(readFileSync(join(p.tree, "manifest.json"), "utf8")).toContain('"v1"');
    for (const f of ["manifest.json", "venv/bin/run", "."]) expect([statSync(join(p.tree, f)).uid, statSync(join(p.tree, f)).gid]).toEqual([app.uid, app.gid]);
    expect(statSync(join(p.tree, "venv/bin/run")).mode & 0o777).toBe(0o755);
    expect(existsSync(p.verified)).toBe(true);
    expect(JSON.parse(readFileSync(p.record, "utf8"))).toMatchObject({ app: "shop", release: app.release, tarball: paths.tarball, uid: app.uid, gid: app.gid });
    // Unchanged: not hashed, not unpacked again.
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).toBe("kept");
    // Touched but the same bytes: hashed again, the tree kept.
    utimesSync(paths.tarball, new Date(), new Date(Date.now() - 60_000));
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).toBe("verified");
    expect(existsSync(p.verified)).toBe(true);
  });

  it("gives no verified tree for a .sha256 that the tarball does not match", async () => {
    const sum = await putRelease("v1");
    writeFileSync(paths.sha256, `${"0".repeat(64)}\n`);
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).toBe("mismatch");
    expect(existsSync(unpackedPaths(dir, "0".repeat(64)).tree)).toBe(false);
    writeFileSync(paths.sha256, "not a sum\n");
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).toBe("mismatch");
  });

  it("takes the mark away when the tarball changes under its sum, and gives it back when it matches again", async () => {
    const sum = await putRelease("v1");
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).not.toBe("mismatch");
    const good = readFileSync(paths.tarball);
    writeFileSync(paths.tarball, Buffer.concat([good, Buffer.from("garbage")]));
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).toBe("mismatch");
    const p = unpackedPaths(dir, sum);
    expect(existsSync(p.verified)).toBe(false);
    // The tree stays: hosts that mounted it keep running; new ones verify the tarball themselves.
    expect(existsSync(p.tree)).toBe(true);
    writeFileSync(paths.tarball, good);
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).toBe("verified");
    expect(existsSync(p.verified)).toBe(true);
  });

  it("unpacks once when hosts booting side by side ask for the same release at the same time", async () => {
    rmSync(dir, { recursive: true, force: true });
    const sum = await putRelease("side by side");
    const results = await Promise.all([1, 2, 3].map(() => ensureUnpacked(store, dir, { ...app, sha256: sum })));
    expect(results.sort()).toEqual(["kept", "kept", "unpacked"]);
    expect(readFileSync(join(unpackedPaths(dir, sum).tree, "manifest.json"), "utf8")).toContain("side by side");
  });

  it("does nothing for a release that is not in the store", async () => {
    expect(await ensureUnpacked(store, dir, { ...app, release: "r0000000000ff", sha256: "0".repeat(64) })).toBe("absent");
  });

  it("makes no tree of a tarball and .sha256 both replaced after the deploy: the tree is the bundle's sum's", async () => {
    const sum = await putRelease("as deployed");
    const planted = await putRelease("planted after the deploy");
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).toBe("mismatch");
    expect(existsSync(unpackedPaths(dir, planted).tree)).toBe(false);
    expect(existsSync(unpackedPaths(dir, planted).verified)).toBe(false);
  });

  it("prunes the trees whose tarball left the store, and leftovers of cut-short unpacks", async () => {
    const sum = await putRelease("v2");
    expect(await ensureUnpacked(store, dir, { ...app, sha256: sum })).toBe("unpacked");
    const stale = `${"a".repeat(64)}.partial-123-abcdef`;
    const going = `${"b".repeat(64)}.partial-456-abcdef`;
    mkdirSync(join(dir, stale));
    mkdirSync(join(dir, going));
    utimesSync(join(dir, stale), new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
    // A partial younger than an hour may be another fawkes unpacking right now.
    expect(pruneUnpacked(dir)).toEqual([stale]);
    expect(existsSync(join(dir, going))).toBe(true);
    expect(existsSync(unpackedPaths(dir, sum).tree)).toBe(true);
    rmSync(paths.tarball);
    rmSync(paths.sha256);
    expect(pruneUnpacked(dir)).toContain(sum);
    for (const f of Object.values(unpackedPaths(dir, sum))) expect(existsSync(f)).toBe(false);
  });
});
