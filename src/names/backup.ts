// A backup's id names its dir under backups/<stack>/: `<UTC time>-<label>`, made by `fawkes backup
// create` (src/backup/manifest.ts) and by hosts before a release's hooks. One rule, for manifests
// and for the command line (src/cli/command.ts).

export const BACKUP_ID = /^[0-9]{8}T[0-9]{6}Z-[a-z0-9][a-z0-9-]{0,120}$/;

/** Why `id` cannot be a backup's id, or undefined. Whether there is such a backup is the command's to say. */
export function backupIdProblem(id: string): string | undefined {
  return BACKUP_ID.test(id) ? undefined : `not a backup id (<UTC time>-<label>, like "20261123T101500Z-manual-3f2a": fawkes backup list --stack S shows them)`;
}
