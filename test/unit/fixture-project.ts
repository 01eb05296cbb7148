import { copyFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const FIXTURES = join(import.meta.dirname, "../fixtures/config");

/** A throw-away copy of the base fixture project with one file replaced by a case file. */
export function projectWith(caseFile?: string): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), "fawkes-config-"));
  cpSync(join(FIXTURES, "base"), root, { recursive: true });
  if (caseFile) {
    const target = caseFile.endsWith(".project.yaml") ? join(root, "Pulumi.yaml") : join(root, "stacks/Pulumi.dev.yaml");
    copyFileSync(join(FIXTURES, caseFile), target);
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
