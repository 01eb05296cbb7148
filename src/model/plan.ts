import type { EnvironmentSpec, FleetSize, ResolvedApp } from "../config/index.ts";
import { budgetName, shortHash } from "../names/index.ts";
import { appDatabase, DATABASE_PASSWORD_RULE, databasePlan, type AppDatabase, type DatabasePlan } from "./database.ts";
import { parameterPrefixOf } from "./operations.ts";
import { bootTimes, type BootTimes } from "./rollout.ts";

import { ROLES, type Role } from "./role.ts";

export { ROLES, type Role } from "./role.ts";
/** Hash key of the release-lock table: the table and the hosts' bootstrap both read it from here. */
export const LOCK_KEY = "LockID";
/**
 * The item of that table that is the stack's deploy lock (fawkes on the deploying machine, not the
 * hosts). The hosts' locks are `<app>-database` and `<app>-<release>-hooks`: never a name without a dash.
 */
export const DEPLOY_LOCK_ITEM = "deploy";

/**
 * What only a host's boot knows, written there by the bootstrap for every app's fawkes-exec to read
 * (root's, 0644): the host's own addresses, which FAWKES_HOSTS ends with.
 */
export const HOST_ENV = "/etc/fawkes/host.env";

/** Where an app lives on every host. The release dir holds source and venv; shared/ is shared storage. */
export interface AppPaths {
  root: string;
  releases: string;
  current: string;
  shared: string;
  config: string;
  logs: string;
  run: string;
  /** Env file written at boot from the secret store, readable by the app's user only. */
  secretsEnv: string;
  /** Plain environment of the app, rendered from the catalogue. */
  env: string;
}

export interface ProcessPlan {
  app: string;
  name: string;
  /** supervisord program name: `<app>-<process>`. */
  program: string;
  role: Role;
  kind: "gunicorn" | "command";
  /** argv run (through fawkes-exec) from the app's current release. */
  argv: string[];
  startSecs: number;
  stopWaitSecs: number;
  logFile: string;
}

export interface GunicornPlan {
  wsgi: string;
  socket: string;
  workers: number;
  timeout: number;
  gracefulTimeout: number;
  keepalive: number;
  preloadApp: boolean;
}

export interface AppOnHost {
  name: string;
  user: string;
  uid: number;
  gid: number;
  release: string;
  paths: AppPaths;
  /** Port nginx listens on for this app; the load balancer's target group sends traffic here. */
  port: number;
  /** Full host names, e.g. `shop.staging.example.com`: what the ALB routes to the app. */
  hostnames: string[];
  /** The same labels under `<stack>.localhost`, e.g. `shop.staging.localhost`: what the local target's HAProxy routes too. */
  localHostnames: string[];
  health: ResolvedApp["health"];
  static?: { url: string; dir: string };
  media?: { url: string; dir: string };
  shared: string[];
  hooks: string[];
  secrets: string[];
  /** Names of the app's queues; their URLs are fetched at boot (FAWKES_QUEUE_<NAME>_URL). */
  queues: string[];
  /** The app's database and role, when it has one; DATABASE_URL is made at boot. */
  database?: AppDatabase;
  env: Record<string, string>;
  maxBodySize: string;
  requestTimeout: number;
  /** Present on web hosts when the app has a wsgi process. */
  gunicorn?: GunicornPlan;
  processes: ProcessPlan[];
}

/** The plan of every host of one role: what each such host runs. Hosts of a role are identical. */
export interface HostPlan {
  project: string;
  stack: string;
  role: Role;
  fleet: FleetSize;
  instanceType: string;
  vcpus: number;
  apps: AppOnHost[];
  image: { distribution: string; packages: string[]; recipeHash: string };
  /** Names the host uses at boot to reach the environment's stores, the same on every target. */
  stores: { artifactBucket: string; parameterPrefix: string; lockTable: string; lockKey: string };
  loadBalancerIdleTimeout: number;
  /** From rollout.bootSeconds: the group's grace period, the bootstrap's own deadline and its lock wait. */
  boot: BootTimes;
  /** What the bootstrap needs of the environment's database, when an app of this role has one. */
  database?: { masterUser: string; port: number; backupBeforeRelease: boolean; passwordRule: string; dumpPrefix: string; parameters: DatabasePlan["parameters"] };
}

export interface EnvironmentPlan {
  spec: EnvironmentSpec;
  hosts: HostPlan[];
  /** The environment's PostgreSQL, when an app has a database. */
  database?: DatabasePlan;
}

/** Apps served over HTTP: those with a wsgi process, as planned on the web hosts. */
export function servedApps(plan: EnvironmentPlan): AppOnHost[] {
  return plan.hosts.find((h) => h.role === "web")?.apps.filter((a) => a.gunicorn !== undefined) ?? [];
}

/** A label's name on the local target: `<label>.<stack>.localhost`, which browsers and curl resolve to 127.0.0.1 by themselves. */
export function localHostname(label: string, stack: string): string {
  return `${label}.${stack}.localhost`;
}

/**
 * FAWKES_HOSTS as rendered, the same for both targets: every name the app is served under, the
 * ALB's (`<label>.<domain>`, the first one first) and then the local target's. The bootstrap adds
 * the host's own addresses at boot, the Host health checks send.
 */
export function servedNames(app: Pick<AppOnHost, "hostnames" | "localHostnames">): string[] {
  return [...app.hostnames, ...app.localHostnames];
}

/** vCPUs of an EC2 instance type, from its size; enough to size gunicorn. */
export function vcpusOf(instanceType: string): number {
  const size = instanceType.split(".")[1] ?? "";
  if (size === "metal") return 64;
  const m = /^([0-9]*)xlarge$/.exec(size);
  if (m) return 4 * (m[1] === "" ? 1 : Number(m[1]));
  return size === "nano" || size === "micro" || size === "small" || size === "medium" || size === "large" ? 2 : 2;
}

export function appPaths(app: string): AppPaths {
  const root = `/srv/apps/${app}`;
  const config = `/etc/fawkes/apps/${app}`;
  return {
    root,
    releases: `${root}/releases`,
    current: `${root}/current`,
    shared: `${root}/shared`,
    config,
    logs: `/var/log/fawkes/${app}`,
    run: `/run/fawkes/${app}`,
    secretsEnv: `${config}/secrets.env`,
    env: `${config}/app.env`,
  };
}

/** Packages of every host, as the recipe names them: sorted and unique. */
export function imagePackages(recipe: { packages: readonly string[] }): string[] {
  return [...new Set(recipe.packages)].sort();
}

/** What an image is made of, named by a hash: the same recipe gives the same hash on both targets. */
export function recipeHash(recipe: { distribution: string; packages: readonly string[]; steps: readonly { name: string; run: string }[] }): string {
  return shortHash(JSON.stringify([recipe.distribution, imagePackages(recipe), recipe.steps.map((s) => [s.name, s.run])]), 8);
}

function planApp(spec: EnvironmentSpec, app: ResolvedApp, role: Role, webAppsOnRole: number, vcpus: number): AppOnHost {
  const paths = appPaths(app.name);
  const cat = spec.catalogue;
  const graceful = cat.gunicorn.gracefulTimeoutSeconds;
  // supervisord must wait longer than gunicorn's graceful shutdown, or it kills in-flight requests.
  const stopWaitSecs = graceful + 10;
  const processes: ProcessPlan[] = [];
  let gunicorn: GunicornPlan | undefined;
  for (const [name, p] of Object.entries(app.processes)) {
    if (p.role !== role) continue;
    const common = {
      app: app.name,
      name,
      program: `${app.name}-${name}`,
      role,
      startSecs: app.bootSeconds,
      stopWaitSecs,
      logFile: `${paths.logs}/${name}.log`,
    };
    if (p.wsgi !== undefined) {
      // The host's 2 x vCPU + 1 worker budget is shared by the web apps on it.
      const workers = p.workers ?? Math.max(2, Math.floor((2 * vcpus + 1) / Math.max(1, webAppsOnRole)));
      gunicorn = {
        wsgi: p.wsgi,
        socket: `${paths.run}/gunicorn.sock`,
        workers,
        timeout: app.requestTimeoutSeconds,
        gracefulTimeout: graceful,
        // Above the load balancer's idle timeout, so the balancer closes idle connections first.
        keepalive: cat.loadBalancer.idleTimeoutSeconds + 5,
        preloadApp: cat.gunicorn.preloadApp,
      };
      processes.push({ ...common, kind: "gunicorn", argv: ["gunicorn", "--config", `${paths.config}/gunicorn.conf.py`, p.wsgi] });
    } else {
      processes.push({ ...common, kind: "command", argv: ["/bin/sh", "-c", `exec ${p.command}`] });
    }
  }
  return {
    name: app.name,
    user: app.name,
    uid: app.uid,
    gid: app.uid,
    release: spec.knobs.releases[app.name]!,
    paths,
    port: app.port,
    hostnames: app.domains.map((label) => `${label}.${spec.knobs.domain}`),
    localHostnames: app.domains.map((label) => localHostname(label, spec.stack)),
    health: app.health,
    ...(app.static ? { static: app.static } : {}),
    ...(app.media ? { media: app.media } : {}),
    shared: [...app.shared],
    hooks: [...app.hooks.release],
    secrets: [...app.secrets],
    queues: app.queues.map((q) => q.name),
    ...(app.database ? { database: appDatabase(app.name, spec) } : {}),
    env: { ...app.env },
    maxBodySize: app.maxBodySize,
    requestTimeout: app.requestTimeoutSeconds,
    ...(gunicorn ? { gunicorn } : {}),
    processes,
  };
}

/** The names of an environment's stores: what hosts reach at boot, and fawkes itself (the lock table's deploy lock). */
export function storesOf(spec: EnvironmentSpec): HostPlan["stores"] {
  return {
    // Bucket names are global across all accounts: the account and region make it unique.
    artifactBucket: budgetName("s3Bucket", spec.project, spec.stack, "artifacts", spec.knobs.accountId ?? "", spec.knobs.region),
    parameterPrefix: parameterPrefixOf(spec.project, spec.stack),
    lockTable: budgetName("autoScalingGroup", spec.project, spec.stack, "locks"),
    lockKey: LOCK_KEY,
  };
}

/** EnvironmentSpec -> one HostPlan per role that has something to run. Pure and deterministic. */
export function planEnvironment(spec: EnvironmentSpec): EnvironmentPlan {
  const vcpus = vcpusOf(spec.knobs.instanceType);
  const image = spec.catalogue.image;
  const stores = storesOf(spec);
  const database = databasePlan(spec);
  const hosts: HostPlan[] = [];
  for (const role of ROLES) {
    const apps = spec.catalogue.apps.filter((a) => Object.values(a.processes).some((p) => p.role === role));
    if (apps.length === 0) continue;
    const webApps = apps.filter((a) => Object.values(a.processes).some((p) => p.wsgi !== undefined)).length;
    hosts.push({
      project: spec.project,
      stack: spec.stack,
      role,
      fleet: spec.knobs.fleet[role],
      instanceType: spec.knobs.instanceType,
      vcpus,
      apps: apps.map((a) => planApp(spec, a, role, webApps, vcpus)),
      image: { distribution: image.distribution, packages: imagePackages(image), recipeHash: recipeHash(image) },
      stores,
      loadBalancerIdleTimeout: spec.catalogue.loadBalancer.idleTimeoutSeconds,
      boot: bootTimes(spec.knobs.rollout.bootSeconds),
      ...(database && apps.some((a) => a.database)
        ? { database: { masterUser: database.masterUser, port: database.port, backupBeforeRelease: database.knobs.backupBeforeRelease, passwordRule: DATABASE_PASSWORD_RULE, dumpPrefix: database.dumpPrefix, parameters: database.parameters } }
        : {}),
    });
  }
  return { spec, hosts, ...(database ? { database } : {}) };
}
