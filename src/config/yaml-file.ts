// Reading a config file the way a hostile one cannot abuse: a regular file of bounded size, UTF-8,
// YAML without tags, alias bombs or nesting that would exhaust the stack. Every refusal is a
// Problem naming the file (and the line where the YAML parser knows it); nothing throws.
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument, type Document } from "yaml";
import type { Problem } from "./errors.ts";
import { pathText } from "./problems.ts";

/** The largest config file fawkes reads: the repository's own Pulumi.yaml is 4 KiB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Deepest nesting of maps and lists a config file may have: the catalogue needs about 8. */
export const MAX_CONFIG_DEPTH = 32;
/** Copies YAML aliases may make of anchored nodes: past it a small file can expand to gigabytes. */
export const MAX_ALIAS_COUNT = 100;

const WHY_TAGS = "config values are plain YAML (text, numbers, booleans, lists and maps), as Pulumi reads them; remove the tag";

/**
 * The text of `root/file`, or undefined with a problem: a missing file, a directory, FIFO or device
 * (a FIFO is opened without blocking), a file past MAX_CONFIG_BYTES, bytes that are not UTF-8.
 */
export function readConfigText(root: string, file: string, problems: Problem[]): string | undefined {
  let fd: number;
  try {
    fd = openSync(join(root, file), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push({ file, path: "", message: code === "ENOENT" ? "file not found" : `cannot be read (${code ?? (e as Error).message})`, ...(code === "EACCES" ? { hint: "make it readable by the user running fawkes" } : {}) });
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      problems.push({ file, path: "", message: `is ${stat.isDirectory() ? "a directory" : "not a regular file (a FIFO, socket or device)"}; it must be a YAML file` });
      return undefined;
    }
    if (stat.size > MAX_CONFIG_BYTES) {
      problems.push({ file, path: "", message: `is ${stat.size} bytes; a config file of fawkes is at most ${MAX_CONFIG_BYTES} bytes (1 MiB)` });
      return undefined;
    }
    const bytes = readFileSync(fd);
    if (bytes.length > MAX_CONFIG_BYTES) {
      problems.push({ file, path: "", message: `grew past ${MAX_CONFIG_BYTES} bytes while it was read; a config file of fawkes is at most 1 MiB` });
      return undefined;
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      const line = bytes.toString("utf8").split("\n").findIndex((l) => l.includes("\uFFFD")) + 1;
      problems.push({ file, path: line > 0 ? `line ${line}` : "", message: "is not UTF-8 text (a byte sequence UTF-8 does not allow)", hint: "save the file as UTF-8" });
      return undefined;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * What no config value may be, walked without recursion: nested past MAX_CONFIG_DEPTH, or text with
 * a lone UTF-16 surrogate (a YAML "\ud800" escape), which no UTF-8 file, shell or host can carry.
 */
export function valueProblem(value: unknown): { path: PropertyKey[]; message: string } | undefined {
  const todo: Array<[unknown, PropertyKey[]]> = [[value, []]];
  while (todo.length > 0) {
    const [v, path] = todo.pop()!;
    if (typeof v === "string" && /\p{Cs}/u.test(v)) return { path, message: `contains a lone UTF-16 surrogate (a "\\ud800"-style escape), which no UTF-8 file or host can carry; write the character itself` };
    if (typeof v !== "object" || v === null) continue;
    if (path.length >= MAX_CONFIG_DEPTH) return { path: [], message: `nests maps and lists more than ${MAX_CONFIG_DEPTH} levels deep; fawkes config needs about 8` };
    for (const [k, child] of Object.entries(v)) {
      const at = [...path, Array.isArray(v) ? Number(k) : k];
      if (/\p{Cs}/u.test(k)) return { path: at, message: "is a key with a lone UTF-16 surrogate (a \"\\ud800\"-style escape), which no UTF-8 file or host can carry; write the character itself" };
      todo.push([child, at]);
    }
  }
  return undefined;
}

/**
 * `text` as a YAML document and its plain value, or problems: syntax errors (duplicate keys
 * included), tags, nesting past the stack or MAX_CONFIG_DEPTH, aliases past MAX_ALIAS_COUNT.
 */
export function parseConfigYaml(file: string, text: string): { doc?: Document; value?: unknown; problems: Problem[] } {
  const problems: Problem[] = [];
  const at = (pos: { line: number; col: number } | undefined) => (pos ? `line ${pos.line}, column ${pos.col}` : "");
  let doc: Document;
  try {
    // Known tags (!!binary, !!set, !!timestamp…) unresolved: they would give values no schema reads.
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, resolveKnownTags: false });
  } catch (e) {
    // The parser's own recursion: nesting too deep for it to report.
    return { problems: [{ file, path: "", message: `cannot be parsed: ${e instanceof RangeError ? `it nests maps and lists too deeply; fawkes config needs about 8 levels` : (e as Error).message}` }] };
  }
  for (const e of doc.errors) {
    const firstLine = (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, "");
    const tooDeep = e.code === "RESOURCE_EXHAUSTION" || /call stack/i.test(firstLine);
    const message = tooDeep
      ? "nests maps and lists too deeply for YAML to read; fawkes config needs about 8 levels"
      : e.code === "DUPLICATE_KEY"
        ? "YAML syntax error: a key set twice in one map (the later would win without a word); keep one"
        : `YAML syntax error: ${firstLine}`;
    // Where the parser's stack ran out depends on the stack, not the file: no position for that.
    if (!problems.some((p) => p.message === message && tooDeep)) problems.push({ file, path: tooDeep ? "" : at(e.linePos?.[0]), message });
  }
  for (const w of doc.warnings) {
    if (w.code === "TAG_RESOLVE_FAILED") {
      const tag = /Unresolved tag: (\S+)/.exec(w.message)?.[1] ?? "a tag";
      problems.push({ file, path: at(w.linePos?.[0]), message: `YAML tag ${tag.replace(/^tag:yaml\.org,2002:/, "!!")} is not allowed; ${WHY_TAGS}` });
    }
  }
  if (problems.length > 0) return { problems };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const message =
      e instanceof ReferenceError && /alias/i.test(e.message)
        ? `its YAML aliases (*name) expand to more than ${MAX_ALIAS_COUNT} copies, which would exhaust memory (an alias bomb); write the values out or use fewer aliases`
        : e instanceof RangeError
          ? "nests maps and lists too deeply to read; fawkes config needs about 8 levels"
          : `cannot be read as YAML: ${(e as Error).message}`;
    return { doc, problems: [{ file, path: "", message }] };
  }
  const bad = valueProblem(value);
  if (bad) return { doc, problems: [{ file, path: pathText("", bad.path), message: bad.message }] };
  return { doc, value, problems };
}
