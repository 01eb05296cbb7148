// The `maintenance` knob written into a stack file the way release pins are (src/config/pin.ts):
// by splicing the text, so that every other byte, comment and blank line stays as it was.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parse, parseDocument, stringify, type Document, type Node } from "yaml";
import { ConfigError, listStacks, readProject, stackFile, templateOf, writeAtomically, type Problem } from "../config/index.ts";

export interface KnobWrite {
  /** The stack file, absolute. */
  file: string;
  /** The file's text before the write, to put it back when applying the change fails. */
  before?: string;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A flow list YAML reads back as exactly these strings (`[shop, blog]`; a name like `null` quoted). */
export function flowList(apps: readonly string[]): string {
  return `[${apps.map((a) => stringify(a).trimEnd()).join(", ")}]`;
}

const lineStart = (text: string, at: number) => text.lastIndexOf("\n", at - 1) + 1;
const lineEnd = (text: string, at: number) => {
  const nl = text.indexOf("\n", at);
  return nl === -1 ? text.length : nl + 1;
};

/** The edit as a splice of the text; undefined when the file's shape is not one it handles. */
function splice(text: string, doc: Document, key: string, apps: readonly string[] | undefined): string | undefined {
  const config = doc.get("config", true) as Node | undefined;
  if (!isMap(config) || config.flow || !config.range) return undefined;
  const pair = config.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  if (!pair) {
    if (apps === undefined) return text;
    const first = config.items[0];
    if (!first || !isScalar(first.key) || !first.key.range) return undefined;
    const indent = first.key.range[0] - lineStart(text, first.key.range[0]);
    const at = config.range[1];
    const before = at > 0 && text[at - 1] !== "\n" ? "\n" : "";
    return `${text.slice(0, at)}${before}${" ".repeat(indent)}${key}: ${flowList(apps)}\n${text.slice(at)}`;
  }
  const k = pair.key as Node;
  const v = pair.value as Node | null;
  if (!k.range) return undefined;
  let end = v?.range ? v.range[1] : k.range[1];
  while (end > 0 && /\s/.test(text[end - 1]!)) end--;
  if (apps === undefined) return text.slice(0, lineStart(text, k.range[0])) + text.slice(lineEnd(text, end));
  if (!v?.range) return undefined;
  return `${text.slice(0, v.range[0])}${flowList(apps)}${text.slice(end)}`;
}

/**
 * Sets the stack's `maintenance` knob to `apps` in its own file. An empty list removes the key,
 * except in a branch stack (`qa-*`), where `[]` keeps it from inheriting its template's list.
 * Does not check that the apps are in the catalogue: the caller does.
 */
export function setMaintenanceKnob(root: string, stack: string, apps: readonly string[]): KnobWrite {
  const problems: Problem[] = [];
  const project = readProject(root, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const rel = stackFile(project, stack);
  const file = join(root, rel);
  const key = `${project.name}:maintenance`;
  const branch = templateOf(stack) !== stack;
  const value = apps.length === 0 && !branch ? undefined : apps;
  if (!existsSync(file)) {
    if (!branch) throw new ConfigError([{ file: rel, path: "", message: `no such stack; stacks: ${listStacks(project).join(", ") || "none"}` }]);
    if (value === undefined) return { file };
    mkdirSync(dirname(file), { recursive: true });
    writeAtomically(file, `# ${stack}: created by fawkes; it layers over ${templateOf(stack)}.\nconfig:\n  ${key}: ${flowList(value)}\n`);
    return { file };
  }
  const text = readFileSync(file, "utf8");
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => ({ file: rel, path: "", message: `YAML syntax error: ${e.message.split("\n")[0]}`, hint: "fix the file; the maintenance knob was not written" })));
  const before: unknown = doc.toJS() ?? {};
  if (!isPlainObject(before)) throw new ConfigError([{ file: rel, path: "", message: "must be a YAML map with a `config:` key" }]);
  const config: unknown = before.config ?? {};
  if (!isPlainObject(config)) throw new ConfigError([{ file: rel, path: "config", message: "must be a map of knob: value" }]);
  // The loader reads a bare `maintenance:` as `<project>:maintenance`: edit the key the file uses.
  const used = !(key in config) && "maintenance" in config ? "maintenance" : key;
  const rest = Object.fromEntries(Object.entries(config).filter(([k]) => k !== used));
  const expected = { ...before, config: value === undefined ? rest : { ...config, [used]: [...value] } };
  const readsBack = (out: string | undefined): out is string => {
    if (out === undefined) return false;
    try {
      const back: unknown = parse(out, { uniqueKeys: true }) ?? {};
      return isDeepStrictEqual(back, expected);
    } catch {
      return false;
    }
  };
  let out = splice(text, doc, used, value);
  if (!readsBack(out)) {
    if (value === undefined) doc.deleteIn(["config", used]);
    else doc.setIn(["config", used], doc.createNode([...value], { flow: true }));
    out = doc.toString();
  }
  if (!readsBack(out)) throw new Error(`${rel}: could not set config.${used} without changing other values; the file was left untouched`);
  if (out !== text) writeAtomically(file, out, statSync(file));
  return { file, before: text };
}

/** Puts a stack file back as it was before setMaintenanceKnob, when applying the change failed. */
export function restoreKnob(w: KnobWrite): void {
  if (w.before === undefined) rmSync(w.file, { force: true });
  else if (!existsSync(w.file) || readFileSync(w.file, "utf8") !== w.before) writeAtomically(w.file, w.before, existsSync(w.file) ? statSync(w.file) : undefined);
}
