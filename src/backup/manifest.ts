// What a backup is, on every target: a directory named by its id, one file per app's database
// (pg_dump's custom format) and shared dir (tar.gz), and manifest.json, written last. Hosts write
// the same manifest for the dump they take before a release's hooks. Pure.
import { z } from "zod";
import { BACKUP_ID } from "../names/index.ts";

export const BACKUP_FORMAT = 1;
export const MANIFEST_FILE = "manifest.json";

const FileSchema = z.strictObject({
  file: z.string().regex(/^[a-z][a-z0-9-]*\.(dump|shared\.tar\.gz)$/, "must be <app>.dump or <app>.shared.tar.gz"),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BackupFile = z.infer<typeof FileSchema>;

const AppSchema = z.strictObject({
  /** The release the app ran (manual), or the release whose hooks were about to run (pre-release). */
  release: z.string().min(1),
  database: FileSchema.optional(),
  shared: FileSchema.optional(),
});
export type BackupApp = z.infer<typeof AppSchema>;

export { BACKUP_ID };

export const BackupManifestSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  id: z.string().regex(BACKUP_ID, "must be <UTC time>-<label>"),
  stack: z.string().min(1),
  /** manual: `fawkes backup create`; pre-release: a host, before the hooks of a release. */
  kind: z.enum(["manual", "pre-release"]),
  createdAt: z.string().min(1),
  createdBy: z.string().min(1),
  apps: z.record(z.string(), AppSchema),
});
export type BackupManifest = z.infer<typeof BackupManifestSchema>;

/** `20261123T101500Z-<label>`: sorts by time, names what it is. */
export function backupId(at: Date, label: string): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${stamp}-${label}`;
}

export function parseManifest(text: string, where: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message})`, { cause: e });
  }
  const r = BackupManifestSchema.safeParse(raw);
  if (!r.success) throw new Error(`${where}: ${r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ")}`);
  return r.data;
}

export function manifestJson(m: BackupManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** One line of `fawkes backup list`: what each app's part holds. */
export function describeBackup(m: BackupManifest): string {
  const apps = Object.entries(m.apps).map(([app, a]) => {
    const parts = [a.database ? "database" : "", a.shared ? "shared" : ""].filter(Boolean).join("+");
    return m.kind === "pre-release" ? `${app} ${parts} before release ${a.release}` : `${app}@${a.release} ${parts}`;
  });
  return apps.join(", ");
}
