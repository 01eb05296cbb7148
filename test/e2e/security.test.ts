// An app's user against the host it runs on, end to end, as root: a stack `sec` of a project of
// its own (one web host running shop and blog, the db host). The blog's user plants links where
// root (nginx, the bootstrap, `local logs`, `errors`, `backup restore`) would follow them to
// another app's files or the machine's, and none is followed. Then root in the host tries to be
// root on the machine: write outside its tree, load a module, see the machine's processes, reach
// the machine's addresses; none works.
import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { envLayout, localDown, localStatus, localUp } from "../../src/local/index.ts";
import { httpStatus } from "../../src/local/health.ts";
import { HOST_CAPS, hostDirs, inHost } from "../../src/local/host.ts";
import { HOST_ID_COUNT, hostIdBase } from "../../src/local/layout.ts";
import { readState } from "../../src/local/state.ts";
import { knobsStack, scratchProject, type ScratchProject } from "../helpers/scratch-project.ts";
import { downAfterAll, requireRoot } from "./machine.ts";

const STACK = "sec";
let project: ScratchProject | undefined;
const ids = { shop: "", blog: "" };

const web = () => {
  const state = readState(envLayout(STACK).state)!;
  const name = Object.keys(state.hosts).find((n) => state.hosts[n]!.role === "web" && state.hosts[n]!.healthy)!;
  return { ...state.hosts[name]!, name };
};

/** A command in the web host as the blog's user. */
const asBlog = (...argv: string[]) => inHost(web().init!, ["runuser", "-u", "blog", "--", ...argv]);
const asRoot = (...argv: string[]) => inHost(web().init!, argv);

async function fawkes(...argv: string[]) {
  return project!.fawkes(...argv, "--stack", STACK);
}

/** GET from the web host's nginx, for the blog, as the load balancer asks. */
async function blogGet(path: string) {
  const spec = loadStack(project!.root, STACK);
  const port = spec.catalogue.apps.find((a) => a.name === "blog")!.port;
  return httpStatus(web().ip, port, path, `blog.${STACK}.fawkes.test`, 5000);
}

beforeAll(async () => {
  requireRoot();
  await localDown(envLayout(STACK));
  project = await scratchProject("security");
  const head = await project.git("rev-parse", "HEAD");
  ids.shop = await project.buildAt("shop", head);
  ids.blog = await project.buildAt("blog", head);
  writeFileSync(join(project.root, "stacks", `Pulumi.${STACK}.yaml`), knobsStack(STACK, { web: 1, worker: 0, releases: ids, rollout: { warmupSeconds: 0, checkpointDelaySeconds: 0 } }));
  const up = await localUp(loadStack(project.root, STACK), { progress: () => {} });
  expect(up.failed).toEqual([]);
}, 900_000);

downAfterAll(STACK, () => project);

describe.sequential("an app's user cannot lead root anywhere", () => {
  it("nginx serves an app's own media, and nothing a link there leads to: not another app's code, not the host's files", async () => {
    const media = "/srv/apps/blog/shared/media";
    expect((await asBlog("sh", "-c", `printf mine > ${media}/own.txt && ln -sfn own.txt ${media}/alias.txt`)).exitCode).toBe(0);
    // www-data may read shop's code (nginx enters every app's tree for static files), and /etc/passwd.
    const stolen = `/srv/apps/shop/releases/${ids.shop}/manifest.json`;
    expect((await inHost(web().init!, ["runuser", "-u", "www-data", "--", "cat", stolen])).exitCode).toBe(0);
    expect((await asBlog("ln", "-sfn", stolen, `${media}/shop.json`)).exitCode).toBe(0);
    expect((await asBlog("ln", "-sfn", "/etc/passwd", `${media}/passwd`)).exitCode).toBe(0);
    expect(await blogGet("/media/own.txt")).toMatchObject({ status: 200, body: "mine" });
    // A link to a file of the link's owner is served.
    expect(await blogGet("/media/alias.txt")).toMatchObject({ status: 200, body: "mine" });
    for (const path of ["/media/shop.json", "/media/passwd"]) {
      const r = await blogGet(path);
      expect(r.status, `${path}: ${r.body.slice(0, 80)}`).toBe(403);
      expect(r.body).not.toMatch(/"release"|root:x:0:0/);
    }
  });

  it("the bootstrap's lock files are root's own: a link the app plants where they used to be truncates nothing at the next boot", async () => {
    const issue = (await asRoot("cat", "/etc/issue")).stdout;
    expect(issue.length).toBeGreaterThan(0);
    // Where the locks lived, in the blog's shared storage: the blog's user may make the dir and the links.
    const locks = "/srv/apps/blog/shared/.fawkes/locks";
    const planted = await asBlog("sh", "-c", `if [ -e ${locks} ]; then mv ${locks} ${locks}.old; fi && mkdir ${locks} && for n in blog-database blog-${ids.blog}-hooks; do ln -sfn /etc/issue ${locks}/$n.lock; done`);
    expect(planted.exitCode, planted.all).toBe(0);
    const before = web().name;
    const r = await fawkes("local", "rebuild", "--host", before);
    expect(r.code, r.err).toBe(0);
    expect(web().name).not.toBe(before);
    expect((await asRoot("cat", "/etc/issue")).stdout).toBe(issue);
  });

  it("a link where fawkes makes a shared dir stops the boot by name, and root changed nothing it led to", async () => {
    const media = "/srv/apps/blog/shared/media";
    expect((await asBlog("sh", "-c", `mv ${media} ${media}.real && ln -s /usr/local/share ${media}`)).exitCode).toBe(0);
    try {
      const before = web().name;
      const r = await fawkes("local", "rebuild", "--host", before);
      expect(r.code).toBe(1);
      // The old host still serves; the new one stopped at the blog's shared step, saying why.
      expect(web().name).toBe(before);
      const failed = (await localStatus(STACK)).hosts.find((h) => h.name !== before && h.role === "web" && !h.healthy)!;
      expect(failed.failedStep).toBe("blog/shared");
      const log = readFileSync(join(hostDirs({ dir: join(envLayout(STACK).hostsDir, failed.name) }).upper, "var/log/fawkes/bootstrap.log"), "utf8");
      expect(log).toContain(`${media} is a symbolic link (to /usr/local/share)`);
      // Had root made the dir through the link, the failed host's disk would hold /usr/local/share, chowned.
      const failedDir = join(envLayout(STACK).hostsDir, failed.name);
      const copied = join(hostDirs({ dir: failedDir }).upper, "usr/local/share");
      if (existsSync(copied)) expect(lstatSync(copied).uid).toBe(hostIdBase({ dir: failedDir }));
    } finally {
      await asBlog("sh", "-c", `rm ${media} && mv ${media}.real ${media}`);
    }
  });

  it("the app cannot write its log dir; a link put there anyway is printed by neither local logs nor errors", async () => {
    const logs = "/var/log/fawkes/blog";
    expect((await asBlog("ln", "-s", "/etc/shadow", `${logs}/planted.log`)).exitCode).not.toBe(0);
    // Root in the host puts one there, standing in for any writer: the machine's /etc/shadow is where it leads.
    expect((await asRoot("ln", "-sfn", "/etc/shadow", `${logs}/planted.log`)).exitCode).toBe(0);
    const shadow = readFileSync("/etc/shadow", "utf8").split("\n")[0]!;
    expect(shadow).toMatch(/^root:/);
    const printed = await fawkes("local", "logs", "blog");
    expect(printed.code, printed.err).toBe(0);
    expect(printed.out).toContain("web.log");
    expect(printed.out).not.toContain(shadow);
    expect(printed.out).not.toContain("planted.log");
    const errors = await fawkes("errors", "--app", "blog", "--json");
    expect(errors.code, errors.err).toBe(0);
    expect(errors.out).not.toContain(shadow.slice(0, 20));
    await asRoot("rm", "-f", `${logs}/planted.log`);
  });

  it("backup restore unpacks nowhere the app can reach: an app racing to swap a dir for a link gets nothing", async () => {
    const kept = "/srv/apps/blog/shared/media/kept.txt";
    expect((await asBlog("sh", "-c", `printf backed-up > ${kept}`)).exitCode).toBe(0);
    const created = await fawkes("backup", "create", "--app", "blog", "--json");
    expect(created.code, created.err).toBe(0);
    const id = (JSON.parse(created.out) as { id: string }).id;
    expect((await asBlog("sh", "-c", `printf changed > ${kept}`)).exitCode).toBe(0);
    // The racer: the blog's user swaps any hidden dir that appears in its shared dir (a staging dir)
    // for a link to a dir of the machine's, for at most 60 s or until told to stop. Root unpacking into it would fill that dir.
    const target = mkdtempSync(join(tmpdir(), "fawkes-sec-race-"));
    const racer = asBlog(
      "python3",
      "-c",
      `import os, sys, time
shared, target = sys.argv[1:]
seen = set(os.listdir(shared))
end = time.monotonic() + 60
while time.monotonic() < end and not os.path.exists("/tmp/racer.stop"):
    for name in set(os.listdir(shared)) - seen:
        path = os.path.join(shared, name)
        if name.startswith(".") and not name.endswith(".moved") and os.path.isdir(path) and not os.path.islink(path):
            try:
                os.rename(path, path + ".moved")
                os.symlink(target, path)
                print("swapped", name, flush=True)
            except OSError:
                pass
        seen.add(name)
`,
      "/srv/apps/blog/shared",
      target,
    );
    let swapped: string;
    try {
      const restored = await fawkes("backup", "restore", id, "--app", "blog");
      expect(restored.code, restored.err).toBe(0);
    } finally {
      await asRoot("touch", "/tmp/racer.stop");
      swapped = (await racer).all ?? "";
      await asRoot("rm", "-f", "/tmp/racer.stop");
    }
    // No staging dir ever appeared where the app could swap it, and nothing reached the racer's dir.
    expect(swapped).toBe("");
    expect(readdirSync(target)).toEqual([]);
    rmSync(target, { recursive: true, force: true });
    expect(await blogGet("/media/kept.txt")).toMatchObject({ status: 200, body: "backed-up" });
  });
});

/** Capability numbers of linux/capability.h, for reading CapBnd and CapEff masks. */
const CAP_NUMBERS: Record<string, number> = { chown: 0, dac_override: 1, dac_read_search: 2, fowner: 3, fsetid: 4, kill: 5, setgid: 6, setuid: 7, setpcap: 8, net_bind_service: 10, net_admin: 12, sys_module: 16, sys_rawio: 17, sys_chroot: 18, sys_ptrace: 19, sys_admin: 21, sys_boot: 22, sys_time: 25, mknod: 27, audit_write: 29 };
const capsOf = (mask: string) => Object.keys(CAP_NUMBERS).filter((c) => (BigInt(`0x${mask}`) >> BigInt(CAP_NUMBERS[c]!)) & 1n);

/** A python3 snippet run as root in the web host. */
const py = (code: string, ...args: string[]) => asRoot("python3", "-c", code, ...args);

describe.sequential("root in a host is not root on the machine", () => {
  it("root in a host is an unprivileged id range of the machine's: what it writes is owned by that range", async () => {
    const host = web();
    const base = hostIdBase({ dir: join(envLayout(STACK).hostsDir, host.name) });
    const map = (await asRoot("cat", "/proc/self/uid_map")).stdout.trim().split(/\s+/).map(Number);
    expect(map).toEqual([0, base, HOST_ID_COUNT]);
    expect(base).toBeGreaterThanOrEqual(2 ** 30);
    expect((await asRoot("sh", "-c", "id -u && touch /root/made-by-root")).stdout.trim()).toBe("0");
    const made = statSync(join(hostDirs({ dir: join(envLayout(STACK).hostsDir, host.name) }).upper, "root/made-by-root"));
    expect([made.uid, made.gid]).toEqual([base, base]);
  });

  it("root in a host cannot write outside its tree: no mount, no remount, no device node, no kernel setting, no chroot way out", async () => {
    const tries: Record<string, string[]> = {
      "mount a proc": ["mount", "-t", "proc", "proc", "/mnt"],
      "remount /sys read-write": ["mount", "-o", "remount,rw", "/sys"],
      "uncover what the secrets dir hides": ["umount", "-l", "/var/lib/fawkes/secrets"],
      "the machine's core_pattern (a program the kernel runs as the machine's root)": ["sh", "-c", "echo '|/tmp/x' > /proc/sys/kernel/core_pattern"],
      "a device node of the machine's disk": ["mknod", "/root/disk", "b", "254", "0"],
      "its own network settings": ["ip", "link", "set", "eth0", "down"],
      "a route out": ["ip", "route", "add", "default", "dev", "eth0"],
      "a chroot": ["chroot", "/", "true"],
    };
    for (const [what, argv] of Object.entries(tries)) {
      const r = await asRoot(...argv);
      expect(r.exitCode, `${what}: ${r.all}`).not.toBe(0);
    }
    expect((await asRoot("sh", "-c", "grep -c . /proc/sys/kernel/core_pattern")).exitCode).toBe(0);
    expect(readFileSync("/proc/sys/kernel/core_pattern", "utf8")).not.toContain("/tmp/x");
  });

  it("root in a host holds only the host's capabilities, never the module loader's, and cannot load a module", async () => {
    const status = (await asRoot("cat", "/proc/1/status")).stdout;
    const bounding = capsOf(/^CapBnd:\s+(\S+)/m.exec(status)![1]!);
    expect(bounding.sort()).toEqual(Object.keys(CAP_NUMBERS).filter((c) => (HOST_CAPS as readonly string[]).includes(c)).sort());
    for (const cap of ["sys_module", "sys_rawio", "sys_boot", "sys_time", "mknod", "net_admin", "sys_ptrace", "sys_chroot"]) expect(bounding).not.toContain(cap);
    // finit_module on a file of the host: refused (EPERM; ENOSYS where the kernel has no modules at all).
    const r = await py("import ctypes, os, platform; l = ctypes.CDLL(None, use_errno=True); n = {'x86_64': 313, 'aarch64': 273}[platform.machine()]; fd = os.open('/etc/hostname', os.O_RDONLY); print(l.syscall(n, fd, b'', 0), ctypes.get_errno())");
    const [rc, errno] = r.stdout.trim().split(" ").map(Number);
    expect(rc).toBe(-1);
    expect([1, 38]).toContain(errno);
  });

  it("root in a host sees its own processes only, not the machine's", async () => {
    const marker = `${process.pid}${Date.now() % 100000}`;
    const sleeper = spawn("sleep", [`${marker}.5`], { stdio: "ignore" });
    try {
      const inside = (await py("import os\nfor p in os.listdir('/proc'):\n    if p.isdigit():\n        try: print(open(f'/proc/{p}/cmdline').read().replace('\\0', ' '))\n        except OSError: pass")).stdout;
      expect(inside).toContain("supervisord");
      expect(inside).not.toContain(marker);
      expect(inside).not.toContain("vitest");
    } finally {
      sleeper.kill();
    }
  });

  it("a host reaches its peers and nothing of the machine's: not the bridge address, not the machine's other addresses", async () => {
    const server = createServer((s) => s.end("machine\n"));
    await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const connect = (host: string, p: number) => py("import socket, sys\ntry:\n    socket.create_connection((sys.argv[1], int(sys.argv[2])), 3).close(); print('open')\nexcept OSError as e: print('refused', e)", host, String(p));
      const state = readState(envLayout(STACK).state)!;
      const gateway = `${state.subnet.split(".").slice(0, 3).join(".")}.1`;
      // The db host, a peer: reached.
      expect((await connect(state.database!.ip, 5432)).stdout).toContain("open");
      const machine = Object.values(networkInterfaces()).flat().filter((a) => a !== undefined && a.family === "IPv4" && !a.internal && !a.address.startsWith("10.231.")).map((a) => a!.address);
      for (const address of [gateway, ...machine]) {
        const r = await connect(address, port);
        expect(r.stdout, `${address}:${port}`).toMatch(/^refused/);
      }
    } finally {
      server.close();
    }
  });
});
