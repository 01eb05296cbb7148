// zod's issues said the way a config file's reader needs them: the file, the key path, what is
// wrong and, for an unknown key, the keys that exist there and the closest one.
import type { z } from "zod";
import type { Problem } from "./errors.ts";
import { knownKeysAt } from "./schema-walk.ts";
import { didYouMean } from "./suggest.ts";

/** `prefix.key[0].other`: a key path as messages show it (no leading dot without a prefix). */
export function pathText(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : `${out === "" ? "" : "."}${String(seg)}`;
  return out;
}

/** Every issue of `error` as a Problem, located by `locate` (which file, which key prefix). */
export function zodProblems(
  error: z.ZodError,
  schema: z.ZodType,
  locate: (path: readonly PropertyKey[]) => { file: string; prefix: string; path: readonly PropertyKey[] },
): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
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

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** zod's messages, said the way a config file's reader needs them. Custom messages pass through. */
function issueMessage(issue: z.core.$ZodIssue): string {
  const i = issue as z.core.$ZodIssue & { input?: unknown; minimum?: number | bigint; maximum?: number | bigint; origin?: string; inclusive?: boolean; values?: unknown[] };
  switch (i.code) {
    case "invalid_type":
      if (i.input !== undefined && !i.message.startsWith("Invalid input")) return i.message;
      return i.input === undefined ? `missing; required: ${article(i.expected)}` : `must be ${article(i.expected)}, got ${describe(i.input)}`;
    case "too_small":
      if (i.origin === "number") return `must be at least ${String(i.minimum)}${i.input !== undefined ? `, got ${String(i.input)}` : ""}`;
      return i.message;
    case "too_big":
      if (i.origin === "number") return `must be at most ${String(i.maximum)}${i.input !== undefined ? `, got ${String(i.input)}` : ""}`;
      if (i.origin === "string") return `must be at most ${String(i.maximum)} characters`;
      return i.message;
    case "invalid_value":
      return `must be one of ${(i.values ?? []).map((v) => JSON.stringify(v)).join(", ")}${i.input !== undefined ? `, got ${describe(i.input)}` : ""}`;
    case "invalid_format":
      return i.message.startsWith("Invalid") && i.input !== undefined ? `${i.message}, got ${describe(i.input)}` : i.message;
    default:
      return i.message;
  }
}

function article(type: string): string {
  return type === "object" ? "a map" : type === "array" ? "a list" : type === "int" ? "a whole number" : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

