// The files of one app on a host: supervisord programs, gunicorn settings, nginx site, plain env.
import { HEALTH_CHECKER_AGENTS } from "../config/index.ts";
import { servedNames, type AppOnHost, type HostPlan, type ProcessPlan } from "../model/index.ts";
import { identifier } from "./quote.ts";
import { compileTemplate } from "./templates.ts";
import type { RenderedFile } from "./types.ts";

/** The wrapper every app command runs through (rendered by bootstrap.ts). */
export const EXEC_WRAPPER = "/usr/local/lib/fawkes/fawkes-exec";

interface SupervisorView {
  app: string;
  process: string;
  program: string;
  command: string[];
  directory: string;
  user: string;
  environment: { HOME: string; USER: string };
  startSecs: number;
  stopWaitSecs: number;
  logFile: string;
}

interface GunicornView {
  app: string;
  user: string;
  runDir: string;
  bind: string;
  workers: number;
  timeout: number;
  gracefulTimeout: number;
  keepalive: number;
  preloadApp: boolean;
  loadBalancerIdleTimeout: number;
  procName: string;
  /** Requests to it from a health checker leave no line in the access log. */
  healthPath: string;
  /** User-Agent prefixes of the checkers. */
  checkers: readonly string[];
}

/** A location nginx serves from disk: `alias` and `disable_symlinks from=` are whole tokens, quoted whole. */
interface NginxFiles {
  url: string;
  alias: string;
  symlinksFrom: string;
}

interface NginxView {
  app: string;
  upstream: string;
  upstreamServer: string;
  upstreamUrl: string;
  /** Without its `$`: the ngxVar helper adds it to a checked name. */
  protoVar: string;
  port: number;
  hostnames: string[];
  accessLog: string;
  errorLog: string;
  maxBodySize: string;
  loadBalancerIdleTimeout: number;
  /** With their unit: one nginx token each. */
  keepaliveTimeout: string;
  requestTimeout: number;
  proxyTimeout: string;
  static: NginxFiles | null;
  media: NginxFiles | null;
  healthPath: string;
  /** The Host the health path is proxied with, whatever Host the checker sent: the app's first name. */
  healthHost: string;
  /** Without its `$`: 0 for a health checker's request (by its User-Agent), 1 for anyone else's. */
  loggableVar: string;
  /** map patterns (`~^<prefix>`) matching the checkers' User-Agents. */
  checkerPatterns: string[];
}

interface AppEnvView {
  app: string;
  secrets: string[];
  secretsEnv: string;
  vars: Array<{ name: string; value: string }>;
}

const supervisorProgram = compileTemplate<SupervisorView>("supervisor-program.conf.hbs");
const gunicornConf = compileTemplate<GunicornView>("gunicorn.conf.py.hbs");
const nginxSite = compileTemplate<NginxView>("nginx-site.conf.hbs");
const appEnv = compileTemplate<AppEnvView>("app.env.hbs");

const rootFile = (path: string, content: string, mode = "0644"): RenderedFile => ({ path, content, mode, owner: "root:root" });

/** What supervisord sets for each of an app's programs; `fawkes run` gives a one-off command the same. */
export function programEnvironment(app: Pick<AppOnHost, "paths" | "user">): { HOME: string; USER: string } {
  return { HOME: app.paths.root, USER: app.user };
}

export function supervisorProgramFile(app: AppOnHost, p: ProcessPlan): RenderedFile {
  if (p.stopWaitSecs <= (app.gunicorn?.gracefulTimeout ?? 0)) {
    throw new Error(`${p.program}: stopwaitsecs ${p.stopWaitSecs} must be above gunicorn's graceful_timeout ${app.gunicorn?.gracefulTimeout}`);
  }
  return rootFile(
    `/etc/supervisor/conf.d/${p.program}.conf`,
    supervisorProgram({
      app: app.name,
      process: p.name,
      program: p.program,
      command: [EXEC_WRAPPER, app.name, ...p.argv],
      directory: app.paths.current,
      user: app.user,
      environment: programEnvironment(app),
      startSecs: p.startSecs,
      stopWaitSecs: p.stopWaitSecs,
      logFile: p.logFile,
    }),
  );
}

export function gunicornConfFile(plan: HostPlan, app: AppOnHost): RenderedFile | undefined {
  const g = app.gunicorn;
  if (plan.role !== "web" || !g) return undefined;
  return rootFile(
    `${app.paths.config}/gunicorn.conf.py`,
    gunicornConf({
      app: app.name,
      user: app.user,
      runDir: app.paths.run,
      bind: `unix:${g.socket}`,
      workers: g.workers,
      timeout: g.timeout,
      gracefulTimeout: g.gracefulTimeout,
      keepalive: g.keepalive,
      preloadApp: g.preloadApp,
      loadBalancerIdleTimeout: plan.loadBalancerIdleTimeout,
      procName: app.name,
      healthPath: app.health.path,
      checkers: HEALTH_CHECKER_AGENTS,
    }),
  );
}

/** The app's nginx logs, beside its processes' (web hosts only): the CloudWatch agent ships them too. */
export function nginxLogFiles(plan: HostPlan, app: AppOnHost): { accessLog: string; errorLog: string } | undefined {
  if (plan.role !== "web" || !app.gunicorn) return undefined;
  return { accessLog: `${app.paths.logs}/nginx-access.log`, errorLog: `${app.paths.logs}/nginx-error.log` };
}

/**
 * The Host nginx proxies an app's health path with, whatever Host the checker sent (the ALB sends
 * the host's address and port): the app's first name, one it always accepts.
 */
const healthHostOf = (app: Pick<AppOnHost, "name" | "hostnames">): string => {
  const host = app.hostnames[0];
  if (host === undefined) throw new Error(`app ${app.name} serves HTTP but has no host name`);
  return host;
};

/** nginx variable and upstream names allow no "-". */
const ident = (app: string) => identifier(app.replace(/-/g, "_"));

/** Files under `dir` served at `url`, links followed only to their owner's files. */
const served = (url: string, dir: string): NginxFiles => {
  const path = dir.replace(/\/+$/, "");
  return { url, alias: `${path}/`, symlinksFrom: `from=${path}` };
};

export function nginxSiteFile(plan: HostPlan, app: AppOnHost): RenderedFile | undefined {
  const g = app.gunicorn;
  const logs = nginxLogFiles(plan, app);
  if (!g || !logs) return undefined;
  const upstream = `fawkes_${ident(app.name)}`;
  return rootFile(
    `/etc/nginx/sites-enabled/${app.name}.conf`,
    nginxSite({
      app: app.name,
      upstream,
      upstreamServer: `unix:${g.socket}`,
      upstreamUrl: `http://${upstream}`,
      protoVar: `fawkes_${ident(app.name)}_proto`,
      port: app.port,
      hostnames: app.hostnames,
      ...logs,
      maxBodySize: app.maxBodySize,
      loadBalancerIdleTimeout: plan.loadBalancerIdleTimeout,
      // Above the balancer's idle timeout, like gunicorn's keepalive.
      keepaliveTimeout: `${plan.loadBalancerIdleTimeout + 5}s`,
      requestTimeout: app.requestTimeout,
      proxyTimeout: `${app.requestTimeout + 5}s`,
      // Static files ship in the release; media are uploads on shared storage.
      static: app.static ? served(app.static.url, `${app.paths.current}/${app.static.dir}`) : null,
      media: app.media ? served(app.media.url, `${app.paths.shared}/${app.media.dir}`) : null,
      healthPath: app.health.path,
      healthHost: healthHostOf(app),
      loggableVar: `fawkes_${ident(app.name)}_loggable`,
      checkerPatterns: HEALTH_CHECKER_AGENTS.map((agent) => `~^${agent.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&")}`),
    }),
  );
}

/**
 * The variables fawkes itself sets win over a catalogue env of the same name. FAWKES_HOSTS is the
 * same on both targets; fawkes-exec appends the host's own addresses, which only its boot knows.
 */
export function appEnvironment(plan: HostPlan, app: AppOnHost): Array<{ name: string; value: string }> {
  const vars: Record<string, string> = { ...app.env, FAWKES_APP: app.name, FAWKES_HOSTS: servedNames(app).join(","), FAWKES_RELEASE: app.release, FAWKES_STACK: plan.stack };
  return Object.keys(vars)
    .sort()
    .map((name) => ({ name, value: vars[name]! }));
}

export function appEnvFile(plan: HostPlan, app: AppOnHost): RenderedFile {
  return rootFile(app.paths.env, appEnv({ app: app.name, secrets: app.secrets, secretsEnv: app.paths.secretsEnv, vars: appEnvironment(plan, app) }));
}

/** Every file of one app on a host of this role. */
export function appFiles(plan: HostPlan, app: AppOnHost): RenderedFile[] {
  const files = [appEnvFile(plan, app), ...app.processes.map((p) => supervisorProgramFile(app, p))];
  for (const f of [gunicornConfFile(plan, app), nginxSiteFile(plan, app)]) if (f) files.push(f);
  return files;
}
