import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";

export interface HaproxyPaths {
  dir: string;
  config: string;
  socket: string;
  pidfile: string;
  log: string;
}

export function haproxyPaths(dir: string): HaproxyPaths {
  return { dir, config: join(dir, "haproxy.cfg"), socket: join(dir, "admin.sock"), pidfile: join(dir, "haproxy.pid"), log: join(dir, "haproxy.log") };
}

/** One command on HAProxy's runtime API (stats socket, level admin); returns its answer. */
export function runtimeCommand(socket: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let out = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`HAProxy runtime API (${socket}) did not answer "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on("connect", () => conn.end(`${command}\n`));
    conn.on("data", (d) => (out += d.toString()));
    conn.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    conn.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

export interface ServerStat {
  backend: string;
  server: string;
  /** UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/2"... as HAProxy says it. */
  status: string;
  /** Sessions open right now. */
  current: number;
  total: number;
  /** Answers with a 5xx status this server has given since HAProxy started. */
  http5xx: number;
  /** The last health check's result (L7OK, L4CON, ...). */
  checkStatus: string;
  /** A health check is running right now (HAProxy's `* ` before check_status; the result above is the last one's). */
  checking: boolean;
}

/** `show stat` (CSV) parsed to the per-server rows. */
export function parseStat(csv: string): ServerStat[] {
  const [header, ...rows] = csv.trim().split("\n");
  if (!header?.startsWith("# ")) return [];
  const cols = header.slice(2).split(",");
  const at = (row: string[], name: string) => row[cols.indexOf(name)] ?? "";
  return rows
    .map((r) => r.split(","))
    .filter((r) => at(r, "svname") !== "FRONTEND" && at(r, "svname") !== "BACKEND")
    .map((r) => ({ backend: at(r, "pxname"), server: at(r, "svname"), status: at(r, "status"), current: Number(at(r, "scur")), total: Number(at(r, "stot")), http5xx: Number(at(r, "hrsp_5xx")), ...checkStatusOf(at(r, "check_status")) }));
}

/** check_status "* L7OK": a check in progress, the last one L7OK. Sampled at 5 checks a second, a reader often sees the star. */
function checkStatusOf(raw: string): { checkStatus: string; checking: boolean } {
  return raw.startsWith("* ") ? { checkStatus: raw.slice(2), checking: true } : { checkStatus: raw, checking: false };
}

export async function serverStats(socket: string): Promise<ServerStat[]> {
  return parseStat(await runtimeCommand(socket, "show stat"));
}

/** Sets every backend's server `host` to a state: ready, drain or maint. */
export async function setHostState(socket: string, backends: readonly string[], host: string, state: "ready" | "drain" | "maint"): Promise<void> {
  for (const b of backends) {
    const answer = (await runtimeCommand(socket, `set server ${b}/${host} state ${state}`)).trim();
    if (answer !== "") throw new Error(`HAProxy refused "set server ${b}/${host} state ${state}": ${answer}`);
  }
}

/** Waits until HAProxy's own checks see `host` UP in every backend: true, or what they see at the deadline. */
export async function untilUp(socket: string, backends: readonly string[], host: string, timeoutMs: number): Promise<true | string> {
  await setHostState(socket, backends, host, "ready");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = (await serverStats(socket)).filter((s) => s.server === host && backends.includes(s.backend));
    if (rows.length === backends.length && rows.every((r) => r.status === "UP")) return true;
    if (Date.now() > deadline) return rows.map((r) => `${r.backend} ${r.status} ${r.checkStatus}`).join(", ") || `no server ${host}`;
    await sleep(50);
  }
}

/** Drains a host: no new requests, in-flight ones finish; resolves when none is left or at the deadline. */
export async function drainHost(socket: string, backends: readonly string[], host: string, timeoutMs = 30_000): Promise<{ drained: boolean; left: number }> {
  await setHostState(socket, backends, host, "drain");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await serverStats(socket)).filter((s) => s.server === host && backends.includes(s.backend)).reduce((n, s) => n + s.current, 0);
    if (left === 0) return { drained: true, left };
    if (Date.now() > deadline) return { drained: false, left };
    await sleep(100);
  }
}

export function haproxyPid(paths: HaproxyPaths): number | undefined {
  if (!existsSync(paths.pidfile)) return undefined;
  const pid = Number(readFileSync(paths.pidfile, "utf8").trim().split("\n")[0]);
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    // EPERM: it runs, as another user (root's HAProxy seen by `maintenance status` as a user).
    return (e as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

/** Is 127.0.0.1:port free? HAProxy would otherwise fail to bind, after we changed things. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** Checks the config with `haproxy -c`, then starts HAProxy (master-worker, detached) or reloads it. */
export async function startOrReloadHaproxy(paths: HaproxyPaths, config: string): Promise<"started" | "reloaded" | "unchanged"> {
  mkdirSync(paths.dir, { recursive: true });
  const running = haproxyPid(paths);
  const same = existsSync(paths.config) && readFileSync(paths.config, "utf8") === config;
  if (running !== undefined && same) return "unchanged";
  const candidate = `${paths.config}.new`;
  writeFileSync(candidate, config);
  const check = await execa("haproxy", ["-c", "-q", "-f", candidate], { reject: false, all: true });
  if (check.exitCode !== 0) throw new Error(`haproxy -c rejected the rendered config ${candidate}:\n${check.all}`);
  writeFileSync(paths.config, config);
  if (running !== undefined) {
    const before = workerPid(await runtimeCommand(paths.socket, "show info"));
    process.kill(running, "SIGUSR2");
    // The old worker keeps answering on the socket until the new one has taken it over.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = await runtimeCommand(paths.socket, "show info", 1000).then(workerPid, () => undefined);
      if (now !== undefined && now !== before) return "reloaded";
      if (Date.now() > deadline) throw new Error(`HAProxy did not reload ${paths.config} within 10 s (${paths.log})`);
      await sleep(100);
    }
  }
  const out = openSync(paths.log, "a");
  const child = spawn("haproxy", ["-W", "-db", "-f", paths.config, "-p", paths.pidfile], { detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  child.unref();
  await waitForSocket(paths.socket, 5000);
  return "started";
}

function workerPid(info: string): string | undefined {
  return /^Pid: (\d+)$/m.exec(info)?.[1];
}

async function waitForSocket(socket: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await runtimeCommand(socket, "show info", 1000);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`HAProxy's runtime API ${socket} did not come up: ${(e as Error).message}`, { cause: e });
      await sleep(100);
    }
  }
}

/** Writes the files HAProxy reads beside its config (maintenance pages and list, server addresses) whole, each by a rename: HAProxy never reads half of one. */
export function writeHaproxyFiles(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    if (existsSync(path) && readFileSync(path, "utf8") === text) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
    renameSync(`${path}.tmp`, path);
  }
}

/** The apps the running HAProxy has in its maintenance list (`show acl <file>`: `0x55... shop` lines). */
export async function maintenanceList(socket: string, list: string): Promise<string[]> {
  const answer = await runtimeCommand(socket, `show acl ${list}`);
  if (/Unknown ACL identifier/i.test(answer)) throw new Error(`HAProxy (${socket}) runs a config without maintenance rules; fawkes local up reloads it with them`);
  return answer
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[1])
    .filter((a): a is string => a !== undefined && a !== "");
}

/**
 * Makes the running HAProxy's maintenance list exactly `apps` through its runtime API: no reload,
 * so no connection of any app is dropped and no server leaves rotation. The list file on disk is
 * what a reload reads; write it first (writeHaproxyFiles).
 */
export async function syncMaintenance(socket: string, list: string, apps: readonly string[]): Promise<{ added: string[]; removed: string[] }> {
  const now = await maintenanceList(socket, list);
  const added = apps.filter((a) => !now.includes(a));
  const removed = now.filter((a) => !apps.includes(a));
  for (const [verb, app] of [...added.map((a) => ["add", a] as const), ...removed.map((a) => ["del", a] as const)]) {
    const answer = (await runtimeCommand(socket, `${verb} acl ${list} ${app}`)).trim();
    if (answer !== "" && !(verb === "del" && answer === "Key not found.")) throw new Error(`HAProxy refused "${verb} acl ${list} ${app}": ${answer}`);
  }
  return { added, removed };
}
