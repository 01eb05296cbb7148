// The local target's db host: the environment's PostgreSQL (RDS on AWS), one host at .5 of the
// environment's subnet, booted by real cloud-init from the golden image like the others. Its
// data lives in the environment's database dir on disk, not on the host's disk: a new db host
// (changed user-data, `local rebuild --role db`) starts on the same cluster, and nothing of the
// web or worker hosts touches it.
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { DATABASE_PORT } from "../model/index.ts";
import { renderDatabaseHost, type DatabaseHostImage } from "../render/index.ts";
import { ensureLocalDatabaseEnv, SecretsError } from "../secrets/index.ts";
import { ensureSlotNetwork, LocalTargetError, type Env } from "./fleet.ts";
import { hostDirs, inHost, isHostInit, prepareHost, startHost, stopRecordedHost, type HostBox, type HostMounts } from "./host.ts";
import { waitForBoot } from "./boot-record.ts";
import { hostIdBase, type EnvLayout } from "./layout.ts";
import { writeState, type DatabaseHostState, type LocalState } from "./state.ts";
import type { Progress } from "./steps.ts";

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

/** Address .5 of the environment's /24, below the web (.11-) and worker (.111-) hosts. */
export function databaseSlot(layout: EnvLayout, subnet: string): HostBox {
  const base = subnet.split(".").slice(0, 3).join(".");
  const name = `${layout.stack}-db-1`;
  return { name, ip: `${base}.5`, netns: `${layout.netnsPrefix}db-1`, veth: `${layout.ifPrefix}5`, dir: join(layout.hostsDir, name) };
}

export function databaseImage(env: Env): DatabaseHostImage | undefined {
  const db = env.plan.database;
  return db ? renderDatabaseHost(db, env.plan.hosts[0]!.image) : undefined;
}

export function databaseEndpoint(layout: EnvLayout, subnet: string): string {
  return `${databaseSlot(layout, subnet).ip}:${DATABASE_PORT}`;
}

/** Is the recorded db host's pid 1 alive in its slot? */
export function databaseRunning(layout: EnvLayout, state: LocalState): boolean {
  const h = state.database;
  return h !== undefined && isHostInit(h.init, databaseSlot(layout, state.subnet));
}

/**
 * Stops the db host: PostgreSQL's fast shutdown through supervisord first (a checkpoint, no crash
 * recovery at the next start), then the host itself.
 */
export async function stopDatabaseHost(layout: EnvLayout, state: LocalState, progress: Progress): Promise<void> {
  const h = state.database;
  if (!h) return;
  const slot = databaseSlot(layout, state.subnet);
  const init = isHostInit(h.init, slot) ? h.init : undefined;
  if (init !== undefined) {
    const r = await inHost(init, ["supervisorctl", "stop", "postgresql"], { timeoutMs: 70_000 });
    if (r.exitCode !== 0) progress(`${h.name}: supervisorctl stop postgresql: ${(r.all ?? "").trim()}`);
  }
  await stopRecordedHost(h, slot);
  progress(`${h.name}: stopped`);
  delete state.database;
  writeState(layout.state, state);
}

/**
 * The environment's db host, up and accepting connections before any app host boots: left alone
 * when it runs the current user-data, else (re)booted on the same data dir. Returns what it did.
 */
export async function ensureDatabaseHost(env: Env, state: LocalState, opts: { progress: Progress; force?: boolean }): Promise<"none" | "unchanged" | "booted"> {
  const img = databaseImage(env);
  if (!img) return "none";
  const { layout } = env;
  const slot = databaseSlot(layout, state.subnet);
  try {
    ensureLocalDatabaseEnv(layout.secretsDir, databaseEndpoint(layout, state.subnet));
  } catch (e) {
    if (e instanceof SecretsError) throw new LocalTargetError(e.message);
    throw e;
  }
  const wanted = sha256(img.userDataBytes);
  if (!opts.force && databaseRunning(layout, state) && state.database!.healthy && state.database!.userDataSha === wanted) return "unchanged";
  if (state.database) await stopDatabaseHost(layout, state, opts.progress);

  mkdirSync(layout.databaseDir, { recursive: true });
  chmodSync(layout.databaseDir, 0o700);
  mkdirSync(layout.backupsDir, { recursive: true, mode: 0o700 });
  await ensureSlotNetwork(layout, slot);
  const mounts: HostMounts = { rootfs: env.image.rootfs, artifacts: layout.artifacts, secrets: layout.secretsDir, backups: layout.backupsDir, database: layout.databaseDir, shared: {} };
  const idBase = hostIdBase(slot);
  prepareHost(slot, mounts, img.userDataBytes, randomBytes(4).toString("hex"), idBase);
  const record: DatabaseHostState = { name: slot.name, ip: slot.ip, netns: slot.netns, veth: slot.veth, userDataSha: wanted, startedAt: new Date().toISOString(), healthy: false, failedStep: "boot" };
  state.database = record;
  writeState(layout.state, state);
  const pids = await startHost(slot, mounts, { idBase });
  Object.assign(record, pids);
  writeState(layout.state, state);
  opts.progress(`${slot.name}: booting PostgreSQL ${env.plan.database!.majorVersion} (${slot.ip})`);
  const boot = await waitForBoot(pids.init);
  record.bootSeconds = boot.seconds;
  if (boot.stages) record.bootStages = boot.stages;
  record.healthy = boot.ok;
  if (boot.ok) delete record.failedStep;
  else {
    record.failedStep = boot.failedStep ?? "cloud-init";
    record.detail = boot.detail.split("\n").slice(0, 6).join("\n");
  }
  writeState(layout.state, state);
  if (!boot.ok) throw new LocalTargetError(`${slot.name}: the db host failed at step ${record.failedStep}:\n${record.detail}\n(its disk: ${hostDirs(slot).upper}; PostgreSQL's log: var/log/fawkes/database/postgresql.log there)`);
  opts.progress(`${slot.name}: PostgreSQL ready in ${boot.seconds?.toFixed(1)} s`);
  return "booted";
}

/** Runs a command on the db host (as root; `runuser -u postgres --` for the server's own user). */
export async function onDatabaseHost(layout: EnvLayout, state: LocalState, argv: string[], opts: { timeoutMs?: number } = {}) {
  if (!databaseRunning(layout, state)) throw new LocalTargetError(`the db host of ${layout.stack} is not running; start the environment with: fawkes local up --stack ${layout.stack}`);
  return inHost(state.database!.init!, argv, opts);
}
