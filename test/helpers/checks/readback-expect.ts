// What each rendered file of a project means, from its plan: the values bash, supervisord, Python
// and cloud-init must read back from it (./readback.ts reads them). Written from the plan, not from
// the files, so a value the quoting changed or cut short cannot pass.
import { HEALTH_CHECK_USER_AGENT, HEALTH_CHECKER_AGENTS } from "../../../src/config/index.ts";
import { HOST_ENV, type EnvironmentPlan, type HostPlan } from "../../../src/model/index.ts";
import { DB_BOOTSTRAP_PATH, type DatabaseHostImage, type HostImage, type RenderedFile } from "../../../src/render/index.ts";
import { appEnvironment, EXEC_WRAPPER } from "../../../src/render/app-files.ts";
import { BOOT_PATH, BOOTSTRAP_PATH } from "../../../src/render/bootstrap.ts";

type Values = Record<string, string | string[]>;

export interface HostExpected {
  role: string;
  files: RenderedFile[];
  userData: string;
  /** The files the user-data itself writes, and the command it runs. */
  userDataFiles: RenderedFile[];
  command: string;
  shellFiles: string[];
  envFiles: Array<{ path: string; vars: Array<{ name: string; value: string }> }>;
  varReads: Array<{ path: string; globals: Values; apps: Record<string, Values> }>;
  exec?: { path: string; apps: string[] };
  programs: Array<{ name: string; loaded: Record<string, unknown> }>;
  pythonFiles: Array<{ path: string; globals: Record<string, unknown> }>;
  sites: string[];
  logDirs: string[];
  /** passwd lines of the host's app users, by name. */
  users: Map<string, string>;
}

export interface Expected {
  stack: string;
  hosts: HostExpected[];
}

const isShell = (f: RenderedFile) => f.content.startsWith("#!/bin/bash\n") || f.path.endsWith("/app.env");

function bootstrapValues(plan: HostPlan): { globals: Values; apps: Record<string, Values> } {
  const db = plan.database;
  const globals: Values = {
    STACK: plan.stack,
    ROLE: plan.role,
    RECIPE_HASH: plan.image.recipeHash,
    PACKAGES: plan.image.packages,
    APPS: plan.apps.map((a) => a.name),
    HOST_PROGRAMS: plan.apps.flatMap((a) => a.processes.map((p) => p.program)),
    COMMAND_PROGRAMS: plan.apps.flatMap((a) => a.processes.filter((p) => p.kind === "command").map((p) => p.program)),
    PARAMETER_PREFIX: plan.stores.parameterPrefix,
    LOCK_TABLE: plan.stores.lockTable,
    LOCK_KEY: plan.stores.lockKey,
    ARTIFACT_BUCKET: plan.stores.artifactBucket,
    EXEC: EXEC_WRAPPER,
    SELF_TIMEOUT_SECONDS: String(plan.boot.selfTimeoutSeconds),
    LOCK_SECONDS: String(plan.boot.lockSeconds),
    HOST_ENV,
    HEALTH_USER_AGENT: HEALTH_CHECK_USER_AGENT,
    ...(db
      ? { DB_MASTER_USER: db.masterUser, DB_ENDPOINT_PARAMETER: db.parameters.endpoint, DB_MASTER_SECRET_PARAMETER: db.parameters.masterSecret, DB_BACKUP_BEFORE_RELEASE: String(db.backupBeforeRelease), DB_DUMP_PREFIX: db.dumpPrefix, DB_PASSWORD_PATTERN: db.passwordRule }
      : {}),
  };
  const apps = Object.fromEntries(
    plan.apps.map((a) => {
      const web = a.gunicorn !== undefined;
      const p = a.paths;
      const values: Values = {
        APP: a.name,
        APP_UID: String(a.uid),
        APP_GID: String(a.gid),
        RELEASE: a.release,
        ROOT: p.root,
        RELEASES: p.releases,
        CURRENT: p.current,
        SHARED: p.shared,
        CONFIG: p.config,
        LOGS: p.logs,
        RUN_DIR: p.run,
        SECRETS_ENV: p.secretsEnv,
        SHARED_DIRS: a.shared,
        MEDIA_DIR: a.media?.dir ?? "",
        SECRET_NAMES: a.secrets,
        QUEUE_NAMES: a.queues,
        HOOKS: a.hooks,
        PORT: web ? String(a.port) : "",
        HEALTH_PATH: web ? a.health.path : "",
        HEALTH_METHOD: a.health.method,
        HEALTH_STATUSES: a.health.statuses,
        ...(db ? { DB_NAME: a.database?.name ?? "", DB_ROLE: a.database?.role ?? "" } : {}),
      };
      return [a.name, values];
    }),
  );
  return { globals, apps };
}

function hostExpected(plan: HostPlan, image: HostImage): HostExpected {
  const boot = image.files.find((f) => f.path === BOOT_PATH)!;
  return {
    role: plan.role,
    files: image.files,
    userData: image.userData,
    userDataFiles: [boot],
    command: BOOT_PATH,
    shellFiles: image.files.filter(isShell).map((f) => f.path),
    envFiles: plan.apps.map((a) => ({ path: a.paths.env, vars: appEnvironment(plan, a) })),
    varReads: [
      { path: BOOTSTRAP_PATH, ...bootstrapValues(plan) },
      { path: BOOT_PATH, globals: { BUNDLE_OBJECT: image.bundle.key, BUNDLE_SHA256: image.bundle.sha256, BOOTSTRAP: BOOTSTRAP_PATH, ARTIFACT_BUCKET: plan.stores.artifactBucket, SELF_TIMEOUT_SECONDS: String(plan.boot.selfTimeoutSeconds) }, apps: {} },
    ],
    exec: { path: EXEC_WRAPPER, apps: plan.apps.map((a) => a.name) },
    programs: plan.apps.flatMap((a) =>
      a.processes.map((p) => ({
        name: p.program,
        loaded: { argv: [EXEC_WRAPPER, a.name, ...p.argv], directory: a.paths.current, user: a.user, environment: { HOME: a.paths.root, USER: a.user }, stdout_logfile: p.logFile, startsecs: p.startSecs, stopwaitsecs: p.stopWaitSecs },
      })),
    ),
    pythonFiles: plan.apps.flatMap((a) => {
      const g = a.gunicorn;
      if (!g || plan.role !== "web") return [];
      const globals = { bind: `unix:${g.socket}`, workers: g.workers, timeout: g.timeout, graceful_timeout: g.gracefulTimeout, keepalive: g.keepalive, preload_app: g.preloadApp, worker_tmp_dir: "/dev/shm", accesslog: "-", errorlog: "-", forwarded_allow_ips: "127.0.0.1", proc_name: a.name, umask: 0, daemon: false,
        HEALTH_CHECK_PATH: a.health.path, HEALTH_CHECKERS: [...HEALTH_CHECKER_AGENTS], logger_class: "<class 'HealthChecksUnlogged'>" };
      return [{ path: `${a.paths.config}/gunicorn.conf.py`, globals }];
    }),
    sites: plan.role === "web" ? plan.apps.filter((a) => a.gunicorn).map((a) => `/etc/nginx/sites-enabled/${a.name}.conf`) : [],
    logDirs: plan.apps.map((a) => a.paths.logs),
    users: new Map(plan.apps.map((a) => [a.user, `${a.user}:x:${a.uid}:${a.gid}:fawkes fuzz:/nonexistent:/usr/sbin/nologin`])),
  };
}

function dbExpected(env: EnvironmentPlan, db: DatabaseHostImage): HostExpected {
  const d = env.database!;
  const conf = db.files.find((f) => f.path.endsWith("/postgresql.conf"))!.path;
  return {
    role: "db",
    files: db.files,
    userData: db.userData,
    userDataFiles: db.files,
    command: DB_BOOTSTRAP_PATH,
    shellFiles: db.files.filter(isShell).map((f) => f.path),
    envFiles: [],
    varReads: [{ path: DB_BOOTSTRAP_PATH, globals: { STACK: d.stack, MAJOR: d.majorVersion, PORT: String(d.port), MASTER_USER: d.masterUser }, apps: {} }],
    programs: [
      {
        name: "postgresql",
        loaded: { argv: [`/usr/lib/postgresql/${d.majorVersion}/bin/postgres`, "-c", `config_file=${conf}`], directory: null, user: "postgres", environment: {}, stdout_logfile: "/var/log/fawkes/database/postgresql.log", startsecs: 2, stopwaitsecs: 60 },
      },
    ],
    pythonFiles: [],
    sites: [],
    logDirs: ["/var/log/fawkes/database"],
    users: new Map(),
  };
}

/** What every file of a rendered project means. */
export function expectedOf(env: EnvironmentPlan, images: HostImage[], db?: DatabaseHostImage): Expected {
  const hosts = env.hosts.map((plan) => hostExpected(plan, images.find((i) => i.role === plan.role)!));
  return { stack: env.spec.stack, hosts: db ? [...hosts, dbExpected(env, db)] : hosts };
}
