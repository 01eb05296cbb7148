// An app's health check, the same at every layer that asks it: the ALB's target group on AWS,
// HAProxy and the local fleet's probes locally, the bootstrap on every host. What it accepts is
// exactly what the ALB can be told, so no target checks more loosely than another.
import { z } from "zod";
import { HttpPath, Seconds } from "./primitives.ts";

/** The codes an ALB's HTTP health check may expect ("Matcher.HttpCode": 200-499). */
export const ALB_HEALTH_CODES = { min: 200, max: 499 } as const;

/** What every checker fawkes runs sends as its User-Agent: nginx and gunicorn keep such requests out of the access log. */
export const HEALTH_CHECK_USER_AGENT = "fawkes-health/1";

/** User-Agent prefixes of health checkers: the ALB's ("ELB-HealthChecker/2.0") and fawkes' own. */
export const HEALTH_CHECKER_AGENTS: readonly string[] = ["ELB-HealthChecker/", "fawkes-health/"];

/** The methods a health check may use; the ALB's health check always sends GET (its target group has no method setting). */
export const HEALTH_METHODS = ["GET", "HEAD"] as const;
export type HealthMethod = (typeof HEALTH_METHODS)[number];

const SYNTAX = 'one code (200), a list of codes ([200, 204] or "200,204") or one range ("200-399"), as the ALB\'s matcher takes them';

/** One item of `statuses`: a code (200, "200") or a range ("200-399") as `{ from, to }`, or what is wrong with it. */
function parseItem(item: unknown): { from: number; to: number } | string {
  const text = typeof item === "number" ? String(item) : typeof item === "string" ? item.trim() : undefined;
  const m = text === undefined ? null : /^(\d{3})(?:-(\d{3}))?$/.exec(text);
  if (!m) return `${JSON.stringify(item)} is not a status code or a range; write a code as a number (204) and a range as "200-399"`;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  for (const code of [from, to]) {
    if (code < ALB_HEALTH_CODES.min || code > ALB_HEALTH_CODES.max) return `${code} is outside ${ALB_HEALTH_CODES.min}-${ALB_HEALTH_CODES.max}, the codes an ALB health check can expect`;
  }
  if (from > to) return `"${text}" is a range from its high end; write "${to}-${from}"`;
  return { from, to };
}

/**
 * The catalogue's `health.statuses` in the ALB's matcher syntax, the one form every checker reads:
 * "200-399" (one range) or "200,204" (codes, ascending). AWS documents a list of codes or one range,
 * never both at once: fawkes takes no more than that.
 */
export const HealthStatuses = z.unknown().transform((value, ctx): string => {
  const fail = (message: string) => {
    ctx.issues.push({ code: "custom", message, input: value });
    return z.NEVER;
  };
  let items: unknown[];
  if (typeof value === "number") items = [value];
  else if (typeof value === "string") items = value.split(",");
  else if (Array.isArray(value)) items = value;
  else return fail(`must be HTTP status codes: ${SYNTAX}`);
  if (items.length === 0) return fail(`lists no status code; write ${SYNTAX} (default "200-399")`);
  const parsed = items.map(parseItem);
  const bad = parsed.filter((p): p is string => typeof p === "string");
  if (bad.length > 0) return fail(bad.join("; "));
  const ranges = parsed as Array<{ from: number; to: number }>;
  const wide = ranges.filter((r) => r.from !== r.to);
  if (wide.length > 0 && ranges.length > 1) {
    return fail(`mixes a range with other codes or ranges (${items.map((i) => JSON.stringify(i)).join(", ")}): the ALB's matcher takes a list of codes ("200,204") or one range ("200-399"), not both; list the codes, or write one range that covers them`);
  }
  if (wide.length === 1) return `${wide[0]!.from}-${wide[0]!.to}`;
  const codes = ranges.map((r) => r.from);
  const twice = codes.find((c, i) => codes.indexOf(c) !== i);
  if (twice !== undefined) return fail(`lists ${twice} twice; list each code once`);
  return [...codes].sort((a, b) => a - b).join(",");
});

export const HealthSchema = z.strictObject({
  path: HttpPath.default("/healthz").describe("Answers one of `statuses` when the app can serve."),
  statuses: HealthStatuses.default("200-399").describe(`The status codes that count healthy: ${SYNTAX}; ${ALB_HEALTH_CODES.min}-${ALB_HEALTH_CODES.max}.`),
  method: z
    .enum(HEALTH_METHODS)
    .default("GET")
    .describe("GET, or HEAD on the local target only: the ALB's health check always sends GET, so a stack on AWS refuses HEAD."),
  intervalSeconds: Seconds(5, 300).default(10),
  timeoutSeconds: Seconds(2, 120).default(5),
  healthyThreshold: z.number().int().min(2).max(10).default(2),
  unhealthyThreshold: z.number().int().min(2).max(10).default(3),
});
export type Health = z.infer<typeof HealthSchema>;

/** Whether `code` is one of `statuses` (the ALB's matcher syntax, as HealthStatuses makes it). */
export function statusAccepted(statuses: string, code: number): boolean {
  return statuses.split(",").some((item) => {
    const [from, to = from] = item.split("-").map(Number);
    return code >= from! && code <= to!;
  });
}
