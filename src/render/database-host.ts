// DatabasePlan -> the local target's db host: cloud-config user-data that runs Debian's
// PostgreSQL from the golden image under supervisord, its data on the environment's data dir.
// Local only: on AWS the same database is RDS (components/database.ts).
import { DATABASE_PASSWORD_RULE, type DatabasePlan } from "../model/index.ts";
import { cloudConfigOf, userDataBytes } from "./host-image.ts";
// The log partial is registered by the host bootstrap (imported through host-image.ts).
import { compileTemplate, withoutComments } from "./templates.ts";
import type { RenderedFile } from "./types.ts";

export const DB_BOOTSTRAP_PATH = "/usr/local/sbin/fawkes-db-bootstrap";
/** Where the local target mounts the environment's database dir into the db host. */
export const DB_DATA_ROOT = "/var/lib/fawkes/database";
/** The local target's 0600 file of the server's address and master password, in the secrets mount. */
export const DB_LOCAL_ENV = "/var/lib/fawkes/secrets/_database.env";
const CONFIG_DIR = "/etc/fawkes/database";

export interface DatabaseHostImage {
  stack: string;
  files: RenderedFile[];
  userData: string;
  userDataBytes: Uint8Array;
}

interface DbView {
  project: string;
  stack: string;
  majorVersion: string;
  port: number;
  masterUser: string;
  dataRoot: string;
  dataDir: string;
  databaseEnv: string;
  identFile: string;
  hbaFile: string;
  configFile: string;
  /** supervisord's command=: PostgreSQL with its config file. */
  command: string[];
  passwordRule: string;
}

const bootstrap = compileTemplate<DbView>("fawkes-db-bootstrap.sh.hbs");
const postgresqlConf = compileTemplate<DbView>("postgresql.conf.hbs");
const pgHba = compileTemplate<DbView>("pg_hba.conf.hbs");
const program = compileTemplate<DbView>("postgresql-program.conf.hbs");

export function renderDatabaseHost(db: DatabasePlan, image: { recipeHash: string }): DatabaseHostImage {
  const configFile = `${CONFIG_DIR}/postgresql.conf`;
  const dataDir = `${DB_DATA_ROOT}/${db.majorVersion}/main`;
  const view: DbView = {
    project: db.project,
    stack: db.stack,
    majorVersion: db.majorVersion,
    port: db.port,
    masterUser: db.masterUser,
    dataRoot: DB_DATA_ROOT,
    dataDir,
    databaseEnv: DB_LOCAL_ENV,
    identFile: `${dataDir}/pg_ident.conf`,
    hbaFile: `${CONFIG_DIR}/pg_hba.conf`,
    configFile,
    command: [`/usr/lib/postgresql/${db.majorVersion}/bin/postgres`, "-c", `config_file=${configFile}`],
    passwordRule: DATABASE_PASSWORD_RULE,
  };
  const file = (path: string, content: string, mode = "0644"): RenderedFile => ({ path, content, mode, owner: "root:root" });
  const files = [
    file(DB_BOOTSTRAP_PATH, withoutComments(bootstrap(view)), "0755"),
    file(view.configFile, postgresqlConf(view)),
    file(view.hbaFile, pgHba(view)),
    file("/etc/supervisor/conf.d/fawkes-postgresql.conf", program(view)),
  ];
  const userData = cloudConfigOf(
    [`fawkes: db host of ${db.project}/${db.stack} (local target only), image ${image.recipeHash}, PostgreSQL ${db.majorVersion}. Rendered by fawkes; do not edit.`, `Databases: ${db.apps.map((a) => a.name).join(", ")}.`],
    files,
    DB_BOOTSTRAP_PATH,
  );
  return { stack: db.stack, files, userData, userDataBytes: userDataBytes(userData) };
}
