// `fawkes backup create|list|restore`: each app's database (pg_dump) and shared dir, per stack, on
// the local target; the dumps hosts take before a release's hooks are listed beside them.
import { loadStack } from "../../config/index.ts";
import { createBackup, listBackups, restoreBackup } from "../../backup/local.ts";
import { describeBackup } from "../../backup/manifest.ts";
import { requireLocalTarget } from "../../local/index.ts";
import { withDeployLock } from "../../release/index.ts";
import { UsageError, type Command, type Io } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

function requireStack(values: Record<string, unknown>): string {
  if (typeof values.stack !== "string") throw new UsageError("--stack S is required: a backup belongs to one environment");
  return values.stack;
}

const appsOf = (values: Record<string, unknown>): string[] => (Array.isArray(values.app) ? (values.app as string[]) : []);
const progress = (io: Io) => (m: string) => io.err(`${m}\n`);
const size = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`);

const WHERE = `Backups live in \${FAWKES_HOME:-/var/lib/fawkes}/backups/<stack>/<id>/, outside the
environment's own dir: they outlive \`fawkes local down\`. Each holds <app>.dump (pg_dump's custom
format) per app with a database, <app>.shared.tar.gz per app with shared dirs, and manifest.json
(written last, with each file's sha256). Hosts write one before a release's hooks run (kind
pre-release, named by the release), unless the stack's database.backupBeforeRelease is off.
On AWS the same dumps go to the artifact bucket under backups/<stack>/, and AWS Backup keeps the
RDS instance and EFS; this command reads the local target only.`;

export const backupCreate: Command = {
  name: "backup create",
  summary: "Back up each app's database and shared dir of a running local stack.",
  usage: "fawkes backup create --stack S [--app A ...] [--json]",
  help: `pg_dump of each app's database, run on the stack's db host, and a tar.gz of each app's shared
dir (without fawkes' own lock and hook markers). A failure leaves no backup behind. Needs root
and the stack up on this machine (fawkes local up). Under the stack's deploy lock.

${WHERE}

Flags:
  --stack S   the environment (required)
  --app A     only this app (repeatable; default every app)
  --json      print the manifest as JSON

Exit codes: 0 backed up; 1 the stack is not up, an unknown app, or a dump failed (nothing kept);
2 usage; 3 another command holds the stack's deploy lock.`,
  options: { stack: { type: "string", kind: "stack" }, app: { type: "string", multiple: true, kind: "app" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const spec = loadStack(findProjectRoot(io.cwd, values.project), requireStack(values));
    await requireLocalTarget();
    const r = await withDeployLock(spec.stack, `fawkes backup create --stack ${spec.stack}`, () => createBackup(spec, { apps: appsOf(values), progress: progress(io) }));
    if (values.json) io.out(`${JSON.stringify(r.manifest, null, 2)}\n`);
    else io.out(`backup ${r.id} of ${spec.stack}: ${describeBackup(r.manifest)}\n  ${r.dir}\n`);
    return 0;
  },
};

export const backupList: Command = {
  name: "backup list",
  summary: "List a stack's backups, newest first, with the releases they belong to.",
  usage: "fawkes backup list --stack S [--json]",
  help: `${WHERE}

A backup without a manifest (cut short) or with a damaged one is listed with the reason; it cannot
be restored.

Flags:
  --stack S   the environment (required)
  --json      print them as JSON

Exit codes: 0 listed (also when there is none); 2 usage.`,
  options: { stack: { type: "string", kind: "stack" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const stack = requireStack(values);
    const backups = listBackups(stack);
    if (values.json) {
      io.out(`${JSON.stringify(backups, null, 2)}\n`);
      return 0;
    }
    if (backups.length === 0) {
      io.out(`${stack}: no backups (fawkes backup create --stack ${stack})\n`);
      return 0;
    }
    for (const b of backups) {
      if (b.manifest) io.out(`${b.id}  ${b.manifest.kind.padEnd(11)}  ${size(b.bytes).padStart(9)}  ${describeBackup(b.manifest)}\n`);
      else io.out(`${b.id}  ${"unusable".padEnd(11)}  ${size(b.bytes).padStart(9)}  ${b.problem}\n`);
    }
    return 0;
  },
};

export const backupRestore: Command = {
  name: "backup restore",
  summary: "Restore a backup's databases and shared dirs into a running local stack.",
  usage: "fawkes backup restore ID --stack S [--from STACK] [--app A ...]",
  help: `Every file of the backup is checked against its sha256 first. Then per app: its database is
dropped (open sessions are ended: the app's next queries reconnect), made again with the same owner,
and the dump restored into it in one transaction as the app's role; its shared dir's contents are
replaced by the archive's (fawkes' lock and hook markers kept). The app's role must exist: the
stack's hosts make it at boot, so restore into a fresh environment after \`fawkes local up\`.
To undo a bad migration: restore the pre-release backup taken before its hooks, then
\`fawkes rollback\` to the release before it. Needs root. Under the stack's deploy lock.

${WHERE}

Flags:
  --stack S       the environment restored into (required)
  --from STACK    the stack whose backup ID is (default S)
  --app A         only this app's part (repeatable; default every app in the backup)

Exit codes: 0 restored; 1 no such backup, a damaged file (nothing touched), the stack not up, or a
restore that failed (said which app, and in what state); 2 usage; 3 another command holds the
stack's deploy lock.`,
  options: { stack: { type: "string", kind: "stack" }, from: { type: "string", kind: "stack" }, app: { type: "string", multiple: true, kind: "app" } },
  positionals: { min: 1, max: 1, args: [{ name: "ID", kind: "backup" }] },
  async run({ values, positionals }, io) {
    const [id] = positionals as [string];
    const spec = loadStack(findProjectRoot(io.cwd, values.project), requireStack(values));
    await requireLocalTarget();
    const from = typeof values.from === "string" ? values.from : undefined;
    const r = await withDeployLock(spec.stack, `fawkes backup restore ${id} --stack ${spec.stack}`, () => restoreBackup(spec, id, { ...(from ? { from } : {}), apps: appsOf(values), progress: progress(io) }));
    io.out(`restored ${r.restored.join(", ")} of ${spec.stack} from backup ${id} (${r.manifest.kind}, ${r.manifest.createdAt})\n`);
    return 0;
  },
};
