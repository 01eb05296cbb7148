// `fawkes run`, as data: which host of the stack runs the command, the argv that makes it one of
// the app's processes there (the environment, user and release dir supervisord gives them, through
// the same fawkes-exec), and the command line the history keeps. Both targets build on these.
import type { EnvironmentPlan, AppOnHost, Role } from "../model/index.ts";
import { ROLES } from "../model/index.ts";
import { EXEC_WRAPPER, programEnvironment } from "../render/app-files.ts";
import { shellWords } from "../render/index.ts";
import { HOST_PATH } from "../local/host.ts";

/** fawkes's own failure in `fawkes run` (no such host, stack not up, AWS refused): the command did not run, or its outcome is unknown. */
export class RunError extends Error {}

/**
 * The exit code of fawkes's own failures in `fawkes run`, usage errors included: every other code
 * is the command's. 125, as `docker run` and `env` say that they, not the command, failed.
 */
export const RUN_FAILED = 125;

export type RunTarget = "local" | "aws";

/** What the user asked: the app, where, and the command as an argv (never re-split by a shell). */
export interface RunRequest {
  root: string;
  stack: string;
  app: string;
  /** A host of the stack that runs the app (a local host's name, or an instance id on AWS); default: chosen. */
  host?: string;
  argv: readonly string[];
  target: RunTarget;
}

/** A host the command could run on: a running host of a role that runs the app. */
export interface RunHost {
  name: string;
  role: Role;
}

/**
 * The roles whose hosts run the app, web first: the roles of its processes. An app with a web
 * process runs on web hosts; one with worker processes only, on worker hosts.
 */
export function rolesOf(plan: EnvironmentPlan, app: string): Role[] {
  if (!plan.spec.catalogue.apps.some((a) => a.name === app)) {
    throw new RunError(`no app "${app}" in the catalogue (Pulumi.yaml); apps: ${plan.spec.catalogue.apps.map((a) => a.name).join(", ")}`);
  }
  return ROLES.filter((role) => plan.hosts.some((h) => h.role === role && h.apps.some((a) => a.name === app)));
}

/** The app as the hosts of `role` run it: its user, paths and release. */
export function appOnRole(plan: EnvironmentPlan, role: Role, app: string): AppOnHost {
  const found = plan.hosts.find((h) => h.role === role)?.apps.find((a) => a.name === app);
  if (!found) throw new RunError(`the ${role} hosts of ${plan.spec.stack} do not run ${app}`);
  return found;
}

/**
 * The host the command runs on: `wanted` when it is one of `hosts`, else the first host of the
 * app's first role (web before worker). `hosts` are those that run the app, in the order to prefer.
 */
export function chooseHost(hosts: readonly RunHost[], app: string, stack: string, wanted?: string): RunHost {
  const listed = hosts.map((h) => `${h.name} (${h.role})`).join(", ");
  if (wanted !== undefined) {
    const host = hosts.find((h) => h.name === wanted);
    if (!host) throw new RunError(`${wanted} is not a running host of ${stack} that runs ${app}; ${hosts.length > 0 ? `those that do: ${listed}` : "none does"}`);
    return host;
  }
  const host = hosts[0];
  if (!host) throw new RunError(`no running host of ${stack} runs ${app}`);
  return host;
}

/** Web hosts before worker hosts. */
export const byRole = (a: RunHost, b: RunHost) => ROLES.indexOf(a.role) - ROLES.indexOf(b.role);
/** Hosts sorted by role, then the way fawkes names them: dev-web-2 before dev-web-10. */
export const byName = (a: RunHost, b: RunHost) => byRole(a, b) || a.name.localeCompare(b.name, undefined, { numeric: true });

/** A terminal type to pass on: a plain name (xterm-256color), nothing that could be more. */
const TERM_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/**
 * The argv, run as root in the host, that runs `argv` as one of the app's processes: the
 * environment supervisord gives its programs (PATH, and HOME and USER as the program file sets
 * them; nothing of fawkes's own environment), the app's user and groups as supervisord sets them
 * (setuid, no PAM), then fawkes-exec: the app's env file and secrets, its venv, its `current`
 * release dir. TERM only when the command gets a terminal.
 */
export function appProcessArgv(app: AppOnHost, argv: readonly string[], term?: string): string[] {
  if (argv.length === 0) throw new RunError("no command to run");
  const env: Record<string, string> = { PATH: HOST_PATH, ...programEnvironment(app), ...(term !== undefined && TERM_NAME.test(term) ? { TERM: term } : {}) };
  return ["env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "setpriv", `--reuid=${app.user}`, `--regid=${app.user}`, "--init-groups", "--", EXEC_WRAPPER, app.name, ...argv];
}

/** The command line as the history shows it: the argv quoted for bash, so that it reads back as given. */
export function runCommandLine(req: Pick<RunRequest, "app" | "stack" | "target" | "argv">, host: string): string {
  const target = req.target === "aws" ? " --target aws" : "";
  return `fawkes run ${req.app} --stack ${req.stack} --host ${host}${target} -- ${shellWords(req.argv)}`;
}
