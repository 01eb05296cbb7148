import { statSync } from "node:fs";
import { dirname } from "node:path";
import { execa } from "execa";
import { buildPinnedIfMissing } from "../../artifact/index.ts";
import { loadStack } from "../../config/index.ts";
import { appLogFiles, envLayout, localDown, localRebuild, localStatus, localUp, LocalTargetError, type UpResult } from "../../local/index.ts";
import { UsageError, type Command, type Io, type Options } from "../command.ts";
import { printOutcome } from "./release.ts";
import { findProjectRoot } from "../project-root.ts";

const stackOption: Options = { stack: { type: "string", kind: "stack" } };
const stackOf = (values: Record<string, unknown>) => (typeof values.stack === "string" ? values.stack : "dev");
const progress = (io: Io) => (m: string) => io.err(`${m}\n`);
/** ", booted in 1.2 s (local 0.05, network 0.10, config 0.02, final 0.95)": cloud-init's stages, as the host's pid 1 released them. */
const booted = (h: { bootSeconds?: number; bootStages?: Record<string, number> }) =>
  h.bootSeconds === undefined
    ? ""
    : `, booted in ${h.bootSeconds.toFixed(1)} s${h.bootStages ? ` (${Object.entries(h.bootStages).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")})` : ""}`;

export const localUpCmd: Command = {
  name: "local up",
  summary: "Boot a stack's hosts on this machine from the same user-data as AWS; print each app's URL.",
  usage: "fawkes local up [--stack S] [--port P] [--json]",
  help: `Builds the golden image once, then per host: an overlay over it, its own pid, mount, uts,
ipc and network namespaces, booted by real cloud-init from a NoCloud seed holding exactly the
launch template's user-data. A pinned release missing from the local store is built first when
this checkout's HEAD is its source. HAProxy on 127.0.0.1 routes by Host header (<app>.<stack>.localhost)
and puts a host in rotation only once it answers its health path. Idempotent: a healthy host
whose user-data is unchanged is left alone. Needs root.

Flags:
  --stack S   the stack (default dev)
  --port P    the load balancer's port on 127.0.0.1 (default: kept, else the first free from 8080)
  --json      print the result as JSON

Hosts whose user-data changed (a catalogue or knob change) are replaced by the stack's rollout
policy: new hosts beside the old, canary first, health gate, then drain and stop of the old.

Exit codes: 0 every host healthy; 1 a host failed (it stays out of rotation: see
fawkes local status) or the machine cannot run hosts; 2 usage; 3 another command holds the
stack's deploy lock (fawkes lock status).`,
  options: { ...stackOption, port: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const root = findProjectRoot(io.cwd, values.project);
    const spec = loadStack(root, stackOf(values));
    if (process.getuid?.() === 0) await buildPinnedIfMissing(root, spec, progress(io));
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new UsageError(`--port ${String(values.port)}: not a port number`);
    const r = await localUp(spec, { port, progress: progress(io) });
    return printUp(io, r, { json: values.json === true, title: spec.stack });
  },
};

/** The outcome of an `up` (local or QA): hosts booted, URLs, failures; the exit code. */
export function printUp(io: Io, r: UpResult, opts: { json: boolean; title: string; releases?: Record<string, string>; extra?: object }): number {
  const stack = r.state.stack;
  if (opts.json) {
    io.out(`${JSON.stringify({ stack, ...opts.extra, port: r.state.port, urls: r.urls, replaced: r.replaced, unchanged: r.unchanged, failed: r.failed }, null, 2)}\n`);
  } else {
    io.out(`${opts.title}: ${r.replaced.length} hosts booted, ${r.unchanged.length} unchanged, ${r.failed.length} failed\n`);
    for (const [app, url] of Object.entries(r.urls)) io.out(`  ${app}: ${url}${opts.releases?.[app] ? ` (release ${opts.releases[app]})` : ""}\n`);
    for (const f of r.failed) io.out(`  FAILED ${f.name} at step ${f.failedStep}: see fawkes local status --stack ${stack}\n`);
  }
  return r.failed.length === 0 ? 0 : 1;
}

export const localStatusCmd: Command = {
  name: "local status",
  summary: "Hosts of a local stack: role, address, apps and releases, health, rotation, boot time.",
  usage: "fawkes local status [--stack S] [--json]",
  help: "Exit codes: 0 printed (whatever the health); 2 usage.",
  options: { ...stackOption, json: { type: "boolean" } },
  async run({ values }, io) {
    const s = await localStatus(stackOf(values));
    if (values.json) {
      io.out(`${JSON.stringify(s, null, 2)}\n`);
      return 0;
    }
    if (!s.up) {
      io.out(`${s.stack}: not up locally\n`);
      return 0;
    }
    io.out(`${s.stack}: load balancer ${s.loadBalancer} on 127.0.0.1:${s.port}\n`);
    for (const h of s.hosts) {
      const health = h.healthy ? (h.running ? "healthy" : "STOPPED") : `FAILED at ${h.failedStep}${h.running ? "" : " (stopped; its logs are kept)"}`;
      const rotation = Object.entries(h.rotation).map(([a, st]) => `${a} ${st}`).join(", ");
      io.out(`  ${h.name.padEnd(20)} ${h.role.padEnd(7)} ${h.ip.padEnd(15)} ${health}${booted(h)}\n`);
      io.out(`    releases: ${Object.entries(h.releases).map(([a, r]) => `${a}@${r}`).join(", ")}${rotation ? `; rotation: ${rotation}` : ""}\n`);
      if (!h.healthy && h.detail) io.out(`    ${h.detail.split("\n").join("\n    ")}\n`);
    }
    const db = s.database;
    if (db) {
      const health = db.healthy ? (db.running ? "healthy" : "STOPPED") : `FAILED at ${db.failedStep}`;
      io.out(`  ${db.name.padEnd(20)} ${"db".padEnd(7)} ${db.ip.padEnd(15)} ${health}${booted(db)}\n`);
      io.out(`    PostgreSQL; its data outlives the host: ${envLayout(s.stack).databaseDir}\n`);
      if (!db.healthy && db.detail) io.out(`    ${db.detail.split("\n").join("\n    ")}\n`);
    }
    return 0;
  },
};

/** nobody's uid on Debian: owns no file of a host. */
const NOBODY = 65534;

/**
 * `argv` as nobody in the app's groups (the group of its log dir on each host: each host's user
 * namespace maps it to an id of its own), not as root: it reads the app's logs and nothing a link
 * in them could lead to. Every dir above them must let others pass.
 */
function asAppGroups(groups: readonly number[], files: readonly string[], argv: readonly string[]): string[] {
  for (const file of files) {
    for (let dir = dirname(file); dir !== "/"; dir = dirname(dir)) {
      const st = statSync(dir);
      if (!groups.includes(st.gid) && (st.mode & 0o001) === 0) throw new LocalTargetError(`local logs reads an app's logs as nobody in the app's group, and ${dir} (mode ${(st.mode & 0o777).toString(8)}) lets no other user through; allow it: chmod o+x ${dir}`);
    }
  }
  return ["setpriv", `--reuid=${NOBODY}`, `--regid=${groups[0]}`, `--groups=${groups.join(",")}`, "--", ...argv];
}

export const localLogsCmd: Command = {
  name: "local logs",
  summary: "Print (or follow) an app's logs on the hosts of a local stack.",
  usage: "fawkes local logs APP [--stack S] [--host H] [--follow]",
  help: "Exit codes: 0 printed; 1 no such app or host; 2 usage.",
  options: { ...stackOption, host: { type: "string", kind: "host" }, follow: { type: "boolean", short: "f" } },
  positionals: { min: 1, max: 1, args: [{ name: "APP", kind: "app" }] },
  async run({ values, positionals }, io) {
    const { files, groups } = appLogFiles(stackOf(values), positionals[0]!, values.host as string | undefined);
    if (files.length === 0 || groups.length === 0) {
      io.err(`no logs of ${positionals[0]} on ${String(values.host ?? "any host")} of ${stackOf(values)}\n`);
      return 1;
    }
    const tail = ["tail", values.follow ? "-F" : "-n200", "-v", ...files];
    const argv = process.getuid?.() === 0 ? asAppGroups(groups, files, tail) : tail;
    const r = await execa(argv[0]!, argv.slice(1), { stdout: values.follow ? "inherit" : "pipe", reject: false });
    if (!values.follow) io.out(`${r.stdout}\n`);
    return 0;
  },
};

export const localRebuildCmd: Command = {
  name: "local rebuild",
  summary: "Destroy and recreate hosts: a new host boots beside each, enters rotation when healthy, then the old one is drained and stopped.",
  usage: "fawkes local rebuild (--host H | --all) [--stack S] [--json]",
  help: `Replaces hosts from the golden image, the phoenix way: each new host boots in a free slot
(the rollout's surge) beside the one it replaces, enters HAProxy only once healthy, and then the
old host is drained (no new requests, in-flight ones finish) and stopped. Without surge
(maxHealthyPercent 100) the old host is drained and stopped first. A new host that fails stays
out of rotation, stopped, with its failing step in fawkes local status and its logs kept; the
old one keeps serving. Runs under the stack's deploy lock; recorded in fawkes history.

Exit codes: 0 every host rebuilt, healthy and in rotation; 1 a new host failed (the old one still
serves, unless it had to stop first for lack of surge), or the stack is not up; 2 usage; 3 another
rollout holds the stack's deploy lock.`,
  options: { ...stackOption, host: { type: "string", kind: "host" }, all: { type: "boolean" }, json: { type: "boolean" } },
  async run({ values }, io) {
    if ((values.host === undefined) === (values.all === undefined)) throw new UsageError("give exactly one of --host H or --all");
    const spec = loadStack(findProjectRoot(io.cwd, values.project), stackOf(values));
    const entry = await localRebuild(spec, { host: values.host as string | undefined, all: values.all === true }, progress(io));
    printOutcome(io, entry, values.json === true);
    return entry.result === "succeeded" ? 0 : 1;
  },
};

export const localDownCmd: Command = {
  name: "local down",
  summary: "Remove every process, mount, namespace, interface and file of a local stack.",
  usage: "fawkes local down [--stack S]",
  help: "Works from whatever remains, also after a crash or a half-finished up.\n\nExit codes: 0 nothing of the stack is left; 2 usage.",
  options: { ...stackOption },
  async run({ values }, io) {
    if (process.getuid?.() !== 0) throw new UsageError("the local target needs root; run it with sudo");
    const c = await localDown(envLayout(stackOf(values)), progress(io));
    io.out(`${stackOf(values)}: down (${c.processes} processes, ${c.netns} namespaces, ${c.links} interfaces, ${c.mounts} mounts removed)\n`);
    return 0;
  },
};
