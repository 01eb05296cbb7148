// The console's audit log: every action asked of it, who asked, and how it ended, refusals
// included. One JSON line per event under FAWKES_HOME; the history says what the actions did.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface AuditEntry {
  at: string;
  who: string;
  /** Where the request came from (the peer address, or the ALB's X-Forwarded-For). */
  from: string;
  stack?: string;
  action: string;
  args: Record<string, string>;
  /** started: accepted and running; done / failed: how it ended; forbidden / refused / invalid: nothing changed. */
  outcome: "started" | "done" | "failed" | "forbidden" | "refused" | "invalid" | "signed-in" | "sign-in-failed";
  detail?: string;
}

export function auditFile(home: string): string {
  return join(home, "console", "audit.jsonl");
}

export function appendAudit(home: string, entry: Omit<AuditEntry, "at">): void {
  mkdirSync(join(home, "console"), { recursive: true, mode: 0o700 });
  appendFileSync(auditFile(home), `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`, { mode: 0o600 });
}

/** The last `limit` entries, oldest first; a torn line is skipped. */
export function readAudit(home: string, limit = 500): AuditEntry[] {
  const file = auditFile(home);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-limit)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as AuditEntry];
      } catch {
        return [];
      }
    });
}
