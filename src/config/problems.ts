// zod's issues said the way a config file's reader needs them: the file, the key path, what is
// wrong and, for an unknown key, the keys that exist there and the closest one.
import type { z } from "zod";
import type { Problem } from "./errors.ts";
import { knownKeysAt } from "./schema-walk.ts";
import { didYouMean } from "./suggest.ts";

/**
 * `value` in double quotes with every character a terminal would not show as itself escaped: JSON's
 * escapes, plus DEL, C1 controls, format characters (bidi overrides) and line separators.
 */
export function quoted(value: string): string {
  return JSON.stringify(value).replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}

/** `prefix.key[0].other`: a key path as messages show it (no leading dot without a prefix); an odd key quoted. */
export function pathText(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[\p{L}\p{N}_.:@/$-]+$/u.test(String(seg))) out += `${out === "" ? "" : "."}${String(seg)}`;
    else out += `[${quoted(String(seg))}]`;
  }
  return out;
}

/** Every issue of `error` as a Problem, located by `locate` (which file, which key prefix). */
export function zodProblems(
  error: z.ZodError,
  schema: z.ZodType,
  locate: (path: readonly PropertyKey[]) => { file: string; prefix: string; path: readonly PropertyKey[] },
): Problem[] {
  const out: Problem[] = [];
  const samePath = (a: z.core.$ZodIssue, b: z.core.$ZodIssue) => a !== b && a.path.length === b.path.length && a.path.every((s, k) => s === b.path[k]);
  for (const issue of error.issues) {
    // zod's int() adds the safe-integer bound to the schema's own: the schema's says it better.
    if (isSafeIntegerBound(issue) && error.issues.some((other) => samePath(issue, other))) continue;
    const loc = locate(issue.path);
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        out.push({
          file: loc.file,
          path: pathText(loc.prefix, [...loc.path, key]),
          message: `unknown key; valid keys here: ${known.join(", ")}`,
          hint: didYouMean(key, known),
        });
      }
      continue;
    }
    out.push({ file: loc.file, path: pathText(loc.prefix, loc.path), message: issueMessage(issue) });
  }
  return out;
}

function isSafeIntegerBound(issue: z.core.$ZodIssue): boolean {
  const i = issue as { code: string; maximum?: unknown; minimum?: unknown };
  return (i.code === "too_big" && i.maximum === Number.MAX_SAFE_INTEGER) || (i.code === "too_small" && i.minimum === Number.MIN_SAFE_INTEGER);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  // YAML's .inf and .nan, or a number too large for a double: JSON would print them as null.
  if (typeof v === "number" && !Number.isFinite(v)) return Number.isNaN(v) ? ".nan (not a number)" : `${v < 0 ? "-" : ""}.inf (infinite, or too large to hold)`;
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  return typeof v === "string" ? `string ${quoted(v)}` : `${typeof v} ${JSON.stringify(v)}`;
}

/** zod's messages, said the way a config file's reader needs them. Custom messages pass through. */
function issueMessage(issue: z.core.$ZodIssue): string {
  const i = issue as z.core.$ZodIssue & { input?: unknown; minimum?: number | bigint; maximum?: number | bigint; origin?: string; inclusive?: boolean; values?: unknown[] };
  switch (i.code) {
    case "invalid_type":
      if (i.input !== undefined && !i.message.startsWith("Invalid input")) return i.message;
      return i.input === undefined ? `missing; required: ${article(i.expected)}` : `must be ${article(i.expected)}, got ${describe(i.input)}`;
    case "too_small":
      if (i.origin === "number" || i.origin === "int") return `must be at least ${String(i.minimum)}${i.input !== undefined ? `, got ${String(i.input)}` : ""}`;
      return i.message;
    case "too_big":
      if (i.origin === "number" || i.origin === "int") return `must be at most ${String(i.maximum)}${i.input !== undefined ? `, got ${String(i.input)}` : ""}`;
      if (i.origin === "string") return `must be at most ${String(i.maximum)} characters`;
      return i.message;
    case "invalid_value":
      return `must be one of ${(i.values ?? []).map((v) => JSON.stringify(v)).join(", ")}${i.input !== undefined ? `, got ${describe(i.input)}` : ""}`;
    case "invalid_key": {
      // The key's own schema says what a name there must be.
      const inner = (issue as { issues?: Array<{ message: string }> }).issues?.[0]?.message;
      return `is not a valid name here: it ${inner ?? "is refused"}; rename the key`;
    }
    case "invalid_format":
      return i.message.startsWith("Invalid") && i.input !== undefined ? `${i.message}, got ${describe(i.input)}` : i.message;
    default:
      return i.message;
  }
}

function article(type: string): string {
  return type === "object" || type === "record" || type === "map" ? "a map" : type === "array" ? "a list" : type === "int" ? "a whole number" : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

