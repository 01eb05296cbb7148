import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { envLayout, localUp, LocalTargetError } from "../../src/local/index.ts";
import { requireRoot } from "./machine.ts";

const ROOT = join(import.meta.dirname, "../..");
// The qa template stack: no other e2e test uses it, so "nothing changed" is checkable.
const qa = loadStack(ROOT, "qa");
let busy: Server;
let port = 0;

beforeAll(async () => {
  requireRoot();
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  port = (busy.address() as { port: number }).port;
});

afterAll(() => {
  busy?.close();
});

describe("the local target refuses clearly and changes nothing", () => {
  it("a port in use", async () => {
    const err = await localUp(qa, { port, progress: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalTargetError);
    expect((err as Error).message).toBe(`port 127.0.0.1:${port} is in use; pick another with --port`);
    expect(existsSync(envLayout("qa").dir)).toBe(false);
  });

  it("a pinned release that is not in the artifact store", async () => {
    const unbuilt = { ...qa, knobs: { ...qa.knobs, releases: { ...qa.knobs.releases, shop: "r000000000000" } } };
    const err = await localUp(unbuilt, { progress: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalTargetError);
    expect((err as Error).message).toMatch(/^artifacts missing from the local store:\n {2}shop release r000000000000 is not in \/\S+\/artifacts; build it with: fawkes build shop$/);
    expect(existsSync(envLayout("qa").dir)).toBe(false);
  });

  it("not root: says so, and what still works", async () => {
    // A clone may sit under a private dir (mktemp -d) that nobody cannot enter: nobody runs a copy
    // of the project (hard links where the file system allows) in a dir every user may read.
    const copy = mkdtempSync(join(tmpdir(), "fawkes-not-root-"));
    chmodSync(copy, 0o755);
    const linked = await execa("cp", ["-al", `${ROOT}/.`, copy], { reject: false });
    if (linked.exitCode !== 0) await execa("cp", ["-a", `${ROOT}/.`, copy]);
    const r = await execa("runuser", ["-u", "nobody", "--", process.execPath, join(copy, "bin/fawkes.mjs"), "local", "up", "--stack", "qa"], { cwd: copy, reject: false, all: true, env: { HOME: "/tmp" } }).finally(() => rmSync(copy, { recursive: true, force: true }));
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain("error: the local target needs root (namespaces, overlay mounts, bridges); run it with sudo. Without root, check, render and diff-stacks still work");
    expect(r.all).not.toMatch(/\n\s+at /);
    expect(existsSync(envLayout("qa").dir)).toBe(false);
  });
});
