import { statSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, isSeq, parse, stringify, type Document, type YAMLSeq } from "yaml";
import { AppSchema } from "./catalogue.ts";
import { ConfigError, type Problem } from "./errors.ts";
import { PROJECT_FILE, readProject } from "./files.ts";
import { writeAtomically } from "./pin.ts";
import { zodProblems } from "./problems.ts";
import { parseConfigYaml, readConfigText } from "./yaml-file.ts";
import { isPlainObject } from "./primitives.ts";

/** The key path of the catalogue's app list in Pulumi.yaml, as the file spells it. */
function appsPath(doc: Document, project: string): string[] | undefined {
  const config = doc.get("config", true);
  if (!isMap(config)) return undefined;
  const key = [CATALOGUE, `${project}:${CATALOGUE}`].find((k) => config.has(k));
  if (key === undefined) return undefined;
  const catalogue = config.get(key, true);
  return isMap(catalogue) && catalogue.has("value") ? ["config", key, "value", "apps"] : ["config", key, "apps"];
}

const CATALOGUE = "catalogue";

/** The entry as block YAML items under a list whose dashes sit at `indent`. */
function entryText(entry: Record<string, unknown>, indent: number): string {
  const body = stringify([entry], { indent: 2 }).trimEnd();
  return `${body.split("\n").map((l) => " ".repeat(indent) + l).join("\n")}\n`;
}

/** Appends after the list's last item, keeping every other byte; undefined for a flow list. */
function splice(text: string, seq: YAMLSeq, entry: Record<string, unknown>): string | undefined {
  if (seq.flow || !seq.range || seq.items.length === 0) return undefined;
  const first = seq.items[0];
  const start = (isScalar(first) || isMap(first) || isSeq(first)) && first.range ? first.range[0] : undefined;
  if (start === undefined) return undefined;
  const dash = text.lastIndexOf("-", start);
  const indent = dash - (text.lastIndexOf("\n", dash - 1) + 1);
  // The list ends where its last item's node ends: at the end of a line, before comments and keys that follow.
  const last = seq.items[seq.items.length - 1];
  const end = (isScalar(last) || isMap(last) || isSeq(last)) && last.range ? last.range[1] : undefined;
  if (end === undefined) return undefined;
  const at = text.indexOf("\n", end - 1) === -1 ? text.length : text.indexOf("\n", end - 1) + 1;
  const before = at > 0 && text[at - 1] !== "\n" ? "\n" : "";
  return `${text.slice(0, at)}${before}${entryText(entry, indent)}${text.slice(at)}`;
}

/** The catalogue as read, with the entry checked against it: a ConfigError naming file and key when it would be refused. */
function catalogueWith(root: string, entry: Record<string, unknown>) {
  const problems: Problem[] = [];
  const project = readProject(root, problems);
  const text = readConfigText(root, PROJECT_FILE, problems);
  const yaml = text === undefined ? undefined : parseConfigYaml(PROJECT_FILE, text);
  problems.push(...(yaml?.problems ?? []));
  if (text === undefined || !yaml?.doc || problems.length > 0) throw new ConfigError(problems.map((p) => ({ ...p, hint: "fix the file; the app was not added" })));
  const path = appsPath(yaml.doc, project.name);
  if (path === undefined) throw new ConfigError([{ file: PROJECT_FILE, path: "config", message: "has no catalogue to add the app to", hint: "declare config.catalogue.value.apps: [] first" }]);
  const shown = path.join(".");
  const parsed = AppSchema.safeParse(entry, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigError(zodProblems(parsed.error, AppSchema, (p) => ({ file: PROJECT_FILE, prefix: `${shown}[new]`, path: p })));
  }
  let apps: unknown = yaml.value;
  for (const k of path) apps = isPlainObject(apps) ? apps[k] : undefined;
  const list = Array.isArray(apps) ? apps : apps === undefined || apps === null ? [] : undefined;
  if (list === undefined) throw new ConfigError([{ file: PROJECT_FILE, path: shown, message: "must be a list of apps" }]);
  const taken = list.findIndex((a) => isPlainObject(a) && a.name === entry.name);
  if (taken >= 0) throw new ConfigError([{ file: PROJECT_FILE, path: `${shown}[${taken}]`, message: `already declares an app "${String(entry.name)}"`, hint: "pick another name, or edit that entry" }]);

  return { text, doc: yaml.doc, value: yaml.value, path, list };
}

/** Throws the ConfigError `addCatalogueApp` would throw, and writes nothing: the check before any change. */
export function checkCatalogueApp(root: string, entry: Record<string, unknown>): void {
  catalogueWith(root, entry);
}

/**
 * Appends an app to the catalogue in Pulumi.yaml, keeping every other byte of the file, after
 * checking the entry against the catalogue's schema and that no app has its name. A ConfigError
 * names the file and key of whatever is wrong; the file is then left as it was.
 */
export function addCatalogueApp(root: string, entry: Record<string, unknown>): { file: string } {
  const { text, doc, value, path, list } = catalogueWith(root, entry);
  const expected = structuredClone(value) as Record<string, unknown>;
  let at: Record<string, unknown> = expected;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at.apps = [...list, entry];
  const readsBack = (out: string | undefined): out is string => {
    if (out === undefined) return false;
    try {
      return isDeepStrictEqual(parse(out, { uniqueKeys: true }), expected);
    } catch {
      return false;
    }
  };
  const node = doc.getIn(path, true);
  let out = isSeq(node) ? splice(text, node, entry) : undefined;
  if (!readsBack(out)) {
    doc.setIn(path, doc.createNode([...list, entry]));
    out = doc.toString();
  }
  if (!readsBack(out)) throw new Error(`${PROJECT_FILE}: could not add the app without changing other values; the file was left untouched`);
  const file = join(root, PROJECT_FILE);
  writeAtomically(file, out, statSync(file));
  return { file };
}
