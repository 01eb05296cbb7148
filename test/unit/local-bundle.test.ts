// The local target stores each role's bundle where the hosts' stage 1 fetches it: the machine's
// artifact store, mounted read-only at /var/lib/fawkes/store, under the bundle's own key.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { storeBundle } from "../../src/local/fleet.ts";
import { hostBinds } from "../../src/local/host.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";

const ROOT = join(import.meta.dirname, "../..");
const web = renderWithTestArtifacts(planEnvironment(loadStack(ROOT, "dev"))).find((i) => i.role === "web")!;
const boot = web.files.find((f) => f.path === "/usr/local/sbin/fawkes-boot")!.content;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const store = () => {
  const d = mkdtempSync(join(tmpdir(), "fawkes-store-"));
  dirs.push(d);
  return d;
};

describe("storeBundle", () => {
  it("writes the bundle under its key, where the stage-1 script's local adapter reads the mounted store", () => {
    const dir = store();
    const path = storeBundle(dir, web);
    expect(path).toBe(join(dir, web.bundle.key));
    expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(web.bundle.sha256);
    // Root's only: the apps' users on a host read no bundle (every app's files of the role are in it).
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const mount = hostBinds({ rootfs: "/", artifacts: dir, shared: {} }).find((b) => b.source === dir)!;
    expect(mount.readOnly).toBe(true);
    expect(boot).toContain(`readonly LOCAL_STORE=/${mount.target}\n`);
    expect(boot).toContain(`readonly BUNDLE_OBJECT=${web.bundle.key}\n`);
  });

  it("leaves a stored bundle that matches its key alone, and writes a damaged one again", () => {
    const dir = store();
    const path = storeBundle(dir, web);
    const { ino } = statSync(path);
    storeBundle(dir, web);
    expect(statSync(path).ino).toBe(ino);
    writeFileSync(path, "damaged");
    storeBundle(dir, web);
    expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(web.bundle.sha256);
  });
});
