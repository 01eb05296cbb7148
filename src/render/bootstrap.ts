// The two scripts every host carries: fawkes-bootstrap (run once by cloud-init) and fawkes-exec
// (how supervisord and the release hooks run an app's commands).
import { HEALTH_CHECK_USER_AGENT } from "../config/index.ts";
import { HOST_ENV, type AppOnHost, type AppPaths, type HostPlan } from "../model/index.ts";
import { EXEC_WRAPPER } from "./app-files.ts";
import { CLOUDWATCH_AGENT_CONFIG_PATH } from "./cloudwatch-agent.ts";
import { compileTemplate, registerPartial, withoutComments } from "./templates.ts";
import type { HostBundle } from "./types.ts";
import type { RenderedFile } from "./types.ts";

export const BOOTSTRAP_PATH = "/usr/local/sbin/fawkes-bootstrap";
/** Stage 1, the one file of the user-data: fetches, verifies and unpacks the bundle, runs the bootstrap. */
export const BOOT_PATH = "/usr/local/sbin/fawkes-boot";

/** Seconds the bootstrap waits for an app's health path after supervisord started it. */
const HEALTH_GRACE_SECONDS = 60;

interface BootstrapApp {
  name: string;
  uid: number;
  gid: number;
  release: string;
  /** The release tarball's sha256 as the deploy read it: the host verifies against this alone. */
  releaseSha256: string;
  paths: AppPaths;
  shared: string[];
  mediaDir: string;
  secrets: string[];
  queues: string[];
  /** Empty for an app without a database. */
  databaseName: string;
  databaseRole: string;
  hooks: string[];
  /** Empty on hosts where the app serves no HTTP (worker role). */
  port: string;
  healthPath: string;
  healthWaitSeconds: number;
  /** GET or HEAD, and the statuses that count healthy in the ALB's matcher syntax. */
  healthMethod: string;
  healthStatuses: string;
}

interface BootstrapView {
  project: string;
  stack: string;
  role: string;
  recipeHash: string;
  packages: string[];
  appNames: string[];
  programs: string[];
  commandPrograms: string[];
  stores: HostPlan["stores"];
  execWrapper: string;
  /** The agent configuration the AWS adapter starts the CloudWatch agent with. */
  cloudWatchAgentConfig: string;
  /** Present when an app of this host has a database: the database partial is rendered only then. */
  database?: HostPlan["database"];
  programWaitSeconds: number;
  hostEnv: string;
  healthUserAgent: string;
  /** The bootstrap's own deadline and its lock waits, from rollout.bootSeconds. */
  boot: HostPlan["boot"];
  apps: BootstrapApp[];
}

interface BootView {
  project: string;
  stack: string;
  role: string;
  stores: Pick<HostPlan["stores"], "artifactBucket">;
  bundleKey: string;
  bundleSha256: string;
  bootstrap: string;
  selfTimeoutSeconds: number;
}

interface ExecView {
  hostEnv: string;
  apps: Array<{ name: string; env: string; secretsEnv: string; current: string }>;
  /** For the unknown-app message: the same names, as bash words. */
  names: string[];
}

registerPartial("bootstrapLog", "fawkes-bootstrap-log.sh.hbs");
registerPartial("bootstrapStore", "fawkes-bootstrap-store.sh.hbs");
registerPartial("bootstrapHost", "fawkes-bootstrap-host.sh.hbs");
registerPartial("bootstrapAws", "fawkes-bootstrap-aws.sh.hbs");
registerPartial("bootstrapLocal", "fawkes-bootstrap-local.sh.hbs");
registerPartial("bootstrapRelease", "fawkes-bootstrap-release.sh.hbs");
registerPartial("bootstrapServices", "fawkes-bootstrap-services.sh.hbs");
registerPartial("bootstrapDatabase", "fawkes-bootstrap-database.sh.hbs");
const bootstrap = compileTemplate<BootstrapView>("fawkes-bootstrap.sh.hbs");
const fawkesExec = compileTemplate<ExecView>("fawkes-exec.sh.hbs");
const boot = compileTemplate<BootView>("fawkes-boot.sh.hbs");

const bootSeconds = (app: AppOnHost) => Math.max(0, ...app.processes.map((p) => p.startSecs));

function bootstrapApp(app: AppOnHost, releaseSha256: string): BootstrapApp {
  const web = app.gunicorn !== undefined;
  return {
    name: app.name,
    uid: app.uid,
    gid: app.gid,
    release: app.release,
    releaseSha256,
    paths: app.paths,
    shared: app.shared,
    mediaDir: app.media?.dir ?? "",
    secrets: app.secrets,
    queues: app.queues,
    databaseName: app.database?.name ?? "",
    databaseRole: app.database?.role ?? "",
    hooks: app.hooks,
    port: web ? String(app.port) : "",
    healthPath: web ? app.health.path : "",
    healthWaitSeconds: bootSeconds(app) + HEALTH_GRACE_SECONDS,
    healthMethod: app.health.method,
    healthStatuses: app.health.statuses,
  };
}

/** `sums`: app -> its pinned release's sha256 (release-sums.ts checks every app has one). */
export function bootstrapFile(plan: HostPlan, sums: Readonly<Record<string, string>>): RenderedFile {
  const content = withoutComments(bootstrap({
    project: plan.project,
    stack: plan.stack,
    role: plan.role,
    recipeHash: plan.image.recipeHash,
    packages: plan.image.packages,
    appNames: plan.apps.map((a) => a.name),
    programs: plan.apps.flatMap((a) => a.processes.map((p) => p.program)),
    // A web program is proven by its health path answering; the others by supervisord's RUNNING.
    commandPrograms: plan.apps.flatMap((a) => a.processes.filter((p) => p.kind === "command").map((p) => p.program)),
    stores: plan.stores,
    execWrapper: EXEC_WRAPPER,
    cloudWatchAgentConfig: CLOUDWATCH_AGENT_CONFIG_PATH,
    ...(plan.database ? { database: plan.database } : {}),
    // supervisord counts a program RUNNING after startsecs; allow that plus a margin.
    programWaitSeconds: Math.max(0, ...plan.apps.map(bootSeconds)) + 30,
    hostEnv: HOST_ENV,
    healthUserAgent: HEALTH_CHECK_USER_AGENT,
    boot: plan.boot,
    apps: plan.apps.map((a) => bootstrapApp(a, sums[a.name]!)),
  }));
  return { path: BOOTSTRAP_PATH, content, mode: "0755", owner: "root:root" };
}

export function execWrapperFile(plan: HostPlan): RenderedFile {
  const content = fawkesExec({
    hostEnv: HOST_ENV,
    apps: plan.apps.map((a) => ({ name: a.name, env: a.paths.env, secretsEnv: a.paths.secretsEnv, current: a.paths.current })),
    names: plan.apps.map((a) => a.name),
  });
  return { path: EXEC_WRAPPER, content, mode: "0755", owner: "root:root" };
}

/** Stage 1: the same bytes whatever the apps, but for the bundle's key and sum and the boot deadline. */
export function bootFile(plan: HostPlan, bundle: HostBundle): RenderedFile {
  const content = withoutComments(boot({
    project: plan.project,
    stack: plan.stack,
    role: plan.role,
    stores: { artifactBucket: plan.stores.artifactBucket },
    bundleKey: bundle.key,
    bundleSha256: bundle.sha256,
    bootstrap: BOOTSTRAP_PATH,
    selfTimeoutSeconds: plan.boot.selfTimeoutSeconds,
  }));
  return { path: BOOT_PATH, content, mode: "0755", owner: "root:root" };
}
