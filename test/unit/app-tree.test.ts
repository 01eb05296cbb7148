// Root's reads in an app's tree follow no link the app planted: not the file's, not a directory's
// on the way, not a FIFO that would hang the reader, not a path that climbs out.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppTreeError, appFilesIn, readAppFile } from "../../src/app-tree/index.ts";

let root = "";
let secret = "";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "fawkes-app-tree-"));
  secret = join(root, "outside.txt");
  writeFileSync(secret, "not the app's\n");
  const tree = join(root, "tree");
  mkdirSync(join(tree, "logs"), { recursive: true });
  writeFileSync(join(tree, "logs", "web.log"), "a line\n");
  symlinkSync(secret, join(tree, "logs", "planted.log"));
  symlinkSync(join(root, "elsewhere"), join(tree, "linked-dir"));
  mkdirSync(join(root, "elsewhere"));
  writeFileSync(join(root, "elsewhere", "web.log"), "through a linked dir\n");
  execFileSync("mkfifo", [join(tree, "logs", "fifo.log")]);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("reading an app's tree as root", () => {
  it("reads a regular file", () => {
    expect(readAppFile(join(root, "tree"), "logs/web.log").toString()).toBe("a line\n");
    // A leading / is the tree's own root (a host's /var/log on its disk).
    expect(readAppFile(join(root, "tree"), "/logs/web.log").toString()).toBe("a line\n");
  });

  it("refuses a link as the file, a link on the way, a FIFO, and a path out of the tree", () => {
    const tree = join(root, "tree");
    expect(() => readAppFile(tree, "logs/planted.log")).toThrow(AppTreeError);
    expect(() => readAppFile(tree, "logs/planted.log")).toThrow(/is a symbolic link/);
    expect(() => readAppFile(tree, "linked-dir/web.log")).toThrow(/reached through a symbolic link/);
    expect(() => readAppFile(tree, "logs/fifo.log")).toThrow(/not a regular file/);
    expect(() => readAppFile(tree, "../outside.txt")).toThrow(/not a path inside/);
  });

  it("lists only the regular files of a dir, and no dir reached through a link", () => {
    expect(appFilesIn(join(root, "tree"), "logs")).toEqual(["web.log"]);
    expect(appFilesIn(join(root, "tree"), "missing")).toEqual([]);
    expect(() => appFilesIn(join(root, "tree"), "linked-dir")).toThrow(/reached through a symbolic link/);
  });
});
