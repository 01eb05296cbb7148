import { z } from "zod";

/** App and process names become unix users, directory names and parts of AWS names. */
export const AppName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,23}$/, "must be 1-24 characters of a-z, 0-9 and '-', starting with a letter (it becomes a unix user and part of AWS names)");

export const ProcessName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,23}$/, "must be 1-24 characters of a-z, 0-9, '_' and '-', starting with a letter");

/** One DNS label (RFC 1123): what an app puts in front of the stack's domain. */
export const DnsLabel = z
  .string()
  .regex(/^(?!-)[a-z0-9-]{1,63}(?<!-)$/, "must be a DNS label: 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'");

export const DnsName = z
  .string()
  .max(253, "must be at most 253 characters")
  .regex(
    /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/,
    "must be a lowercase DNS name with at least two labels, like \"staging.example.com\"",
  );

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
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be a release id: 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'");

export const EnvName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,127}$/, "must be an environment variable name in upper case, like \"DATABASE_URL\"");

/** A path inside a release or shared dir: relative, no `..`. */
export const RelativePath = z
  .string()
  .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/, "must be a relative path without '..', like \"media\" or \"var/uploads\"");

/** An absolute URL path prefix ending in '/', like "/static/". */
export const UrlPrefix = z.string().regex(/^\/([A-Za-z0-9._-]+\/)*$/, "must be a URL path that starts and ends with '/', like \"/static/\"");

export const HttpPath = z.string().regex(/^\/[A-Za-z0-9._~/-]*$/, "must be a URL path starting with '/', like \"/healthz\"");

export const DebianPackage = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, "must be a Debian package name, like \"libpq5\"");

/** Durations written like `90s`, `15m`, `36h`, `3d`, `2w`. */
export const Duration = z
  .string()
  .regex(/^[1-9][0-9]*[smhdw]$/, "must be a duration like \"36h\", \"3d\" or \"2w\"");

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function durationSeconds(d: string): number {
  const m = /^([0-9]+)([smhdw])$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * UNIT_SECONDS[m[2]!]!;
}

export const Seconds = (min: number, max: number) => z.number().int(`must be a whole number of seconds`).min(min).max(max);
