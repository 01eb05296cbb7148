// The local artifact store through the ArtifactStore interface: what `fawkes build` writes and
// what `--push` reads from. The S3 store has its own test against an S3 emulator (test/e2e).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CorruptArtifactError, localStore, pruneStore, type ArtifactFiles } from "../../src/artifact/index.ts";

const tmp = mkdtempSync(join(tmpdir(), "fawkes-stores-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** An artifact's three files in a scratch dir, as `fawkes build` leaves them. */
function artifact(release: string, builtAt: string, content = `tarball of ${release}`): ArtifactFiles {
  const dir = join(tmp, `src-${n++}`);
  mkdirSync(dir);
  const files = { tarball: join(dir, `${release}.tar.gz`), sha256: join(dir, `${release}.sha256`), buildInfo: join(dir, `${release}.build.json`) };
  writeFileSync(files.tarball, content);
  writeFileSync(files.sha256, `${createHash("sha256").update(content).digest("hex")}\n`);
  writeFileSync(files.buildInfo, JSON.stringify({ release, builtAt }));
  return files;
}

const day = (d: number) => new Date(Date.UTC(2026, 10, d)).toISOString();
const freshStore = () => localStore(join(tmp, `store-${n++}`));

describe("localStore", () => {
  it("puts an artifact's three files where hosts' layout has them; has and list see it", async () => {
    const store = freshStore();
    expect(await store.has("shop", "r1")).toBe(false);
    expect(await store.list("shop")).toEqual([]);
    const files = artifact("r1", day(1));
    await store.put("shop", "r1", files);
    expect(readdirSync(join(store.where, "shop")).sort()).toEqual(["r1.build.json", "r1.sha256", "r1.tar.gz"]);
    expect(readFileSync(join(store.where, "shop/r1.tar.gz"), "utf8")).toBe("tarball of r1");
    expect(readFileSync(join(store.where, "shop/r1.sha256"), "utf8")).toBe(readFileSync(files.sha256, "utf8"));
    expect(await store.has("shop", "r1")).toBe(true);
    expect(await store.has("blog", "r1")).toBe(false);
    expect(await store.list("shop")).toEqual([{ release: "r1", builtAt: day(1) }]);
  });

  it("keeps releases readable by their owner alone: the store and its dirs 0700, every file 0600", async () => {
    const store = freshStore();
    await store.put("shop", "r1", artifact("r1", day(1)));
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    expect([mode(store.where), mode(join(store.where, "shop"))]).toEqual(["700", "700"]);
    for (const f of readdirSync(join(store.where, "shop"))) expect(mode(join(store.where, "shop", f)), f).toBe("600");
  });

  it("is complete only once its .sha256 is there: a tarball alone is not `has`, nor listed", async () => {
    const store = freshStore();
    mkdirSync(join(store.where, "shop"), { recursive: true });
    writeFileSync(join(store.where, "shop/r1.tar.gz"), "half a tarball");
    writeFileSync(join(store.where, "shop/r1.build.json"), "{}");
    expect(await store.has("shop", "r1")).toBe(false);
    expect(await store.list("shop")).toEqual([]);
  });

  it("writes the .sha256 last: a put that fails half way leaves the release incomplete", async () => {
    const store = freshStore();
    const files = artifact("r1", day(1));
    rmSync(files.buildInfo);
    await expect(store.put("shop", "r1", files)).rejects.toThrow(/r1\.build\.json/);
    expect(existsSync(join(store.where, "shop/r1.tar.gz"))).toBe(true);
    expect(await store.has("shop", "r1")).toBe(false);
  });

  it("refuses a tarball that does not match its .sha256, storing nothing", async () => {
    const store = freshStore();
    const files = artifact("r1", day(1));
    writeFileSync(files.tarball, "something else");
    await expect(store.put("shop", "r1", files)).rejects.toThrow(CorruptArtifactError);
    await expect(store.put("shop", "r1", files)).rejects.toThrow(/does not match/);
    expect(existsSync(join(store.where, "shop"))).toBe(false);
  });

  it("removes the .sha256 first: a remove that fails half way leaves the release incomplete", async () => {
    const store = freshStore();
    await store.put("shop", "r1", artifact("r1", day(1)));
    await store.put("shop", "r2", artifact("r2", day(2)));
    await store.remove("shop", "r1");
    expect(readdirSync(join(store.where, "shop")).sort()).toEqual(["r2.build.json", "r2.sha256", "r2.tar.gz"]);
    // A tarball that cannot be deleted (a non-empty dir in its place): the .sha256 is gone already.
    rmSync(join(store.where, "shop/r2.tar.gz"));
    mkdirSync(join(store.where, "shop/r2.tar.gz/x"), { recursive: true });
    await expect(store.remove("shop", "r2")).rejects.toThrow();
    expect(existsSync(join(store.where, "shop/r2.sha256"))).toBe(false);
    expect(await store.has("shop", "r2")).toBe(false);
    await store.remove("shop", "r9");
  });

  it("pruneStore keeps the newest N and the protected ones", async () => {
    const store = freshStore();
    for (const d of [1, 2, 3, 4, 5]) await store.put("shop", `r${d}`, artifact(`r${d}`, day(d)));
    await store.put("blog", "r1", artifact("r1", day(1)));
    expect(await pruneStore(store, "shop", 2, new Set(["r1"]))).toEqual(["r3", "r2"]);
    expect((await store.list("shop")).map((s) => s.release)).toEqual(["r1", "r4", "r5"]);
    expect(await store.has("blog", "r1")).toBe(true);
    expect(await pruneStore(store, "shop", 2, new Set(["r1"]))).toEqual([]);
    await expect(pruneStore(store, "shop", 0, new Set())).rejects.toThrow(RangeError);
  });
});
