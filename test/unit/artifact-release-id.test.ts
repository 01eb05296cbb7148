// The release id comes from committed source only: the git tree id of the app's dir, combined with
// the trees of the repository libraries it requires. Checked against a throw-away git repository.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { librariesUsed, parseProjectTable, releaseIdFrom, releaseIdOf, releaseSourceOf, requirementNames, treeIdOf, type RepoLibrary } from "../../src/artifact/index.ts";

const repo = mkdtempSync(join(tmpdir(), "fawkes-release-id-"));
const GIT_ENV = {
  GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t.test", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t.test",
  GIT_AUTHOR_DATE: "2026-01-02T03:04:05Z", GIT_COMMITTER_DATE: "2026-01-02T03:04:05Z", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1",
};
const git = async (...args: string[]) => (await execa("git", ["-C", repo, ...args], { env: GIT_ENV, stripFinalNewline: true })).stdout;
const write = (path: string, text: string) => {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), text);
};
const commit = async (message: string) => {
  await git("add", "-A");
  await git("commit", "-q", "-m", message);
  return git("rev-parse", "HEAD");
};
const lib = (major: number) => `[build-system]\nrequires = ["setuptools>=61"]\n\n[project]\nname = "fawkes-greeting"\nversion = "${major}.0.0"\ndependencies = []\n`;

let first = "";
beforeAll(async () => {
  await git("init", "-q");
  write("apps/solo/requirements.txt", "Flask>=2.2\n");
  write("apps/solo/solo.py", "print('solo')\n");
  write("apps/shop/requirements.txt", "Flask>=2.2,<4\nfawkes-greeting>=1,<2  # the repo's library\n");
  write("apps/shop/shop.py", "print('shop')\n");
  write("libs/greeting-1/pyproject.toml", lib(1));
  write("libs/greeting-1/fawkes_greeting/__init__.py", "__version__ = '1.0.0'\n");
  write("libs/greeting-2/pyproject.toml", lib(2));
  write("libs/greeting-2/fawkes_greeting/__init__.py", "__version__ = '2.0.0'\n");
  write("libs/other/pyproject.toml", '[project]\nname = "other"\nversion = "0.1"\n');
  first = await commit("first");
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe("releaseIdOf", () => {
  it("is r + 12 hex of the app dir's git tree id when the app uses no repository library", async () => {
    const tree = await git("rev-parse", "HEAD:apps/solo");
    expect(await releaseIdOf(repo, "apps/solo")).toBe(`r${tree.slice(0, 12)}`);
    expect(await releaseIdOf(repo, "./apps/solo/")).toBe(`r${tree.slice(0, 12)}`);
  });

  it("covers the libraries the app requires, as the tree `git mktree` makes of app + library dirs", async () => {
    const [app, l1, l2] = await Promise.all(["apps/shop", "libs/greeting-1", "libs/greeting-2"].map((d) => git("rev-parse", `HEAD:${d}`)));
    const mktree = (await execa("git", ["-C", repo, "mktree", "--missing"], { input: `040000 tree ${l2}\tlibs:greeting-2\n040000 tree ${app}\tapp\n040000 tree ${l1}\tlibs:greeting-1\n` })).stdout.trim();
    const src = await releaseSourceOf(repo, "apps/shop");
    expect(src.libraries.map((l) => l.dir)).toEqual(["libs/greeting-1", "libs/greeting-2"]);
    expect(src.id).toBe(`r${mktree.slice(0, 12)}`);
    expect(src.id).not.toBe(`r${app!.slice(0, 12)}`);
    expect(src.commitTime).toBe(Date.parse("2026-01-02T03:04:05Z") / 1000);
    expect(src.requirements).toBe("Flask>=2.2,<4\nfawkes-greeting>=1,<2  # the repo's library\n");
  });

  it("ignores the working tree: uncommitted edits change nothing until committed", async () => {
    const before = await releaseIdOf(repo, "apps/solo");
    write("apps/solo/solo.py", "print('edited')\n");
    expect(await releaseIdOf(repo, "apps/solo")).toBe(before);
    await commit("edit solo");
    const after = await releaseIdOf(repo, "apps/solo");
    expect(after).not.toBe(before);
    expect(await releaseIdOf(repo, "apps/solo", first)).toBe(before);
  });

  it("changes when a required library changes, not when another app or library does", async () => {
    const shop = await releaseIdOf(repo, "apps/shop");
    write("libs/other/x.py", "x = 1\n");
    write("apps/solo/more.py", "y = 2\n");
    await commit("unrelated");
    expect(await releaseIdOf(repo, "apps/shop")).toBe(shop);
    write("libs/greeting-1/fawkes_greeting/__init__.py", "__version__ = '1.0.1'\n");
    await commit("greeting 1.0.1");
    expect(await releaseIdOf(repo, "apps/shop")).not.toBe(shop);
  });

  it("refuses source that is not committed at the ref, and refs that are not commits", async () => {
    write("apps/new/requirements.txt", "Flask\n");
    await expect(releaseIdOf(repo, "apps/new")).rejects.toThrow(/^apps\/new is not committed at HEAD \([0-9a-f]{12}\): fawkes builds releases from committed source only; commit it first/);
    await expect(releaseIdOf(repo, "apps/solo", "no-such-branch")).rejects.toThrow(/^no-such-branch is not a commit of the git repository in /);
    await expect(releaseIdOf(repo, "apps/solo/solo.py")).rejects.toThrow("apps/solo/solo.py is not committed at HEAD");
  });

  it("needs the app's requirements.txt committed", async () => {
    write("apps/bare/app.py", "pass\n");
    await commit("bare app");
    await expect(releaseIdOf(repo, "apps/bare")).rejects.toThrow(/^apps\/bare\/requirements\.txt is not committed at HEAD .*: the app's venv is built from it$/);
  });
});

describe("release id parts", () => {
  const l = (dir: string, name: string, dependencies: string[] = []): RepoLibrary => ({ dir, name, version: "1", dependencies, tree: "0".repeat(40) });

  it("names requirements the way pip does (PEP 503), ignoring comments, options and markers", () => {
    expect(requirementNames(["Flask>=2.2  # web", "# comment", "", "-r other.txt", "Fawkes_Greeting[x]>=1; python_version>'3'", "zope.interface"])).toEqual(["fawkes-greeting", "flask", "zope-interface"]);
  });

  it("follows libraries' own dependencies on other repository libraries", () => {
    const libs = [l("a", "alpha", ["beta>=1"]), l("b", "beta"), l("c", "gamma")];
    expect(librariesUsed(["alpha"], libs).map((x) => x.dir)).toEqual(["a", "b"]);
    expect(librariesUsed(["flask"], libs)).toEqual([]);
  });

  it("reads the static [project] table of a library's pyproject.toml", () => {
    expect(parseProjectTable('[project]\nname = "x"\nversion = "1.2"\ndependencies = [\n  "a>=1",\n  \'b\',\n]\n[tool.x]\nname = "no"\n', "p")).toEqual({ name: "x", version: "1.2", dependencies: ["a>=1", "b"] });
    expect(() => parseProjectTable('[project]\nname = "x"\ndynamic = ["version"]\n', "libs/x/pyproject.toml")).toThrow('libs/x/pyproject.toml: [project] needs a static name and version ("dynamic" is not supported)');
    expect(() => parseProjectTable("[tool.poetry]\n", "p")).toThrow("p: no [project] table");
  });

  it("orders tree entries as git does ('app-lib' before 'app'), whatever the input order", async () => {
    const a = { name: "app", tree: "1".repeat(40) };
    const b = { name: "app-lib", tree: "2".repeat(40) };
    const mktree = (await execa("git", ["-C", repo, "mktree", "--missing"], { input: `040000 tree ${a.tree}\tapp\n040000 tree ${b.tree}\tapp-lib\n` })).stdout.trim();
    expect(treeIdOf([a, b])).toBe(mktree);
    expect(treeIdOf([b, a])).toBe(mktree);
    expect(releaseIdFrom("abcdef0123456789", [])).toBe("rabcdef012345");
    expect(releaseIdFrom("abcdef0123456789abcdef0123456789abcdef01", [{ dir: "libs/x", tree: "1".repeat(40) }])).toMatch(/^r[0-9a-f]{12}$/);
  });
});
