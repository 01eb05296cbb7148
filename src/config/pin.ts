import { closeSync, existsSync, fchmodSync, fchownSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parse, Scalar, stringify, type Document, type YAMLMap } from "yaml";
import { stackNameProblem } from "../names/index.ts";
import { ConfigError, type Problem } from "./errors.ts";
import { listStacks, readProject, stackFile } from "./files.ts";
import { isPlainObject, ReleaseId } from "./primitives.ts";
import { templateOf } from "./spec.ts";
import { parseConfigYaml, readConfigText } from "./yaml-file.ts";

export interface PinResult {
  /** The stack file written, absolute. */
  file: string;
  /** The pin this stack file held before, if any (a qa-* stack may inherit one from `qa` instead). */
  previous?: string;
}

function fail(file: string, path: string, message: string, hint?: string): never {
  throw new ConfigError([{ file, path, message, hint }]);
}

/** A value as YAML would write it: plain when it reads back as the same string, else quoted. */
function scalarText(value: string, style?: Scalar.Type): string {
  if (style === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
  if (style === Scalar.QUOTE_SINGLE) return `'${value.replaceAll("'", "''")}'`;
  return stringify(value).trimEnd();
}

function indentOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf("\n", offset - 1) + 1);
}

/**
 * Sets `path` to `value` by splicing the source text, so that every other byte stays as it was.
 * Handles block maps and scalar values; anything else (flow maps, empty `config:`) gives undefined.
 */
function splice(text: string, doc: Document, path: readonly string[], value: string): string | undefined {
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    if (!isMap(node) || node.flow || !node.range) return undefined;
    const map: YAMLMap = node;
    const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === path[i]);
    if (!pair) {
      const first = map.items[0];
      if (!first || !isScalar(first.key) || !first.key.range) return undefined;
      const indent = indentOf(text, first.key.range[0]);
      const rest = path.slice(i);
      const lines = rest.map((k, j) => `${" ".repeat(indent + 2 * j)}${scalarText(k)}:${j === rest.length - 1 ? ` ${scalarText(value)}` : ""}`);
      const at = map.range![1];
      const before = at > 0 && text[at - 1] !== "\n" ? "\n" : "";
      return `${text.slice(0, at)}${before}${lines.join("\n")}\n${text.slice(at)}`;
    }
    node = pair.value;
  }
  if (!isScalar(node) || !node.range) return undefined;
  const style = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? node.type : node.type === Scalar.PLAIN ? undefined : "block";
  if (style === "block") return undefined;
  return `${text.slice(0, node.range[0])}${scalarText(value, style)}${text.slice(node.range[1])}`;
}

/** The same edit through the document model: comments and order survive, spacing is normalised. */
function rewrite(doc: Document, path: readonly string[], value: string): string {
  for (let i = 1; i < path.length; i++) {
    if (!isMap(doc.getIn(path.slice(0, i), true))) doc.setIn(path.slice(0, i), doc.createNode({}));
  }
  doc.setIn(path, value);
  return doc.toString();
}

/** Rename over the old file, with its mode (and its owner when root writes a user's checkout). */
export function writeAtomically(file: string, text: string, like?: { mode: number; uid: number; gid: number }): void {
  const tmp = `${file}.${process.pid}.tmp`;
  // A new file (O_EXCL: never one planted at that name, never through a link), set up through its descriptor.
  const fd = openSync(tmp, "wx", like ? like.mode & 0o7777 : 0o644);
  try {
    try {
      writeFileSync(fd, text);
      if (like) {
        fchmodSync(fd, like.mode & 0o7777);
        if (process.getuid?.() === 0) fchownSync(fd, like.uid, like.gid);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Pins `release` of `app` in the stack file (`config: <project>:releases: <app>`), keeping every
 * other byte of the file. A `qa-*` stack without a file gets one; any other stack must have one.
 * Does not check that the app is in the catalogue: the caller does.
 */
export function setReleasePin(root: string, stack: string, app: string, release: string): PinResult {
  const problems: Problem[] = [];
  const project = readProject(root, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const rel = stackFile(project, stack);
  const file = join(root, rel);
  const badStack = stackNameProblem(stack);
  if (badStack !== undefined) fail(rel, "", `${JSON.stringify(stack)} is ${badStack}`);
  const parsed = ReleaseId.safeParse(release);
  const releasesKey = `${project.name}:releases`;
  if (!parsed.success) fail(rel, `config.${releasesKey}.${app}`, `${parsed.error.issues[0]?.message ?? "is not a release id"}, got ${JSON.stringify(release)}`);

  if (!existsSync(file)) {
    if (templateOf(stack) === stack) {
      fail(rel, "", `no such stack; stacks: ${listStacks(project).join(", ") || "none"}`, "create the stack file first; `fawkes release` creates files only for qa-* branch stacks");
    }
    const comment = `# ${stack}: created by fawkes (release or qa up); it layers over ${templateOf(stack)} and may override its pins.\n`;
    mkdirSync(dirname(file), { recursive: true });
    writeAtomically(file, comment + stringify({ config: { [releasesKey]: { [app]: release } } }));
    return { file };
  }

  const read: Problem[] = [];
  const text = readConfigText(root, rel, read);
  const yaml = text === undefined ? undefined : parseConfigYaml(rel, text);
  read.push(...(yaml?.problems ?? []));
  if (text === undefined || !yaml?.doc || read.length > 0) throw new ConfigError(read.map((p) => ({ ...p, hint: "fix the file; the release pin was not written" })));
  const doc = yaml.doc;
  const before: unknown = yaml.value ?? {};
  if (!isPlainObject(before)) fail(rel, "", "must be a YAML map with a `config:` key");
  const config: unknown = before.config ?? {};
  if (!isPlainObject(config)) fail(rel, "config", "must be a map of knob: value");
  // The loader reads a bare `releases:` as `<project>:releases`: edit the key the file already uses.
  const key = !(releasesKey in config) && "releases" in config ? "releases" : releasesKey;
  const pins: unknown = config[key] ?? {};
  if (!isPlainObject(pins)) fail(rel, `config.${key}`, "must be a map of app: release-id");
  const old = pins[app];
  const previous = typeof old === "string" || typeof old === "number" ? String(old) : undefined;

  const path = ["config", key, app];
  const expected = { ...before, config: { ...config, [key]: { ...pins, [app]: release } } };
  const readsBack = (out: string | undefined): out is string => {
    if (out === undefined) return false;
    try {
      return isDeepStrictEqual(parse(out, { uniqueKeys: true }) ?? {}, expected);
    } catch {
      return false;
    }
  };
  let out = splice(text, doc, path, release);
  if (!readsBack(out)) out = rewrite(doc, path, release);
  if (!readsBack(out)) throw new Error(`${rel}: could not set ${path.join(".")} without changing other values; the file was left untouched`);
  if (out !== text) writeAtomically(file, out, statSync(file));
  return previous === undefined ? { file } : { file, previous };
}
