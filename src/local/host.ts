import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { DB_DATA_ROOT, shellWord as q } from "../render/index.ts";
import type { HostSlot } from "./layout.ts";
import { pids, procFile, procLink, processes, terminate } from "./proc.ts";

/** cloud-init settings of the local target only: the user-data stays byte for byte the AWS one. */
export const LOCAL_CLOUD_CFG = `# fawkes local target: a NoCloud seed, and only the modules that work (and matter) in a
# namespaced chroot; locale, ssh keys, growpart and resizefs have nothing to act on here.
datasource_list: [ NoCloud, None ]
cloud_init_modules: [bootcmd, write-files, set_hostname, update_hostname, update_etc_hosts, users-groups]
cloud_config_modules: [runcmd]
cloud_final_modules: [write-files-deferred, scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, final-message]
`;

/**
 * pid 1 of a local host: cloud-init's single process (`cloud-init --all-stages`, as Debian 13's
 * cloud-init-main.service starts it), each stage released in turn the way Debian's stage units do
 * it (a `start` datagram to the stage's socket, from the stage's return socket, whose answer is a
 * line of shell ending in `exit N`); then it reaps orphans until told to stop. Its boot record
 * (first line: status, start, end; then per stage: name, released, answered, exit status) is
 * written whole and renamed into place: the machine polls for it and must never read half of it.
 */
export const LOCAL_INIT = `#!/bin/bash
# fawkes local host: pid 1 in its own pid namespace.
stop() {
  kill -TERM -1 2>/dev/null
  # Up to 2 s for supervisord, nginx and the apps to stop gracefully, then the rest is killed.
  for _ in $(seq 20); do
    kill -0 -1 2>/dev/null || exit 0
    sleep 0.1
  done
  kill -KILL -1 2>/dev/null
  exit 0
}
trap stop TERM INT
mkdir -p /run/fawkes-local /run/lock
readonly LOG=/var/log/fawkes-local-boot.log SHARE=/run/cloud-init/share
start=$EPOCHREALTIME
cloud-init --all-stages </dev/null >>"$LOG" 2>&1 &
ci=$!
# Releases one stage and waits for its answer; exit status: the stage's (1 when cloud-init died first).
release() {
  local stage=$1 nc guard n
  for ((n = 0; n < 3000; n++)); do
    [[ -S $SHARE/$stage.sock ]] && break
    [[ -e /proc/$ci && $(</proc/$ci/stat) != *") Z "* ]] || break
    sleep 0.005
  done
  echo start | nc -Uu -W1 "$SHARE/$stage.sock" -s "$SHARE/$stage-return.sock" >"/run/fawkes-local/$stage.answer" 2>>"$LOG" &
  nc=$!
  wait -n "$nc" "$ci" 2>/dev/null
  if [[ -e /proc/$nc && $(</proc/$nc/stat) != *") Z "* ]]; then
    # cloud-init ended: its answer may still be on its way to nc, for at most a second.
    sleep 1 & guard=$!
    wait -n "$nc" "$guard" 2>/dev/null
    kill "$nc" "$guard" 2>/dev/null
  fi
  wait "$nc" 2>/dev/null
  [[ -s /run/fawkes-local/$stage.answer ]] || { echo "cloud-init ended before its $stage stage answered" >>"$LOG"; return 1; }
  sh "/run/fawkes-local/$stage.answer" >>"$LOG" 2>&1
}
status=0
stages=
for stage in local network config final; do
  released=$EPOCHREALTIME
  release "$stage"
  rc=$?
  ((rc == 0 || status != 0)) || status=$rc
  stages+="$stage $released $EPOCHREALTIME $rc"$'\n'
done
wait "$ci" 2>/dev/null
printf '%s %s %s\n%s' "$status" "$start" "$EPOCHREALTIME" "$stages" >/run/fawkes-local/booted.partial
mv /run/fawkes-local/booted.partial /run/fawkes-local/booted
while :; do wait -n 2>/dev/null || sleep 1; done
`;

export const INIT_PATH = "/usr/local/lib/fawkes-local/init";

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
  return { upper: join(slot.dir, "upper"), work: join(slot.dir, "work"), merged: join(slot.dir, "merged"), console: join(slot.dir, "console.log") };
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
}

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
 * What runs inside the host's new namespaces before the chroot: the overlay over the golden
 * image, the stand-ins of S3, SSM and EFS bind-mounted where the bootstrap's local adapter looks,
 * the kernel filesystems, the hostname. All in a private mount namespace: they vanish with it.
 * pid 1 starts with PATH and the platform's variables only, nothing of the machine's environment.
 */
export function launchScript(slot: Pick<HostSlot, "name" | "dir">, m: HostMounts, platform: HostPlatform = {}, init = INIT_PATH): string {
  const d = hostDirs(slot);
  const env = Object.entries({ PATH: HOST_PATH, ...platform.env }).map(([k, v]) => {
    if (!ENV_NAME.test(k)) throw new Error(`${k} is not an environment variable name`);
    return q(`${k}=${v}`);
  });
  const lines = [
    "set -euo pipefail",
    `M=${q(d.merged)}`,
    `mount -t overlay overlay -o ${q(`lowerdir=${m.rootfs},upperdir=${d.upper},workdir=${d.work}`)} "$M"`,
    ...hostBinds(m).flatMap((b) => [`mount --bind ${q(b.source)} "$M/${b.target}"`, ...(b.readOnly ? [`mount -o remount,bind,ro "$M/${b.target}"`] : [])]),
    'mount -t proc proc "$M/proc"',
    ...sysfsLines(platform),
    'mount -t tmpfs -o mode=0755 tmpfs "$M/run"',
    'mount -t tmpfs -o mode=0755 tmpfs "$M/dev"',
    'for n in null zero full random urandom tty; do touch "$M/dev/$n"; mount --bind "/dev/$n" "$M/dev/$n"; done',
    'mkdir -p "$M/dev/shm" "$M/dev/pts" && mount -t tmpfs -o mode=1777 tmpfs "$M/dev/shm"',
    'ln -s /proc/self/fd "$M/dev/fd"',
    `hostname ${q(slot.name)}`,
    `exec env -i ${env.join(" ")} chroot "$M" ${init}`,
  ];
  return `${lines.join("\n")}\n`;
}

export interface HostFile {
  path: string;
  content: string | Uint8Array;
  mode: number;
}

/** A local host's seed: exactly the launch template's user-data bytes, NoCloud, the local cloud.cfg and pid 1. */
export function localSeed(slot: Pick<HostSlot, "name">, userData: Uint8Array, bootId: string): HostFile[] {
  return [
    { path: "var/lib/cloud/seed/nocloud/user-data", content: userData, mode: 0o600 },
    { path: "var/lib/cloud/seed/nocloud/meta-data", content: `instance-id: ${slot.name}-${bootId}\nlocal-hostname: ${slot.name}\n`, mode: 0o600 },
    { path: "etc/cloud/cloud.cfg.d/90-fawkes-local.cfg", content: LOCAL_CLOUD_CFG, mode: 0o644 },
    { path: INIT_PATH.slice(1), content: LOCAL_INIT, mode: 0o755 },
  ];
}

/** Fresh upper dir of a local host: its seed, mount points. */
export function prepareHost(slot: Pick<HostSlot, "name" | "dir">, mounts: HostMounts, userData: Uint8Array, bootId: string): void {
  prepareDisk(slot, mounts, localSeed(slot, userData, bootId), bootId);
}

/** Fresh upper dir: the files a host starts with over its image, and the mount points of its binds. */
export function prepareDisk(slot: Pick<HostSlot, "name" | "dir">, mounts: HostMounts, files: readonly HostFile[], bootId: string): void {
  const d = hostDirs(slot);
  // The old host's disk goes away in the background: a new host does not wait for 10,000 unlinks.
  if (existsSync(slot.dir)) {
    const trash = `${slot.dir}.old-${bootId}`;
    renameSync(slot.dir, trash);
    void rm(trash, { recursive: true, force: true });
  }
  for (const dir of [d.upper, d.work, d.merged]) mkdirSync(dir, { recursive: true });
  const put = (path: string, content: string | Uint8Array, mode = 0o644) => {
    mkdirSync(join(d.upper, path, ".."), { recursive: true });
    writeFileSync(join(d.upper, path), content, { mode });
  };
  for (const f of files) put(f.path, f.content, f.mode);
  for (const b of hostBinds(mounts)) mkdirSync(join(d.upper, b.target), { recursive: true });
}

/** Starts the host detached from this process: it outlives `fawkes local up`. Returns pid 1's pid. */
export async function startHost(slot: HostBox, mounts: HostMounts, platform: HostPlatform = {}, init = INIT_PATH): Promise<{ launcher: number; init: number }> {
  const d = hostDirs(slot);
  const out = openSync(d.console, "a");
  const argv = ["netns", "exec", slot.netns, "unshare", "--pid", "--mount", "--uts", "--ipc", "--fork", "--kill-child", "--propagation", "private", "--", "/bin/bash", "-c", launchScript(slot, mounts, platform, init)];
  // A daemon, not a command: node's spawn with its own session, so it outlives this process.
  const child = spawn("ip", argv, { detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  const launcher = child.pid;
  if (launcher === undefined) throw new Error(`${slot.name}: could not start ip netns exec`);
  child.unref();
  // pid 1 of the host is the launcher's child once the chroot has happened.
  for (let i = 0; i < 100; i++) {
    const init = childOf(launcher);
    if (init !== undefined && procLink(init, "root") === d.merged) return { launcher, init };
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

/** Is `pid` the pid 1 of this host (alive, and rooted in the host's merged dir)? */
export function isHostInit(pid: number | undefined, slot: Pick<HostSlot, "dir">): boolean {
  return pid !== undefined && procLink(pid, "root") === hostDirs(slot).merged;
}

/** Runs a command inside a running host: all its namespaces and its root. */
export function inHost(init: number, argv: string[], opts: { timeoutMs?: number } = {}) {
  return execa("nsenter", ["-t", String(init), "-m", "-u", "-i", "-n", "-p", "-r", "-w", ...argv], { reject: false, all: true, timeout: opts.timeoutMs ?? 60_000 });
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
 * outlive its processes: a reboot, a crash), then whatever still runs rooted in the slot's disk
 * (a boot that was cut short before its pids were recorded).
 */
export async function stopRecordedHost(h: { init?: number; launcher?: number; netns: string }, slot: Pick<HostSlot, "dir"> | undefined): Promise<void> {
  const init = slot && isHostInit(h.init, slot) ? h.init : undefined;
  const launcher = h.launcher !== undefined && (procFile(h.launcher, "cmdline") ?? "").includes(h.netns) ? h.launcher : undefined;
  await stopHost(init, launcher);
  if (!slot) return;
  const inSlot = (root: string) => root === hostDirs(slot).merged || root.startsWith(`${slot.dir}/`) || root.startsWith(`${slot.dir}.old-`);
  await terminate(() => processes().filter((p) => inSlot(p.root)), 3000);
}
