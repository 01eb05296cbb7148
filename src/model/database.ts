// The environment's PostgreSQL, named once for every target: RDS on AWS, the `db` host locally.
// Each app with `database: true` owns one database and one role of the same name there. Pure.
import type { DatabaseKnobs, EnvironmentSpec } from "../config/index.ts";
import { DATABASE_MASTER_USER, shortHash } from "../names/index.ts";
import { parameterPrefixOf } from "./operations.ts";

/** Debian 13's PostgreSQL: the local db host runs it, RDS runs the same major, and the hosts' pg_dump matches both. */
export const DATABASE_MAJOR_VERSION = "17";
export const DATABASE_PORT = 5432;
/** The administrator the release hook creates roles and databases with: RDS's master user, the local db host's alike (CREATEROLE, CREATEDB, not a superuser). */
export { DATABASE_MASTER_USER } from "../names/index.ts";

/** What a database password may be, as a POSIX extended regex (bash's =~ and JavaScript agree on it): safe bare in a URL and between SQL quotes. */
export const DATABASE_PASSWORD_RULE = "^[A-Za-z0-9._~-]{16,128}$";

export interface AppDatabase {
  app: string;
  /** Database and role name: the app's name with '-' as '_' (a plain SQL identifier). */
  name: string;
  role: string;
}

export interface DatabasePlan {
  project: string;
  stack: string;
  majorVersion: string;
  port: number;
  masterUser: string;
  apps: AppDatabase[];
  knobs: DatabaseKnobs;
  /** RDS's automated backups keep at most 35 days; AWS Backup keeps the knob's full retention. */
  automatedBackupDays: number;
  /** Where hosts put the dumps they take before a release's hooks, in the artifact bucket: `backups/<stack>/`. */
  dumpPrefix: string;
  /** SSM parameters the hosts read at boot: `<address>:<port>` of the server, and the ARN of the master user's secret. */
  parameters: { endpoint: string; masterSecret: string };
}

/** `shop-api` -> `shop_api`: app names are a-z, 0-9 and '-', so the result needs no quoting in SQL. */
export function databaseNameOf(app: string): string {
  return app.replace(/-/g, "_");
}

/** PostgreSQL truncates identifiers past 63 bytes: longer names are cut and end in a hash of the whole. */
const IDENTIFIER_MAX = 63;

/**
 * An app's database and role. On a server of its own, named after the app; on a parent's server
 * (knob database.shareParentServer) after the app and the stack, so that no two stacks on one
 * server ever share a database or a role: `blog_qa_feature_x`.
 */
export function appDatabase(app: string, spec?: Pick<EnvironmentSpec, "stack" | "knobs">): AppDatabase {
  let name = databaseNameOf(app);
  if (spec?.knobs.database.shareParentServer) {
    const full = `${name}_${databaseNameOf(spec.stack)}`;
    name = full.length <= IDENTIFIER_MAX ? full : `${full.slice(0, IDENTIFIER_MAX - 9)}_${shortHash(full, 8)}`;
  }
  return { app, name, role: name };
}

/** Where an environment's hosts put database dumps in the artifact bucket: `backups/<stack>/` (also what no viewer may read). */
export function dumpPrefixOf(stack: string): string {
  return `backups/${stack}/`;
}

/** The environment's database, or undefined when no app declares one. */
export function databasePlan(spec: EnvironmentSpec): DatabasePlan | undefined {
  const apps = spec.catalogue.apps.filter((a) => a.database).map((a) => appDatabase(a.name, spec));
  if (apps.length === 0) return undefined;
  const prefix = parameterPrefixOf(spec.project, spec.stack);
  return {
    project: spec.project,
    stack: spec.stack,
    majorVersion: DATABASE_MAJOR_VERSION,
    port: DATABASE_PORT,
    masterUser: DATABASE_MASTER_USER,
    apps,
    knobs: spec.knobs.database,
    automatedBackupDays: Math.min(35, spec.knobs.backupRetentionDays),
    dumpPrefix: dumpPrefixOf(spec.stack),
    parameters: { endpoint: `${prefix}/database/endpoint`, masterSecret: `${prefix}/database/master-secret` },
  };
}
