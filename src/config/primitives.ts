import { z } from "zod";
import { APP_NAME, APP_NAME_RULE, RELEASE_ID, RELEASE_ID_RULE } from "../names/index.ts";
import { quoted } from "./problems.ts";

/** App and process names become unix users, directory names and parts of AWS names. */
export const AppName = z
  .string()
  .regex(APP_NAME, `must be ${APP_NAME_RULE} (it becomes a unix user and part of AWS names)`);

export const ProcessName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,23}$/, "must be 1-24 characters of a-z, 0-9, '_' and '-', starting with a letter");

/** One DNS label (RFC 1123): what an app puts in front of the stack's domain. */
export const DnsLabel = z
  .string()
  .regex(/^(?!-)[a-z0-9-]{1,63}(?<!-)$/, "must be a DNS label: 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'");

const DNS_NAME = /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;

/** One message per name: the first thing wrong with it. */
export const DnsName = z.string().superRefine((name, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: "custom", message });
  if (name.length > 253) fail(`must be at most 253 characters (a DNS name), got ${name.length}`);
  else if (!DNS_NAME.test(name)) fail("must be a lowercase DNS name with at least two labels, like \"staging.example.com\"");
  // An all-digit top-level label is an IP address or no name at all (RFC 3696, 2).
  else if (/^[0-9]+$/.test(name.slice(name.lastIndexOf(".") + 1))) fail(`must end in a top-level domain with a letter, like "staging.example.com", got ${JSON.stringify(name)} (an address is not a domain)`);
});

/**
 * A pin is text: YAML reads an unquoted 1.10 as the number 1.1 and 0x1F as 31, so a number where a
 * pin belongs is refused, never turned back into text that may not be what the file says.
 */
export function pinText(what: string): (issue: { input: unknown }) => string {
  return (issue) =>
    typeof issue.input === "number"
      ? `must be ${what} in quotes: YAML read it as the number ${issue.input}, which may not be what the file says (1.10 reads as 1.1, 0x1F as 31, 1e3 as 1000); write it as the file means it, in quotes, for example "1.10"`
      : `must be ${what} (text), got ${JSON.stringify(issue.input)}`;
}

export const ReleaseId = z
  .string({ error: pinText("a release id") })
  .regex(RELEASE_ID, `must be a release id: ${RELEASE_ID_RULE}`);

export const EnvName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,127}$/, "must be an environment variable name in upper case, like \"DATABASE_URL\"");

/**
 * A path inside the project, a release or a shared dir: names joined by single '/', none starting
 * with '.' or '-', so never '.', '..', a hidden name, an option or an absolute path.
 */
export const RelativePath = z
  .string()
  .max(200, "must be at most 200 characters")
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/, "must be a relative path: names of A-Z, a-z, 0-9, '.', '_' and '-' joined by '/', none starting with '.' or '-' (no '.', '..' or leading '/'), like \"media\" or \"var/uploads\"");

/**
 * One shell command line. supervisord's config ends a line at any control character (a tab too:
 * it cannot quote one) and Python splits lines at U+2028 and U+2029: none may be in it.
 */
export const CommandLine = z.string().superRefine((cmd, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: "custom", message });
  if (/[\p{Cc}\u2028\u2029]/u.test(cmd)) fail(`must be one command line without tabs, line breaks or other control characters (supervisord's config cannot carry them), got ${quoted(cmd.length > 80 ? `${cmd.slice(0, 80)}…` : cmd)}`);
  else if (cmd.trim() === "") fail("is blank; name the command to run, like \"python manage.py migrate\"");
  else if (cmd.length > 4096) fail(`is ${cmd.length} characters; one command line is at most 4096: put a longer script in the app's source and run that`);
});

/** An absolute URL path prefix ending in '/', like "/static/"; no "." or ".." segment, which no request keeps. */
export const UrlPrefix = z.string().regex(/^\/((?!\.{1,2}\/)[A-Za-z0-9._-]+\/)*$/, "must be a URL path that starts and ends with '/', without \".\" or \"..\" segments, like \"/static/\"");

/** nginx and the load balancer normalise "//", "." and ".." away: a path with them would never match. */
export const HttpPath = z.string().regex(/^(?=\/)(\/(?!\.{1,2}(\/|$))[A-Za-z0-9._~-]+)*\/?$/, "must be a URL path starting with '/', without \"//\", \".\" or \"..\" segments, like \"/healthz\"");

export const DebianPackage = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, "must be a Debian package name, like \"libpq5\"");

/** Longest duration a knob takes: past it a number is a typo, and far past it no longer exact. */
const DURATION_MAX_SECONDS = 366 * 86400;

/** Durations written like `90s`, `15m`, `36h`, `3d`, `2w`. */
export const Duration = z.string().superRefine((d, ctx) => {
  if (!/^[1-9][0-9]*[smhdw]$/.test(d)) ctx.addIssue({ code: "custom", message: `must be a duration like "36h", "3d" or "2w", got ${quoted(d)}` });
  else if (durationSeconds(d) > DURATION_MAX_SECONDS) ctx.addIssue({ code: "custom", message: `must be at most a year ("52w" or "365d"), got ${quoted(d)}` });
});

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function durationSeconds(d: string): number {
  const m = /^([0-9]+)([smhdw])$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * UNIT_SECONDS[m[2]!]!;
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 * 1024 };
const BODY_SIZE_MAX = 1024 * 1024 * 1024;

/** nginx's client_max_body_size, 1 byte to 1 GiB: nginx refuses a size that overflows at boot, and 0 lifts the limit. */
export const BodySize = z.string().superRefine((v, ctx) => {
  const m = /^([1-9][0-9]*)([km]?)$/.exec(v);
  if (!m) ctx.addIssue({ code: "custom", message: `must be an nginx size like "10m" (a number, then k or m), got ${quoted(v)}` });
  else if (Number(m[1]) * SIZE_UNITS[m[2]!]! > BODY_SIZE_MAX) ctx.addIssue({ code: "custom", message: `must be at most 1024m (1 GiB) of request body, got ${quoted(v)}` });
});

export const Seconds = (min: number, max: number) => z.number().int(`must be a whole number of seconds`).min(min).max(max);

/** A YAML/JSON map: an object that is not an array or null. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
