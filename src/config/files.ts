import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, type Problem } from "./errors.ts";
import { loadEnvironment, type ConfigLayer } from "./load.ts";
import { projectNameProblem, stackNameProblem } from "../names/index.ts";
import { isPlainObject, RelativePath } from "./primitives.ts";
import { RECIPE_FILE } from "./recipe.ts";
import { parseConfigYaml, readConfigText } from "./yaml-file.ts";
import { templateOf, type EnvironmentSpec } from "./spec.ts";

export const PROJECT_FILE = "Pulumi.yaml";

export interface ProjectFile {
  root: string;
  name: string;
  stackConfigDir: string;
  layer: ConfigLayer;
}

/** A config file as a map, or undefined with a problem (see yaml-file.ts for what is refused). */
function readYaml(root: string, file: string, problems: Problem[], needs = "a `config:` map"): Record<string, unknown> | undefined {
  const text = readConfigText(root, file, problems);
  if (text === undefined) return undefined;
  if (text.trim() === "") {
    problems.push({ file, path: "", message: `is empty; it needs ${needs}` });
    return undefined;
  }
  const parsed = parseConfigYaml(file, text);
  problems.push(...parsed.problems);
  if (parsed.problems.length > 0) return undefined;
  const value = parsed.value;
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

/**
 * A config map's keys as Pulumi names them (`<project>:key` for a bare `key`); a key given twice is a
 * problem (`domain` and `acme:domain` are one key: the later would win without a word).
 */
function namespaced(config: Record<string, unknown>, project: string, file: string, problems: Problem[]): Map<string, { raw: string; value: unknown }> {
  const out = new Map<string, { raw: string; value: unknown }>();
  for (const [k, v] of Object.entries(config)) {
    const key = k.includes(":") ? k : `${project}:${k}`;
    const first = out.get(key);
    if (first) problems.push({ file, path: `config.${k}`, message: `is the key ${JSON.stringify(first.raw)} again (a bare key is ${project}:<key>); keep one of them` });
    else out.set(key, { raw: k, value: v });
  }
  return out;
}

/**
 * Pulumi.yaml: the project's name (checked here, the one way in), where stack files live, and the
 * catalogue. Problems go to `problems`; without that list, any problem throws a ConfigError, so a
 * name that is not valid never reaches a caller.
 */
export function readProject(root: string, problems?: Problem[]): ProjectFile {
  const found: Problem[] = [];
  const raw = readYaml(root, PROJECT_FILE, found) ?? {};
  const nameProblem = found.length === 0 ? projectNameProblem(raw.name) : undefined;
  if (nameProblem) found.push({ file: PROJECT_FILE, path: "name", message: nameProblem });
  const name = typeof raw.name === "string" && nameProblem === undefined ? raw.name : "fawkes";
  const dirProblem = raw.stackConfigDir === undefined ? undefined : stackConfigDirProblem(raw.stackConfigDir);
  if (dirProblem) found.push({ file: PROJECT_FILE, path: "stackConfigDir", message: dirProblem });
  const stackConfigDir = typeof raw.stackConfigDir === "string" && dirProblem === undefined ? raw.stackConfigDir : ".";
  if (raw.config !== undefined && raw.config !== null && !isPlainObject(raw.config)) found.push({ file: PROJECT_FILE, path: "config", message: "must be a map; the catalogue is config.catalogue.value" });
  const values: Record<string, unknown> = {};
  const shown: Record<string, string> = {};
  for (const [key, { raw: k, value: v }] of namespaced(isPlainObject(raw.config) ? raw.config : {}, name, PROJECT_FILE, found)) {
    values[key] = projectValue(v);
    shown[key] = isPlainObject(v) && "value" in v ? `config.${k}.value` : `config.${k}`;
  }
  if (problems) problems.push(...found);
  else if (found.length > 0) throw new ConfigError(found);
  return { root, name, stackConfigDir, layer: { file: PROJECT_FILE, values, display: (key) => shown[key] ?? `config.${key}` } };
}

/** Stack files are read and written (release pins) under it: a dir of the project, never outside. */
function stackConfigDirProblem(dir: unknown): string | undefined {
  if (dir === ".") return undefined;
  if (typeof dir !== "string") return `must be text: the dir of the stack files inside the project, like "stacks", got ${JSON.stringify(dir)}`;
  const parsed = RelativePath.safeParse(dir);
  return parsed.success ? undefined : `${parsed.error.issues[0]?.message ?? "must be a relative path"}, got ${JSON.stringify(dir)} (the dir of the stack files, inside the project)`;
}

/** The project's image recipe (image/recipe.yaml): one file for the local golden image and the AMI. */
export function readRecipe(root: string, problems: Problem[]): { file: string; values: unknown } {
  return { file: RECIPE_FILE, values: readYaml(root, RECIPE_FILE, problems, "the image recipe: distribution, parentImage, packages, steps") };
}

export function stackFile(project: ProjectFile, stack: string): string {
  return project.stackConfigDir === "." ? `Pulumi.${stack}.yaml` : `${project.stackConfigDir}/Pulumi.${stack}.yaml`;
}

/** The app names the catalogue in Pulumi.yaml lists, as written, before any validation: what `pin` and completion look up. */
export function catalogueAppNames(project: ProjectFile): string[] {
  const catalogue = project.layer.values[`${project.name}:catalogue`] as { apps?: unknown } | undefined;
  const listed = Array.isArray(catalogue?.apps) ? (catalogue.apps as unknown[]) : [];
  return listed.map((a) => (a as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === "string");
}

/** Stacks that have a file in the stack config dir, sorted. */
export function listStacks(project: ProjectFile): string[] {
  const dir = join(project.root, project.stackConfigDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    // A name with a line break is a stack file too: loading refuses its name instead of skipping it.
    .map((f) => /^Pulumi\.(.+)\.yaml$/s.exec(f)?.[1])
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
  for (const [key, { raw: k, value: v }] of namespaced(config, project.name, file, problems)) {
    if (isPlainObject(v) && "secure" in v) {
      problems.push({ file, path: `config.${k}`, message: "is a secret; secret values never live in stack files or config (use `fawkes secret set`)" });
      continue;
    }
    values[key] = v;
  }
  return { file, values };
}

/**
 * Why an app's `source` is not a dir of the project at that very path (missing, a file, or reached
 * through a symbolic link, which `git archive` of `fawkes build` would store as a link), or undefined.
 */
export function sourceDirProblem(root: string): (dir: string) => string | undefined {
  return (dir) => {
    const path = join(root, dir);
    let real: string;
    try {
      real = realpathSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === "ENOENT" || code === "ENOTDIR" ? `"${dir}" does not exist in the project; name the app's source dir, relative to the dir of ${PROJECT_FILE}` : `"${dir}" cannot be read (${code ?? (e as Error).message})`;
    }
    if (!statSync(real).isDirectory()) return `"${dir}" is a file; name the app's source dir, relative to the dir of ${PROJECT_FILE}`;
    if (real !== join(realpathSync(root), dir)) return `"${dir}" goes through a symbolic link (to ${real}); \`fawkes build\` archives the committed tree at this path, so name the real dir`;
    return undefined;
  };
}

export interface LoadStackOptions {
  /**
   * For AWS (check, qa up and release on AWS): a QA stack's parent must be one of the project's
   * stacks, since the QA stack runs in its network. The local target has no parent to find.
   */
  parentMustExist?: boolean;
  /**
   * For `fawkes build` and `fawkes app add`: an app of the catalogue that this stack pins no release
   * of yet is no problem, since making that release is what the caller is about to do.
   */
  unpinnedAllowed?: boolean;
}

/** Loads one stack from the files on disk: the CLI's way in. */
export function loadStack(root: string, stack: string, opts: LoadStackOptions = {}): EnvironmentSpec {
  const problems: Problem[] = [];
  const project = readProject(root, problems);
  // Stack files are found by stackConfigDir and read under the project's name: past a Pulumi.yaml
  // that could not be read whole (or names no project), only noise would follow.
  if (problems.length > 0) throw new ConfigError(problems);
  // A stack's name reaches paths, scripts and AWS names; a file name is no exception.
  const badStack = stackNameProblem(stack);
  if (badStack !== undefined) {
    const shown = JSON.stringify(stack).slice(1, -1);
    throw new ConfigError([{ file: stackFile(project, shown), path: "", message: `the stack "${shown}" is ${badStack}`, hint: "rename the file to Pulumi.<stack>.yaml with such a name" }]);
  }
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
  return loadEnvironment({
    project: project.name,
    stack,
    projectLayer: project.layer,
    recipe: readRecipe(root, problems),
    stackLayers: layers,
    problems,
    sourceDirProblem: sourceDirProblem(root),
    ...(opts.parentMustExist ? { stacks: listStacks(project) } : {}),
    stackNames: listStacks(project),
    ...(opts.unpinnedAllowed ? { unpinnedAllowed: true } : {}),
  });
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
export function loadAllStacks(root: string, opts: LoadStackOptions = {}): EnvironmentSpec[] {
  const problems: Problem[] = [];
  const project = readProject(root, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const specs: EnvironmentSpec[] = [];
  const stacks = listStacks(project);
  if (stacks.length === 0) throw new ConfigError([{ file: project.stackConfigDir, path: "", message: "holds no stack file (Pulumi.<stack>.yaml)" }]);
  for (const stack of stacks) {
    try {
      specs.push(loadStack(root, stack, opts));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) if (!problems.some((q) => q.file === p.file && q.path === p.path && q.message === p.message)) problems.push(p);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return specs;
}
