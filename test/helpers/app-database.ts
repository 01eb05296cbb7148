// SQL in an app's database on a local stack's db host, as the server's own user: what the
// end-to-end tests read back to prove what migrations and restores did.
import { onDatabaseHost } from "../../src/local/database.ts";
import { envLayout } from "../../src/local/index.ts";
import { readState } from "../../src/local/state.ts";

/** One query's rows, `|`-separated columns, one row per line, trimmed. Throws with psql's words on failure. */
export async function appSql(stack: string, database: string, sql: string): Promise<string> {
  const layout = envLayout(stack);
  const state = readState(layout.state);
  if (!state) throw new Error(`${stack} is not up`);
  const r = await onDatabaseHost(layout, state, ["runuser", "-u", "postgres", "--", "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql]);
  if (r.exitCode !== 0) throw new Error(`psql in ${database} of ${stack}: ${r.all ?? ""}`);
  return r.stdout.trim();
}
