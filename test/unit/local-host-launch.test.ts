// How a local host is started, as data: its own user namespace over idmapped mounts, the host's
// capabilities only, /proc/sys read-only, pivot_root by host-launch.py; its disk owned by its root.
import { lstatSync, mkdtempSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HOST_CAPS, hostDirs, launchScript, prepareDisk } from "../../src/local/host.ts";
import { localSeed } from "../../src/local/host-seed.ts";
import { HOST_ID_COUNT, hostIdBase } from "../../src/local/layout.ts";

const slot = { name: "dev-web-1", dir: "/h/dev-web-1" };
const mounts = { rootfs: "/img/rootfs", secrets: "/env/secrets", artifacts: "/store", shared: { blog: "/env/shared/blog" } };

describe("a local host's start", () => {
  const base = hostIdBase(slot);
  const script = launchScript(slot, mounts, { idBase: base });
  const lines = script.trim().split("\n");

  it("maps root inside to its own range of 65,536 ids from 2^30, picked by the host's dir", () => {
    expect(base).toBeGreaterThanOrEqual(2 ** 30);
    expect(base + HOST_ID_COUNT).toBeLessThanOrEqual(2 ** 31);
    expect(base % HOST_ID_COUNT).toBe(0);
    expect(hostIdBase({ dir: "/other-home/envs/dev/hosts/dev-web-1" })).not.toBe(base);
  });

  it("sees the golden image and the machine's dirs through idmapped mounts, read-only where the host only reads", () => {
    const d = hostDirs(slot);
    expect(lines).toContain(`/usr/bin/python3 ${join(import.meta.dirname, "../../src/local/host-launch.py")} idmap ${base} 65536 /img/rootfs ${d.lower} ro`);
    expect(script).toContain(`lowerdir=${d.lower},upperdir=${d.upper},workdir=${d.work}`);
    const binds = lines.find((l) => l.includes(" idmap ") && l.includes("/store"))!;
    expect(binds).toContain(`/store ${d.merged}/var/lib/fawkes/store ro`);
    expect(binds).toContain(`/env/secrets ${d.merged}/var/lib/fawkes/secrets rw`);
    expect(binds).toContain(`/env/shared/blog ${d.merged}/srv/apps/blog/shared rw`);
    expect(script).not.toMatch(/mount --bind '?\/store/);
  });

  it("keeps /proc/sys read-only, gives the host's root its /run and /dev, and enters with the host's capabilities only", () => {
    expect(script).toContain('mount --bind "$M/proc/sys" "$M/proc/sys" && mount -o remount,bind,ro "$M/proc/sys"');
    expect(script).toContain(`mount -t tmpfs -o mode=0755,uid=${base},gid=${base} tmpfs "$M/run"`);
    expect(lines.at(-1)).toMatch(new RegExp(`enter ${hostDirs(slot).merged} dev-web-1 ${HOST_CAPS.join(",")} ${base} 65536 -- /usr/local/lib/fawkes-local/init PATH=`));
    expect(HOST_CAPS).not.toContain("sys_module");
    expect(HOST_CAPS).not.toContain("net_admin");
    expect(script).not.toContain("chroot");
  });

  it("refuses an id base that would map the machine's own users or run past 2^31", () => {
    for (const idBase of [0, 1000, 2 ** 31, 1.5]) expect(() => launchScript(slot, mounts, { idBase })).toThrow(/host id base/);
  });
});

describe("a local host's disk", () => {
  it("is its root's: every dir and file fawkes puts in the upper dir is owned by the host's id base", () => {
    if (process.getuid?.() !== 0) throw new Error("this test chowns files: run it as root");
    const dir = mkdtempSync(join(tmpdir(), "fawkes-disk-"));
    try {
      const s = { name: "dev-web-1", dir: join(dir, "dev-web-1") };
      const base = hostIdBase(s);
      prepareDisk(s, { ...mounts, shared: {} }, localSeed(s, new TextEncoder().encode("#cloud-config\n"), "b1"), "b1", base);
      const owners = new Set<string>();
      const walk = (p: string) => {
        const st = lstatSync(p);
        owners.add(`${st.uid}:${st.gid}`);
        if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
      };
      walk(hostDirs(s).upper);
      expect([...owners]).toEqual([`${base}:${base}`]);
      expect(lstatSync(join(hostDirs(s).upper, "var/lib/cloud/seed/nocloud/user-data")).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
