// `fawkes backup create|list|restore` on the local target. A backup is a directory of the stack's
// backup dir ($FAWKES_HOME/backups/<stack>/<id>), outside the environment's own dir, so it
// outlives `fawkes local down`: backup, destroy, up again, restore. Databases are dumped and
// restored on the db host with Debian's pg_dump and pg_restore; shared dirs are tarred on the
// machine, where the environment keeps them.
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { sha256OfFile } from "../artifact/store.ts";
import type { EnvironmentSpec } from "../config/index.ts";
import { databaseRunning, onDatabaseHost } from "../local/database.ts";
import { envLayout, LocalTargetError } from "../local/index.ts";
import { readState, type LocalState } from "../local/state.ts";
import type { Progress } from "../local/steps.ts";
import { inHost, isHostInit } from "../local/host.ts";
import { appDatabase, planEnvironment } from "../model/index.ts";
import { BACKUP_FORMAT, backupId, MANIFEST_FILE, manifestJson, parseManifest, type BackupApp, type BackupFile, type BackupManifest } from "./manifest.ts";

/** Where the db host sees the stack's backup dir (the bootstrap's LOCAL_BACKUPS). */
const HOST_BACKUPS = "/var/lib/fawkes/backups";

export class BackupError extends LocalTargetError {}

export interface ListedBackup {
  id: string;
  manifest?: BackupManifest;
  /** Why the backup cannot be restored: no manifest (cut short), a manifest that does not parse. */
  problem?: string;
  bytes: number;
}

function dirBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isFile() ? statSync(join(dir, e.name)).size : 0), 0);
}

/** Every backup of the stack, newest first; a cut-short one (no manifest) is listed with why. */
export function listBackups(stack: string): ListedBackup[] {
  const dir = envLayout(stack).backupsDir;
  if (!existsSync(dir)) return [];
  const out: ListedBackup[] = [];
  for (const id of readdirSync(dir)) {
    const path = join(dir, id);
    if (id.startsWith(".") || !statSync(path).isDirectory()) continue;
    const manifestPath = join(path, MANIFEST_FILE);
    const bytes = dirBytes(path);
    if (!existsSync(manifestPath)) {
      out.push({ id, problem: "no manifest.json: the backup was cut short", bytes });
      continue;
    }
    try {
      out.push({ id, manifest: parseManifest(readFileSync(manifestPath, "utf8"), manifestPath), bytes });
    } catch (e) {
      out.push({ id, problem: (e as Error).message, bytes });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function runningState(spec: EnvironmentSpec): LocalState {
  const layout = envLayout(spec.stack);
  const state = readState(layout.state);
  if (!state) throw new BackupError(`${spec.stack} is not up on this machine; start it with: fawkes local up --stack ${spec.stack}`);
  return state;
}

function selectedApps(spec: EnvironmentSpec, apps: readonly string[] | undefined): string[] {
  const names = spec.catalogue.apps.map((a) => a.name);
  for (const a of apps ?? []) if (!names.includes(a)) throw new BackupError(`no app "${a}" in the catalogue; apps: ${names.join(", ")}`);
  return apps && apps.length > 0 ? [...apps] : names;
}

async function fileEntry(dir: string, file: string): Promise<BackupFile> {
  const path = join(dir, file);
  return { file, bytes: statSync(path).size, sha256: await sha256OfFile(path) };
}

/**
 * `fawkes backup create`: each selected app's database (pg_dump on the db host, as the server's
 * own user) and shared dir (without fawkes' own lock and hook markers), into a new backup whose
 * manifest is written last. A failure leaves no backup behind.
 */
export async function createBackup(spec: EnvironmentSpec, opts: { apps?: readonly string[]; progress?: Progress; now?: Date } = {}): Promise<{ id: string; manifest: BackupManifest; dir: string }> {
  const progress = opts.progress ?? (() => {});
  const layout = envLayout(spec.stack);
  const state = runningState(spec);
  const apps = selectedApps(spec, opts.apps);
  const withDb = spec.catalogue.apps.filter((a) => apps.includes(a.name) && a.database);
  if (withDb.length > 0 && !databaseRunning(layout, state)) throw new BackupError(`the db host of ${spec.stack} is not running; start it with: fawkes local up --stack ${spec.stack}`);
  const id = backupId(opts.now ?? new Date(), `manual-${randomBytes(2).toString("hex")}`);
  const partialName = `.${id}.partial`;
  const partial = join(layout.backupsDir, partialName);
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  try {
    const parts: Record<string, BackupApp> = {};
    for (const app of apps) {
      const part: BackupApp = { release: spec.knobs.releases[app]! };
      if (withDb.some((a) => a.name === app)) {
        const db = appDatabase(app);
        const file = `${app}.dump`;
        // Written by the host's root shell into the mounted backup dir: pg_dump runs as postgres.
        const r = await onDatabaseHost(layout, state, ["/bin/sh", "-c", `runuser -u postgres -- pg_dump --format=custom "$1" > "$2"`, "sh", db.name, `${HOST_BACKUPS}/${partialName}/${file}`], { timeoutMs: 30 * 60_000 });
        if (r.exitCode !== 0) throw new BackupError(`pg_dump of ${app}'s database ${db.name} failed: ${(r.all ?? "").trim()}`);
        part.database = await fileEntry(partial, file);
        progress(`${app}: database ${db.name} dumped (${part.database.bytes} bytes)`);
      }
      const shared = join(layout.sharedDir, app);
      if (existsSync(shared)) {
        const file = `${app}.shared.tar.gz`;
        const r = await execa("tar", ["--create", "--gzip", "--numeric-owner", "--exclude=./.fawkes", "--file", join(partial, file), "--directory", shared, "."], { reject: false, all: true });
        if (r.exitCode !== 0) throw new BackupError(`tar of ${shared} failed: ${(r.all ?? "").trim()}`);
        part.shared = await fileEntry(partial, file);
        progress(`${app}: shared dir archived (${part.shared.bytes} bytes)`);
      }
      if (part.database || part.shared) parts[app] = part;
    }
    if (Object.keys(parts).length === 0) throw new BackupError(`nothing to back up: ${apps.join(", ")} ${apps.length === 1 ? "has" : "have"} no database and no shared dir in ${spec.stack}`);
    const manifest: BackupManifest = { format: BACKUP_FORMAT, id, stack: spec.stack, kind: "manual", createdAt: new Date().toISOString(), createdBy: `fawkes backup create on ${hostname()}`, apps: parts };
    writeFileSync(join(partial, MANIFEST_FILE), manifestJson(manifest), { mode: 0o600 });
    const dir = join(layout.backupsDir, id);
    renameSync(partial, dir);
    return { id, manifest, dir };
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** A backup's manifest, its files checked against their sums before anything is touched. */
export async function verifiedBackup(stack: string, id: string): Promise<{ dir: string; manifest: BackupManifest }> {
  const dir = join(envLayout(stack).backupsDir, id);
  const listed = listBackups(stack);
  const found = listed.find((b) => b.id === id);
  if (!found) {
    const ids = listed.filter((b) => b.manifest).map((b) => b.id);
    throw new BackupError(`no backup ${id} of ${stack} in ${envLayout(stack).backupsDir}${ids.length > 0 ? `; the newest: ${ids.slice(0, 3).join(", ")}` : " (none there: fawkes backup create --stack " + stack + ")"}`);
  }
  if (!found.manifest) throw new BackupError(`backup ${id} cannot be restored: ${found.problem}`);
  for (const [app, part] of Object.entries(found.manifest.apps)) {
    for (const f of [part.database, part.shared]) {
      if (!f) continue;
      const path = join(dir, f.file);
      if (!existsSync(path)) throw new BackupError(`backup ${id}: ${f.file} of ${app} is missing`);
      const sum = await sha256OfFile(path);
      if (sum !== f.sha256) throw new BackupError(`backup ${id}: ${f.file} of ${app} does not match its sha256 in the manifest (damaged or changed)`);
    }
  }
  return { dir, manifest: found.manifest };
}

/** psql's `-c` per statement: DROP DATABASE may not run in the transaction one `-c` of several statements makes. */
const statements = (...sql: string[]): string[] => sql.flatMap((q) => ["-c", q]);

/**
 * `fawkes backup restore ID`: into the running environment of `spec` (the backup's own stack, or
 * another with --from), each app's database is replaced by the dump (dropped, made again, the
 * dump restored in one transaction as the app's role) and its shared dir by the archive (fawkes'
 * markers kept). Every file is verified first; an app of the backup the target lacks is refused.
 */
export async function restoreBackup(spec: EnvironmentSpec, id: string, opts: { from?: string; apps?: readonly string[]; progress?: Progress } = {}): Promise<{ restored: string[]; manifest: BackupManifest }> {
  const progress = opts.progress ?? (() => {});
  const layout = envLayout(spec.stack);
  const state = runningState(spec);
  const { dir, manifest } = await verifiedBackup(opts.from ?? spec.stack, id);
  const inBackup = Object.keys(manifest.apps);
  const apps = opts.apps && opts.apps.length > 0 ? [...opts.apps] : inBackup;
  for (const a of apps) if (!inBackup.includes(a)) throw new BackupError(`backup ${id} holds no part of ${a}; it holds: ${inBackup.join(", ")}`);
  const catalogue = new Map(spec.catalogue.apps.map((a) => [a.name, a]));
  for (const a of apps) {
    if (!catalogue.has(a)) throw new BackupError(`${spec.stack} has no app ${a}, which backup ${id} holds; restore the others with --app`);
    if (manifest.apps[a]!.database && !catalogue.get(a)!.database) throw new BackupError(`${a} has no database in ${spec.stack} (catalogue database: false), and backup ${id} holds one`);
  }
  if (apps.some((a) => manifest.apps[a]!.database) && !databaseRunning(layout, state)) throw new BackupError(`the db host of ${spec.stack} is not running; start it with: fawkes local up --stack ${spec.stack}`);
  // The db host reads the dump through its own mount of the backup dir: a backup of another stack is copied in first.
  const fromOther = opts.from !== undefined && opts.from !== spec.stack;
  const staged = fromOther ? join(layout.backupsDir, `.restore-${id}-${process.pid}`) : dir;
  try {
    if (fromOther) {
      mkdirSync(staged, { recursive: true, mode: 0o700 });
      for (const a of apps) if (manifest.apps[a]!.database) copyFileSync(join(dir, manifest.apps[a]!.database!.file), join(staged, manifest.apps[a]!.database!.file));
    }
    const hostDir = `${HOST_BACKUPS}/${staged.slice(layout.backupsDir.length + 1)}`;
    for (const app of apps) {
      const part = manifest.apps[app]!;
      if (part.database) {
        const db = appDatabase(app);
        const roleCheck = await onDatabaseHost(layout, state, ["runuser", "-u", "postgres", "--", "psql", "-X", "-qAt", "-d", "postgres", "-c", `SELECT 1 FROM pg_roles WHERE rolname = '${db.role}'`]);
        if (roleCheck.stdout.trim() !== "1") throw new BackupError(`role ${db.role} does not exist on the db host of ${spec.stack} yet: its app hosts make it at boot (fawkes local up --stack ${spec.stack}), then restore`);
        // Restored beside the live database first: a dump that does not restore leaves the app's data as it was.
        const scratch = `${db.name}__restore`;
        const psql = (...sql: string[]) => onDatabaseHost(layout, state, ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", ...statements(...sql)]);
        const made = await psql(`DROP DATABASE IF EXISTS "${scratch}"`, `CREATE DATABASE "${scratch}" OWNER "${db.role}"`);
        if (made.exitCode !== 0) throw new BackupError(`could not make the scratch database ${scratch}: ${(made.all ?? "").trim()}`);
        // The dump is read by the host's root shell (the backup dir is root's) and fed to pg_restore, which runs as postgres.
        const r = await onDatabaseHost(
          layout,
          state,
          ["/bin/sh", "-c", `runuser -u postgres -- pg_restore --no-owner --role="$1" --single-transaction --exit-on-error --dbname="$2" < "$3"`, "sh", db.role, scratch, `${hostDir}/${part.database.file}`],
          { timeoutMs: 30 * 60_000 },
        );
        if (r.exitCode !== 0) {
          await psql(`DROP DATABASE IF EXISTS "${scratch}"`);
          throw new BackupError(`pg_restore of ${app}'s database from backup ${id} failed; ${db.name} is as it was: ${(r.all ?? "").trim()}`);
        }
        // The swap: the app's open sessions end, its next queries reconnect to the restored data.
        const swapped = await psql(`DROP DATABASE IF EXISTS "${db.name}" WITH (FORCE)`, `ALTER DATABASE "${scratch}" RENAME TO "${db.name}"`, `REVOKE ALL ON DATABASE "${db.name}" FROM PUBLIC`, `GRANT CONNECT, TEMPORARY ON DATABASE "${db.name}" TO "${db.role}"`);
        if (swapped.exitCode !== 0) throw new BackupError(`could not put the restored ${scratch} in place of ${db.name}: ${(swapped.all ?? "").trim()}`);
        await reconnectApp(spec, state, app, progress);
        progress(`${app}: database ${db.name} restored from ${id}`);
      }
      if (part.shared) {
        await restoreShared(layout.sharedDir, app, join(dir, part.shared.file));
        progress(`${app}: shared dir restored from ${id}`);
      }
    }
  } finally {
    if (fromOther) rmSync(staged, { recursive: true, force: true });
  }
  return { restored: apps, manifest };
}

/**
 * The swap ended the app's sessions; a process holding a persistent connection would answer its
 * next request with an error. Each host's processes of the app start over: gunicorn's workers
 * through a graceful HUP (in-flight requests finish), the other programs by a restart.
 */
async function reconnectApp(spec: EnvironmentSpec, state: LocalState, app: string, progress: Progress): Promise<void> {
  const plan = planEnvironment(spec);
  for (const h of Object.values(state.hosts)) {
    const onHost = plan.hosts.find((p) => p.role === h.role)?.apps.find((a) => a.name === app);
    if (!onHost || !h.healthy || h.init === undefined || !isHostInit(h.init, h)) continue;
    for (const p of onHost.processes) {
      const argv = p.kind === "gunicorn" ? ["supervisorctl", "signal", "HUP", p.program] : ["supervisorctl", "restart", p.program];
      const r = await inHost(h.init, argv);
      if (r.exitCode !== 0) progress(`${h.name}: ${argv.join(" ")} failed: ${(r.all ?? "").trim()}`);
    }
    progress(`${h.name}: ${app}'s processes reconnect to the restored database`);
  }
}

/**
 * The archive unpacked beside the shared dir first, then swapped in entry by entry: the dir
 * itself stays (every host has it bind-mounted), fawkes' hook markers (.fawkes) stay. It is
 * unpacked where only root writes (the environment's shared root, which no host mounts): inside
 * the app's dir, the app could swap the staging dir for a link and have root unpack anywhere.
 */
async function restoreShared(sharedRoot: string, app: string, archive: string): Promise<void> {
  const shared = join(sharedRoot, app);
  if (!existsSync(shared)) throw new BackupError(`${shared} missing: start the environment first (fawkes local up)`);
  // Not an app's name (those never start with a dot), and on the shared dir's file system: renames stay renames.
  const incoming = join(sharedRoot, `.restore-${app}-${process.pid}`);
  rmSync(incoming, { recursive: true, force: true });
  mkdirSync(incoming, { mode: 0o700 });
  try {
    const r = await execa("tar", ["--extract", "--gzip", "--numeric-owner", "--same-permissions", "--file", archive, "--directory", incoming], { reject: false, all: true });
    if (r.exitCode !== 0) throw new BackupError(`unpacking ${archive} failed: ${(r.all ?? "").trim()}`);
    for (const e of readdirSync(shared)) if (e !== ".fawkes") rmSync(join(shared, e), { recursive: true, force: true });
    for (const e of readdirSync(incoming)) if (e !== ".fawkes") renameSync(join(incoming, e), join(shared, e));
  } finally {
    rmSync(incoming, { recursive: true, force: true });
  }
}
