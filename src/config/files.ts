import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { ConfigError, type Problem } from "./errors.ts";
import { loadEnvironment, type ConfigLayer } from "./load.ts";
import { RECIPE_FILE } from "./recipe.ts";
import { templateOf, type EnvironmentSpec } from "./spec.ts";

export const PROJECT_FILE = "Pulumi.yaml";

export interface ProjectFile {
  root: string;
  name: string;
  stackConfigDir: string;
  layer: ConfigLayer;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function readYaml(root: string, file: string, problems: Problem[], needs = "a `config:` map"): Record<string, unknown> | undefined {
  const full = join(root, file);
  if (!existsSync(full)) {
    problems.push({ file, path: "", message: "file not found" });
    return undefined;
  }
  const text = readFileSync(full, "utf8");
  if (text.trim() === "") {
    problems.push({ file, path: "", message: `is empty; it needs ${needs}` });
    return undefined;
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      const firstLine = e.message.split("\n")[0] ?? e.message;
      problems.push({ file, path: pos ? `line ${pos.line}, column ${pos.col}` : "", message: `YAML syntax error: ${firstLine.replace(/ at line \d+, column \d+:?$/, "")}` });
    }
    return undefined;
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) {
    problems.push({ file, path: "", message: `is empty; it needs ${needs}` });
    return undefined;
  }
  if (!isPlainObject(value)) {
    problems.push({ file, path: "", message: `must be a YAML map: it needs ${needs}` });
    return undefined;
  }
  return value;
}

/** Pulumi.yaml project config allows `{ value: X }` and schemas `{ type, default }`; fawkes reads the value. */
function projectValue(v: unknown): unknown {
  if (isPlainObject(v) && "value" in v) return v.value;
  if (isPlainObject(v) && "type" in v && "default" in v) return v.default;
  return v;
}

export function readProject(root: string, problems: Problem[] = []): ProjectFile {
  const raw = readYaml(root, PROJECT_FILE, problems) ?? {};
  const name = typeof raw.name === "string" ? raw.name : "fawkes";
  if (typeof raw.name !== "string" && Object.keys(raw).length > 0) problems.push({ file: PROJECT_FILE, path: "name", message: "missing; the project needs a name" });
  const stackConfigDir = typeof raw.stackConfigDir === "string" ? raw.stackConfigDir : ".";
  const config = isPlainObject(raw.config) ? raw.config : {};
  const values: Record<string, unknown> = {};
  const shown: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    const key = k.includes(":") ? k : `${name}:${k}`;
    values[key] = projectValue(v);
    shown[key] = isPlainObject(v) && "value" in v ? `config.${k}.value` : `config.${k}`;
  }
  return { root, name, stackConfigDir, layer: { file: PROJECT_FILE, values, display: (key) => shown[key] ?? `config.${key}` } };
}

/** The project's image recipe (image/recipe.yaml): one file for the local golden image and the AMI. */
export function readRecipe(root: string, problems: Problem[]): { file: string; values: unknown } {
  return { file: RECIPE_FILE, values: readYaml(root, RECIPE_FILE, problems, "the image recipe: distribution, parentImage, packages, steps") };
}

export function stackFile(project: ProjectFile, stack: string): string {
  return project.stackConfigDir === "." ? `Pulumi.${stack}.yaml` : `${project.stackConfigDir}/Pulumi.${stack}.yaml`;
}

/** Stacks that have a file in the stack config dir, sorted. */
export function listStacks(project: ProjectFile): string[] {
  const dir = join(project.root, project.stackConfigDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

const STACK_FILE_KEYS = ["config", "secretsprovider", "encryptedkey", "encryptionsalt"];

function readStackLayer(project: ProjectFile, stack: string, problems: Problem[]): ConfigLayer | undefined {
  const file = stackFile(project, stack);
  const raw = readYaml(project.root, file, problems);
  if (!raw) return undefined;
  for (const k of Object.keys(raw)) {
    if (!STACK_FILE_KEYS.includes(k)) problems.push({ file, path: k, message: `unknown top-level key; a stack file holds ${STACK_FILE_KEYS.join(", ")}` });
  }
  const config = raw.config === undefined || raw.config === null ? {} : raw.config;
  if (!isPlainObject(config)) {
    problems.push({ file, path: "config", message: "must be a map of knob: value" });
    return undefined;
  }
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    const key = k.includes(":") ? k : `${project.name}:${k}`;
    if (isPlainObject(v) && "secure" in v) {
      problems.push({ file, path: `config.${k}`, message: "is a secret; secret values never live in stack files or config (use `fawkes secret set`)" });
      continue;
    }
    values[key] = v;
  }
  return { file, values };
}

export interface LoadStackOptions {
  /**
   * For AWS (check, qa up and release on AWS): a QA stack's parent must be one of the project's
   * stacks, since the QA stack runs in its network. The local target has no parent to find.
   */
  parentMustExist?: boolean;
}

/** Loads one stack from the files on disk: the CLI's way in. */
export function loadStack(root: string, stack: string, opts: LoadStackOptions = {}): EnvironmentSpec {
  const problems: Problem[] = [];
  const project = readProject(root, problems);
  const template = templateOf(stack);
  const layers: ConfigLayer[] = [];
  const names = template === stack ? [stack] : [template, stack];
  for (const name of names) {
    const branchStackWithoutFile = name !== template && !existsSync(join(root, stackFile(project, name)));
    if (branchStackWithoutFile) continue; // a branch stack may live only in Pulumi's state
    if (name === stack && !existsSync(join(root, stackFile(project, name)))) {
      const known = listStacks(project);
      problems.push({ file: stackFile(project, name), path: "", message: `no such stack; stacks: ${known.join(", ") || "none"}` });
      continue;
    }
    const layer = readStackLayer(project, name, problems);
    if (layer) layers.push(name === stack ? layer : { ...layer, template: true });
  }
  return loadEnvironment({ project: project.name, stack, projectLayer: project.layer, recipe: readRecipe(root, problems), stackLayers: layers, problems, ...(opts.parentMustExist ? { stacks: listStacks(project) } : {}) });
}

/**
 * The layer a branch stack inherits (the `qa` stack file, read from the project on disk), or none
 * for a stack that is its own template. Pulumi hands a program only the stack's own config.
 */
export function templateLayer(root: string, stack: string): { layer?: ConfigLayer; problems: Problem[] } {
  const template = templateOf(stack);
  if (template === stack) return { problems: [] };
  const problems: Problem[] = [];
  const project = readProject(root, problems);
  const layer = problems.length === 0 ? readStackLayer(project, template, problems) : undefined;
  return { ...(layer ? { layer: { ...layer, template: true } } : {}), problems };
}

/** Loads every stack with a file; problems of all stacks are reported together. */
export function loadAllStacks(root: string): EnvironmentSpec[] {
  const problems: Problem[] = [];
  const project = readProject(root, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const specs: EnvironmentSpec[] = [];
  const stacks = listStacks(project);
  if (stacks.length === 0) throw new ConfigError([{ file: project.stackConfigDir, path: "", message: "holds no stack file (Pulumi.<stack>.yaml)" }]);
  for (const stack of stacks) {
    try {
      specs.push(loadStack(root, stack));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) if (!problems.some((q) => q.file === p.file && q.path === p.path && q.message === p.message)) problems.push(p);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return specs;
}
