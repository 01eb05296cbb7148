// What an app's catalogue entry may not ask for because of where fawkes puts it on a host: the
// release dir it shares with fawkes' own files, nginx's locations, the log dir, the environment.
// Each rule says what would break at boot (or what would be exposed) and what to write instead.
import { z } from "zod";

/** What a release dir holds besides the app's source: `fawkes build` and the bootstrap put them there. */
export const RELEASE_ENTRIES: readonly string[] = ["venv", "wheelhouse", "manifest.json", "requirements.txt", "shared"];

/** Files fawkes writes in an app's log dir beside each process's `<process>.log` (src/render/app-files.ts). */
export const APP_LOG_NAMES: readonly string[] = ["nginx-access", "nginx-error"];

/** Names fawkes sets in every app's environment (FAWKES_APP, FAWKES_HOSTS, FAWKES_STACK, FAWKES_QUEUE_<NAME>_URL…); its own win. */
export const FAWKES_ENV_PREFIX = "FAWKES_";

/**
 * Names bash gives a meaning (read-only, arithmetic or dynamic; measured with bash 5.2): fawkes-exec
 * sources an app's env and secrets with bash, where `UID=…` fails and `SECONDS=…` reads back another value.
 */
export const BASH_SPECIAL_NAMES: readonly string[] = [
  ...["UID", "EUID", "PPID", "SHELLOPTS", "BASHOPTS", "BASH_VERSINFO"],
  ...["RANDOM", "SRANDOM", "HISTCMD", "OPTIND"],
  ...["SECONDS", "LINENO", "EPOCHSECONDS", "EPOCHREALTIME", "BASHPID", "GROUPS", "FUNCNAME", "BASH_SUBSHELL", "BASH_COMMAND", "BASH_LINENO", "BASH_SOURCE", "BASH_ARGC", "BASH_ARGV", "PIPESTATUS", "DIRSTACK"],
  ...["BASH_XTRACEFD", "BASH_COMPAT"],
];

/** Why an env or secret name cannot be used, or undefined. */
function envNameProblem(name: string): string | undefined {
  if (name.startsWith(FAWKES_ENV_PREFIX)) return `names beginning ${FAWKES_ENV_PREFIX} are fawkes' own (FAWKES_APP, FAWKES_HOSTS, FAWKES_RELEASE, FAWKES_STACK, FAWKES_QUEUE_<NAME>_URL); rename it`;
  if (BASH_SPECIAL_NAMES.includes(name)) return `"${name}" is a variable bash keeps for itself (read-only or computed), and the app's environment is read by bash: it would fail or read back another value; rename it`;
  return undefined;
}

/** Linux refuses one environment string over 128 KiB (MAX_ARG_STRLEN): every exec of the app would fail. */
const ENV_VALUE_MAX = 64 * 1024;
/** Environment and arguments share ARG_MAX (2 MiB with the default 8 MiB stack). */
const ENV_TOTAL_MAX = 1024 * 1024;

export const EnvValue = z.string().superRefine((v, ctx) => {
  if (v.includes("\u0000")) ctx.addIssue({ code: "custom", message: "contains a NUL character, which no environment variable can hold; remove it" });
  else if (Buffer.byteLength(v) > ENV_VALUE_MAX) ctx.addIssue({ code: "custom", message: `is ${Buffer.byteLength(v)} bytes; an environment value is at most ${ENV_VALUE_MAX} (Linux refuses to start a process with one over 128 KiB): put large data in a file of the app` });
});

export interface AppIssue {
  path: PropertyKey[];
  message: string;
}

export interface AppLayout {
  static?: { url: string; dir: string } | undefined;
  media?: { url: string; dir: string } | undefined;
  shared: readonly string[];
  env: Readonly<Record<string, string>>;
  secrets: readonly string[];
  processes: Readonly<Record<string, unknown>>;
  domains?: readonly string[] | undefined;
}

const top = (path: string) => path.split("/")[0]!;
const inside = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

/** Every problem of one app's layout, by key path inside the app. */
export function appLayoutIssues(app: AppLayout): AppIssue[] {
  const out: AppIssue[] = [];
  for (const kind of ["static", "media"] as const) {
    if (app[kind]?.url === "/") out.push({ path: [kind, "url"], message: `"/" would take every request of the app away from gunicorn (nginx's location / proxies to it) and nginx would refuse the site; use a prefix like "/${kind}/"` });
  }
  if (app.static && app.media && app.static.url === app.media.url && app.static.url !== "/") {
    out.push({ path: ["media", "url"], message: `"${app.media.url}" is also static.url: nginx refuses two locations of one prefix, so no host would serve the app; give media its own, like "/media/"` });
  }
  if (app.static) {
    const dir = app.static.dir;
    if (RELEASE_ENTRIES.includes(top(dir))) {
      out.push({ path: ["static", "dir"], message: `"${dir}" is fawkes' part of the release (${RELEASE_ENTRIES.join(", ")}), which nginx would then serve to anyone; name the dir your static files are collected in, like "staticfiles"` });
    } else {
      const shared = app.shared.find((s) => inside(dir, s) || inside(s, dir));
      if (shared !== undefined) out.push({ path: ["static", "dir"], message: `"${dir}" overlaps the shared dir "${shared}": static files come from the release, shared dirs from shared storage (serve those as media); choose a dir of the release` });
    }
  }
  app.shared.forEach((dir, i) => {
    if (RELEASE_ENTRIES.includes(top(dir))) {
      out.push({ path: ["shared", i], message: `"${dir}" would put shared storage in place of the release's ${top(dir)} (fawkes' own: ${RELEASE_ENTRIES.join(", ")}), which every host would then lose at boot; choose another name` });
      return;
    }
    const first = app.shared.findIndex((other, j) => j !== i && (other === dir ? j < i : inside(dir, other)));
    if (first === -1) return;
    const other = app.shared[first]!;
    out.push({
      path: ["shared", i],
      message:
        other === dir
          ? `duplicate shared dir "${dir}" (also shared[${first}])`
          : `"${dir}" is inside the shared dir "${other}" (shared[${first}]): linking it would go through the link of "${other}" and replace what shared storage holds there at every boot; keep only "${other}"`,
    });
  });
  for (const name of Object.keys(app.processes)) {
    if (APP_LOG_NAMES.includes(name)) out.push({ path: ["processes", name], message: `its log file would be nginx's ${name}.log in the app's log dir; rename the process` });
  }
  for (const name of Object.keys(app.env)) {
    const problem = envNameProblem(name);
    if (problem !== undefined) out.push({ path: ["env", name], message: problem });
    else if (app.secrets.includes(name)) out.push({ path: ["env", name], message: `"${name}" is also a secret, whose value would win at run time; keep it in one of env and secrets` });
  }
  app.secrets.forEach((name, i) => {
    const problem = envNameProblem(name);
    if (problem !== undefined) out.push({ path: ["secrets", i], message: problem });
    else if (app.secrets.indexOf(name) !== i) out.push({ path: ["secrets", i], message: `duplicate secret "${name}" (also secrets[${app.secrets.indexOf(name)}])` });
  });
  const envBytes = Object.entries(app.env).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 2, 0);
  if (envBytes > ENV_TOTAL_MAX) out.push({ path: ["env"], message: `holds ${envBytes} bytes; an app's environment is at most ${ENV_TOTAL_MAX} (it shares Linux's ARG_MAX with the command line): put large data in a file of the app` });
  (app.domains ?? []).forEach((label, j, all) => {
    if (all.indexOf(label) !== j) out.push({ path: ["domains", j], message: `duplicate label "${label}" (also domains[${all.indexOf(label)}])` });
  });
  return out;
}

/** The supervisord program of an app's process (src/model/plan.ts names it so): unique on a host. */
export function programName(app: string, process: string): string {
  return `${app}-${process}`;
}
