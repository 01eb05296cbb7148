import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { protectedReleases, pruneReleases, releasesToPrune, storedReleases } from "../../src/artifact/index.ts";
import { FIXTURES } from "./fixture-project.ts";

const day = (n: number) => `2025-01-${String(n).padStart(2, "0")}T12:00:00.000Z`;
const stored = (...ids: Array<[string, number]>) => ids.map(([release, d]) => ({ release, builtAt: day(d) }));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

describe("releasesToPrune", () => {
  const five = stored(["ra", 1], ["rb", 2], ["rc", 3], ["rd", 4], ["re", 5]);

  it("keeps the newest by build time, whatever the order given", () => {
    expect(releasesToPrune([...five].reverse(), 2, new Set())).toEqual(["rc", "rb", "ra"]);
    expect(releasesToPrune(five, 5, new Set())).toEqual([]);
    expect(releasesToPrune(five, 9, new Set())).toEqual([]);
  });

  it("never prunes a protected release, however old", () => {
    expect(releasesToPrune(five, 1, new Set(["ra", "rc"]))).toEqual(["rd", "rb"]);
  });

  it("counts a protected release among the newest", () => {
    expect(releasesToPrune(five, 2, new Set(["re"]))).toEqual(["rc", "rb", "ra"]);
  });

  it("breaks ties of build time by release id", () => {
    expect(releasesToPrune(stored(["r2", 1], ["r1", 1], ["r3", 1]), 1, new Set())).toEqual(["r2", "r1"]);
  });

  it("takes an unreadable time as the oldest", () => {
    expect(releasesToPrune([{ release: "rx", builtAt: "yesterday" }, ...stored(["ra", 1])], 1, new Set())).toEqual(["rx"]);
  });

  it("throws on keep < 1 or not whole", () => {
    expect(() => releasesToPrune(five, 0, new Set())).toThrow(RangeError);
    expect(() => releasesToPrune(five, -1, new Set())).toThrow(RangeError);
    expect(() => releasesToPrune(five, 1.5, new Set())).toThrow(RangeError);
  });
});

function storeWith(app: string, releases: Array<{ id: string; builtAt?: string; mtime?: number; complete?: boolean }>): string {
  const store = tempDir("fawkes-store-");
  const dir = join(store, app);
  mkdirSync(dir, { recursive: true });
  for (const r of releases) {
    writeFileSync(join(dir, `${r.id}.tar.gz`), "tarball");
    if (r.builtAt) writeFileSync(join(dir, `${r.id}.build.json`), JSON.stringify({ builtAt: r.builtAt, builtOn: "test" }));
    if (r.complete !== false) {
      writeFileSync(join(dir, `${r.id}.sha256`), `${"0".repeat(64)}\n`);
      if (r.mtime !== undefined) utimesSync(join(dir, `${r.id}.sha256`), r.mtime, r.mtime);
    }
  }
  return store;
}

describe("storedReleases and pruneReleases", () => {
  it("lists complete artifacts only, with their build time or the .sha256's mtime", () => {
    const mtime = Date.parse(day(3)) / 1000;
    const store = storeWith("shop", [{ id: "r1", builtAt: day(1) }, { id: "r2", mtime }, { id: "r3", builtAt: day(4), complete: false }]);
    writeFileSync(join(store, "shop", "r4.build.json"), "{ torn");
    writeFileSync(join(store, "shop", "r4.sha256"), "x\n");
    utimesSync(join(store, "shop", "r4.sha256"), mtime, mtime);
    mkdirSync(join(store, "shop", ".r5.lock"));
    expect(storedReleases(store, "shop")).toEqual([
      { release: "r1", builtAt: day(1) },
      { release: "r2", builtAt: day(3) },
      { release: "r4", builtAt: day(3) },
    ]);
    expect(storedReleases(store, "blog")).toEqual([]);
  });

  it("deletes every file of the pruned releases and nothing else", () => {
    const store = storeWith("shop", [
      { id: "r1", builtAt: day(1) },
      { id: "r2", builtAt: day(2) },
      { id: "r3", builtAt: day(3) },
      { id: "r4", builtAt: day(4) },
      { id: "r9", builtAt: day(9), complete: false },
    ]);
    expect(pruneReleases(store, "shop", 2, new Set(["r1"]))).toEqual(["r2"]);
    expect(readdirSync(join(store, "shop")).sort()).toEqual(
      ["r1", "r3", "r4"].flatMap((r) => [`${r}.build.json`, `${r}.sha256`, `${r}.tar.gz`]).concat(["r9.build.json", "r9.tar.gz"]).sort(),
    );
    expect(pruneReleases(store, "shop", 2, new Set(["r1"]))).toEqual([]);
  });
});

describe("protectedReleases", () => {
  function project(): string {
    const root = tempDir("fawkes-retention-");
    cpSync(join(FIXTURES, "base"), root, { recursive: true });
    return root;
  }

  it("protects pins, running releases and the one before the release in use", () => {
    const root = project();
    const home = tempDir("fawkes-home-");
    mkdirSync(join(home, "envs/dev"), { recursive: true });
    writeFileSync(join(home, "envs/dev/state.json"), JSON.stringify({ stack: "dev", hosts: { w1: { releases: { shop: "r-running", blog: "b-running" } }, w2: { releases: {} } } }));
    mkdirSync(join(home, "envs/empty"));
    mkdirSync(join(home, "history"));
    const entry = (from: string, to: string, result: string) => JSON.stringify({ stack: "dev", kind: "release", app: "shop", from, to, result });
    writeFileSync(
      join(home, "history/dev.jsonl"),
      [entry("r-old", "r-prev", "succeeded"), entry("r-prev", "r1", "succeeded"), entry("r1", "r-bad", "rolled-back")].join("\n") + "\n",
    );
    expect([...protectedReleases(root, "shop", home)].sort()).toEqual(["r-bad", "r-prev", "r-running", "r1"]);
    expect([...protectedReleases(root, "blog", home)].sort()).toEqual(["b-running", "r1"]);
  });

  it("throws, rather than protect too little, when a stack does not load", () => {
    const root = project();
    writeFileSync(join(root, "stacks/Pulumi.broken.yaml"), "config:\n  acme:releases: [\n");
    expect(() => protectedReleases(root, "shop", tempDir("fawkes-home-"))).toThrow(/Pulumi\.broken\.yaml/);
  });

  it("throws when a local environment's state cannot be read", () => {
    const home = tempDir("fawkes-home-");
    mkdirSync(join(home, "envs/dev"), { recursive: true });
    writeFileSync(join(home, "envs/dev/state.json"), "{ torn");
    expect(() => protectedReleases(project(), "shop", home)).toThrow(/state\.json: cannot be read/);
    expect(existsSync(join(home, "envs/dev/state.json"))).toBe(true);
  });
});
