import { closeSync, existsSync, lchownSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { DB_DATA_ROOT, shellWord as q } from "../render/index.ts";
import { HOST_ID_COUNT, type HostSlot } from "./layout.ts";
import { INIT_PATH, localSeed, type HostFile } from "./host-seed.ts";
import { netnsInode, nsInode, pids, procFile, processes, terminate } from "./proc.ts";

export interface HostMounts {
  rootfs: string;
  /** The machine's artifact store (S3's stand-in): local hosts only; a twin's instances read S3. */
  artifacts?: string;
  /** The machine's verified, unpacked releases (src/local/unpacked.ts): app hosts only. */
  unpacked?: string;
  /** SSM's stand-in: local hosts only. */
  secrets?: string;
  /** The environment's lock dir (root's): local hosts only. */
  locks?: string;
  /** The stack's backup dir on the machine (it outlives the environment). */
  backups?: string;
  /** The environment's database dir on the machine: the db host's only. */
  database?: string;
  /** Per app on this host: the environment's shared dir of that app on the machine. */
  shared: Record<string, string>;
  /** The twin's EFS file system on the machine: its services host exports it over NFS. */
  efs?: string;
}

/** What a local host is: a name, a dir on the machine (its disk), an address and a namespace. */
export type HostBox = Pick<HostSlot, "name" | "dir" | "ip" | "netns" | "veth">;

export function hostDirs(slot: Pick<HostSlot, "dir">) {
  return { lower: join(slot.dir, "lower"), upper: join(slot.dir, "upper"), work: join(slot.dir, "work"), merged: join(slot.dir, "merged"), console: join(slot.dir, "console.log") };
}

/** The machine's dirs bind-mounted into a host, at the paths its bootstrap's local adapter reads. */
export function hostBinds(m: HostMounts): Array<{ source: string; target: string; readOnly: boolean }> {
  return [
    ...(m.artifacts === undefined ? [] : [{ source: m.artifacts, target: "var/lib/fawkes/store", readOnly: true }]),
    ...(m.unpacked === undefined ? [] : [{ source: m.unpacked, target: "var/lib/fawkes/unpacked", readOnly: true }]),
    ...(m.secrets === undefined ? [] : [{ source: m.secrets, target: "var/lib/fawkes/secrets", readOnly: false }]),
    ...(m.locks === undefined ? [] : [{ source: m.locks, target: "var/lib/fawkes/locks", readOnly: false }]),
    ...(m.backups === undefined ? [] : [{ source: m.backups, target: "var/lib/fawkes/backups", readOnly: false }]),
    ...(m.database === undefined ? [] : [{ source: m.database, target: DB_DATA_ROOT.slice(1), readOnly: false }]),
    ...(m.efs === undefined ? [] : [{ source: m.efs, target: "srv/efs", readOnly: false }]),
    ...Object.entries(m.shared).map(([app, dir]) => ({ source: dir, target: `srv/apps/${app}/shared`, readOnly: false })),
  ];
}

/**
 * What the machine a host is looks like from inside, beyond its disk: the environment pid 1
 * starts with (nothing of the machine's own), and on a twin instance the hypervisor's UUID that
 * names the cloud (cloud-init's Ec2 datasource reads /sys/hypervisor/uuid: "ec2..." is AWS).
 */
export interface HostPlatform {
  env?: Record<string, string>;
  hypervisorUuid?: string;
  /**
   * A local host's boundary: its own user namespace, root inside being `idBase` outside (the
   * golden image and the machine's dirs bound in through idmapped mounts), and the capabilities
   * of HOST_CAPS only. Without it (a twin's instance, which stands for an EC2 VM whose root is
   * the VM's), pid 1 is the machine's root with every capability, as an instance's root is.
   */
  idBase?: number;
}

/**
 * The capabilities root keeps in a local host (the bounding set of every process there), each of
 * them over the host's own user namespace only: what cloud-init, supervisord, nginx, runuser and
 * the bootstrap's chown, install and overlay mounts use. No module loading, raw I/O, clock, reboot,
 * device nodes, tracing or network administration: the network namespace is the machine's.
 */
export const HOST_CAPS = ["chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap", "net_bind_service", "sys_admin", "audit_write"] as const;

/** The machine's own python3 runs the kernel calls Debian 12's tools do not make (src/local/host-launch.py). */
const MACHINE_PYTHON = "/usr/bin/python3";
export const HOST_LAUNCH = join(import.meta.dirname, "host-launch.py");

/** The PATH Debian's systemd gives the services it starts: pid 1 of a host starts with it. */
export const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * /sys of a host: the kernel's sysfs, read-only. A twin instance's is a read-only tmpfs holding
 * the kernel's sysfs dirs (bound from a sysfs mounted in the host's network namespace, so
 * /sys/class/net lists its own interfaces) and hypervisor/uuid, which this kernel lacks.
 */
function sysfsLines(platform: HostPlatform): string[] {
  if (platform.hypervisorUuid === undefined) return ['mount -t sysfs -o ro sysfs "$M/sys"'];
  if (!/^ec2[0-9a-f-]{33}$/.test(platform.hypervisorUuid)) throw new Error(`hypervisor UUID ${JSON.stringify(platform.hypervisorUuid)} is not an EC2 one (ec2 and 33 hex digits or dashes)`);
  return [
    'S=$(mktemp -d /tmp/fawkes-sysfs.XXXXXX)',
    'mount -t sysfs -o ro sysfs "$S"',
    'mount -t tmpfs -o mode=0755 tmpfs "$M/sys"',
    'for d in "$S"/*; do mkdir "$M/sys/${d##*/}"; mount --rbind "$d" "$M/sys/${d##*/}"; done',
    `mkdir "$M/sys/hypervisor" && printf '%s\n' ${q(platform.hypervisorUuid)} >"$M/sys/hypervisor/uuid"`,
    'mount -o remount,ro "$M/sys"',
  ];
}

/**
 * What runs in the host's new pid and mount namespaces (the machine's root still) before pid 1:
 * the overlay over the golden image, the stand-ins of S3, SSM and EFS bound where the bootstrap's
 * local adapter looks, the kernel filesystems (/proc/sys and /sys read-only), the host's /run and
 * /dev. With an `idBase`, the image and every bound dir come in through idmapped mounts, so the
 * host's root owns them and the machine's root does not become the host's. All in a private
 * mount namespace: they vanish with it. Then host-launch.py `enter` makes the host: its user, UTS
 * and IPC namespaces, pivot_root, the bounded capabilities, and pid 1 started with PATH and the
 * platform's variables only, nothing of the machine's environment.
 */
export function launchScript(slot: Pick<HostSlot, "name" | "dir">, m: HostMounts, platform: HostPlatform = {}, init = INIT_PATH): string {
  const d = hostDirs(slot);
  const env = Object.entries({ PATH: HOST_PATH, ...platform.env }).map(([k, v]) => {
    if (!ENV_NAME.test(k)) throw new Error(`${k} is not an environment variable name`);
    return q(`${k}=${v}`);
  });
  const base = platform.idBase;
  if (base !== undefined && !(Number.isInteger(base) && base >= HOST_ID_COUNT && base + HOST_ID_COUNT <= 2 ** 31)) throw new Error(`host id base ${base} is not in ${HOST_ID_COUNT}..2^31-${HOST_ID_COUNT}`);
  const launch = (...words: string[]) => [MACHINE_PYTHON, HOST_LAUNCH, ...words].map(q).join(" ");
  const owned = base === undefined ? "" : `,uid=${base},gid=${base}`;
  const binds = hostBinds(m);
  const mountLines =
    base === undefined
      ? [
          `mount -t overlay overlay -o ${q(`lowerdir=${m.rootfs},upperdir=${d.upper},workdir=${d.work}`)} "$M"`,
          ...binds.flatMap((b) => [`mount --bind ${q(b.source)} "$M/${b.target}"`, ...(b.readOnly ? [`mount -o remount,bind,ro "$M/${b.target}"`] : [])]),
        ]
      : [
          launch("idmap", String(base), String(HOST_ID_COUNT), m.rootfs, d.lower, "ro"),
          `mount -t overlay overlay -o ${q(`lowerdir=${d.lower},upperdir=${d.upper},workdir=${d.work}`)} "$M"`,
          ...(binds.length === 0 ? [] : [launch("idmap", String(base), String(HOST_ID_COUNT), ...binds.flatMap((b) => [b.source, join(d.merged, b.target), b.readOnly ? "ro" : "rw"]))]),
        ];
  const caps = base === undefined ? "all" : HOST_CAPS.join(",");
  const lines = [
    "set -euo pipefail",
    `M=${q(d.merged)}`,
    ...mountLines,
    'mount -t proc proc "$M/proc"',
    'mount --bind "$M/proc/sys" "$M/proc/sys" && mount -o remount,bind,ro "$M/proc/sys"',
    ...sysfsLines(platform),
    `mount -t tmpfs -o mode=0755${owned} tmpfs "$M/run"`,
    `mount -t tmpfs -o mode=0755${owned} tmpfs "$M/dev"`,
    'for n in null zero full random urandom tty; do touch "$M/dev/$n"; mount --bind "/dev/$n" "$M/dev/$n"; done',
    `mkdir -p "$M/dev/shm" "$M/dev/pts" && mount -t tmpfs -o mode=1777${owned} tmpfs "$M/dev/shm"`,
    'ln -s /proc/self/fd "$M/dev/fd"',
    `exec ${launch("enter", d.merged, slot.name, caps, String(base ?? 0), String(base === undefined ? 0 : HOST_ID_COUNT), "--", init)} ${env.join(" ")}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** Fresh upper dir of a local host: its seed, mount points, owned by the host's root. */
export function prepareHost(slot: Pick<HostSlot, "name" | "dir">, mounts: HostMounts, userData: Uint8Array, bootId: string, idBase?: number): void {
  prepareDisk(slot, mounts, localSeed(slot, userData, bootId), bootId, idBase);
}

/**
 * Fresh upper dir: the files a host starts with over its image, and the mount points of its binds.
 * With an `idBase` every entry made here is the host root's (`idBase` on disk): the dirs made on
 * the way (/var, /etc) hide the image's own in the overlay, and a host's root may not touch what
 * the machine's root owns.
 */
export function prepareDisk(slot: Pick<HostSlot, "name" | "dir">, mounts: HostMounts, files: readonly HostFile[], bootId: string, idBase?: number): void {
  const d = hostDirs(slot);
  // The old host's disk goes away in the background: a new host does not wait for 10,000 unlinks.
  if (existsSync(slot.dir)) {
    const trash = `${slot.dir}.old-${bootId}`;
    renameSync(slot.dir, trash);
    void rm(trash, { recursive: true, force: true });
  }
  for (const dir of [d.lower, d.upper, d.work, d.merged]) mkdirSync(dir, { recursive: true });
  const put = (path: string, content: string | Uint8Array, mode = 0o644) => {
    mkdirSync(join(d.upper, path, ".."), { recursive: true });
    writeFileSync(join(d.upper, path), content, { mode });
  };
  for (const f of files) put(f.path, f.content, f.mode);
  for (const b of hostBinds(mounts)) mkdirSync(join(d.upper, b.target), { recursive: true });
  if (idBase !== undefined) chownTree(d.upper, idBase);
}

/** lchown of a tree fawkes just made (no link in it but those it wrote), to one owner. */
function chownTree(dir: string, id: number): void {
  lchownSync(dir, id, id);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) chownTree(join(dir, e.name), id);
    else lchownSync(join(dir, e.name), id, id);
  }
}

/** Starts the host detached from this process: it outlives `fawkes local up`. Returns pid 1's pid. */
export async function startHost(slot: HostBox, mounts: HostMounts, platform: HostPlatform = {}, init = INIT_PATH): Promise<{ launcher: number; init: number }> {
  const d = hostDirs(slot);
  const out = openSync(d.console, "a");
  const argv = ["netns", "exec", slot.netns, "unshare", "--pid", "--mount", "--mount-proc", "--fork", "--kill-child", "--propagation", "private", "--", "/bin/bash", "-c", launchScript(slot, mounts, platform, init)];
  // A daemon, not a command: node's spawn with its own session, so it outlives this process.
  const child = spawn("ip", argv, { detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  const launcher = child.pid;
  if (launcher === undefined) throw new Error(`${slot.name}: could not start ip netns exec`);
  child.unref();
  // The launcher's child is the host's pid 1 from its first instruction; it is the host once it
  // has left the launcher's UTS namespace (host-launch.py enter), its mounts all made.
  for (let i = 0; i < 200; i++) {
    const init = childOf(launcher);
    if (init !== undefined && nsInode(init, "uts") !== undefined && nsInode(init, "uts") !== nsInode(launcher, "uts")) return { launcher, init };
    if (!existsSync(`/proc/${launcher}`) || readFileSync(`/proc/${launcher}/stat`, "utf8").includes(") Z ")) break;
    await sleep(50);
  }
  const log = existsSync(d.console) ? readFileSync(d.console, "utf8").split("\n").slice(-10).join("\n") : "";
  throw new Error(`${slot.name}: the host did not start (${d.console}):\n${log}`);
}

export function childOf(pid: number): number | undefined {
  return pids().find((p) => {
    const stat = procFile(p, "stat");
    return stat !== undefined && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
  });
}

/** Is `pid` the pid 1 of this host (alive, pid 1 of its own pid namespace, in the slot's network namespace)? */
export function isHostInit(pid: number | undefined, slot: Pick<HostSlot, "netns">): boolean {
  if (pid === undefined) return false;
  const net = netnsInode(slot.netns);
  const nspid = /^NSpid:\s+(.*)$/m.exec(procFile(pid, "status") ?? "")?.[1]?.trim().split(/\s+/);
  return net !== undefined && nsInode(pid, "net") === net && nspid !== undefined && nspid.length > 1 && nspid.at(-1) === "1";
}

/**
 * Runs a command inside a running host: all its namespaces and its root. Where the host has its own
 * user namespace the command is the host's root, not the machine's, and holds no capability the
 * host's processes lack (nsenter's own bounding set is the machine's).
 */
export function inHost(init: number, argv: string[], opts: { timeoutMs?: number } = {}) {
  return execa("nsenter", inHostArgv(init, argv), { reject: false, all: true, timeout: opts.timeoutMs ?? 60_000 });
}

/** nsenter's arguments for a command in the host whose pid 1 is `init`. */
export function inHostArgv(init: number, argv: readonly string[]): string[] {
  const ownUsers = nsInode(init, "user") !== nsInode(process.pid, "user");
  const bounded = ownUsers ? ["setpriv", "--bounding-set", ["-all", ...HOST_CAPS.map((c) => `+${c}`)].join(","), "--"] : [];
  return ["-t", String(init), ...(ownUsers ? ["-U"] : []), "-m", "-u", "-i", "-n", "-p", "-r", "-w", ...bounded, ...argv];
}

/** Stops a host: TERM to its pid 1, which stops everything in it; KILL after `graceMs`. */
export async function stopHost(init: number | undefined, launcher: number | undefined, graceMs = 10_000): Promise<void> {
  const signal = (pid: number | undefined, sig: NodeJS.Signals) => {
    if (pid === undefined) return;
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  };
  signal(init, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (init !== undefined && existsSync(`/proc/${init}`) && Date.now() < deadline) await sleep(100);
  signal(init, "SIGKILL");
  signal(launcher, "SIGKILL");
}

/**
 * Stops a host by the pids its record names only when they still are that host (a record can
 * outlive its processes: a reboot, a crash), then whatever still runs in the slot's network
 * namespace (a boot that was cut short before its pids were recorded).
 */
export async function stopRecordedHost(h: { init?: number; launcher?: number; netns: string }, slot: Pick<HostSlot, "dir" | "netns"> | undefined): Promise<void> {
  const init = slot && isHostInit(h.init, slot) ? h.init : undefined;
  const launcher = h.launcher !== undefined && (procFile(h.launcher, "cmdline") ?? "").includes(h.netns) ? h.launcher : undefined;
  await stopHost(init, launcher);
  const net = slot && netnsInode(slot.netns);
  if (net === undefined) return;
  await terminate(() => processes().filter((p) => nsInode(p.pid, "net") === net), 3000);
}
