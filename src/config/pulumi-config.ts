import { ConfigError, type Problem } from "./errors.ts";
import { listStacks, readProject, readRecipe, sourceDirProblem, templateLayer } from "./files.ts";
import { loadEnvironment } from "./load.ts";
import type { EnvironmentSpec } from "./spec.ts";
import { pathText } from "./problems.ts";
import { valueProblem } from "./yaml-file.ts";

/** Pulumi hands config values over as strings; objects, numbers and booleans arrive JSON-encoded. */
function decode(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/**
 * The Pulumi program's way in: the same loader, fed by Pulumi's merged config
 * (`pulumi.runtime.allConfig()`), which holds the project's catalogue and the stack's knobs. A
 * branch stack (`qa-<branch>`) layers over its template's stack file, read from `root` (the
 * project directory Pulumi runs the program in), exactly as `loadStack` layers it.
 */
export function loadFromPulumiConfig(project: string, stack: string, all: Record<string, string>, root: string): EnvironmentSpec {
  // Pulumi.yaml is read here too: its name (Pulumi's project) is checked where it is read.
  const problems: Problem[] = [];
  const projectFile = readProject(root, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const catalogueKey = `${project}:catalogue`;
  const projectValues: Record<string, unknown> = {};
  const stackValues: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) {
    const value = decode(v);
    const bad = valueProblem(value);
    if (bad) problems.push({ file: k === catalogueKey ? "Pulumi.yaml" : `stack config of ${stack}`, path: pathText(`config.${k}`, bad.path), message: bad.message });
    else if (k === catalogueKey) projectValues[k] = value;
    else stackValues[k] = value;
  }
  const template = templateLayer(root, stack);
  problems.push(...template.problems);
  const recipe = readRecipe(root, problems);
  const stacks = problems.length === 0 ? listStacks(projectFile) : undefined;
  return loadEnvironment({
    project,
    stack,
    projectLayer: { file: "Pulumi.yaml", values: projectValues },
    stackLayers: [...(template.layer ? [template.layer] : []), { file: `stack config of ${stack}`, values: stackValues }],
    recipe,
    problems,
    sourceDirProblem: sourceDirProblem(root),
    ...(stacks ? { stacks, stackNames: stacks } : {}),
  });
}
