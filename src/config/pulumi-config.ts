import { listStacks, readProject, readRecipe, templateLayer } from "./files.ts";
import { loadEnvironment } from "./load.ts";
import type { EnvironmentSpec } from "./spec.ts";

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
  const catalogueKey = `${project}:catalogue`;
  const projectValues: Record<string, unknown> = {};
  const stackValues: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) {
    if (k === catalogueKey) projectValues[k] = decode(v);
    else stackValues[k] = decode(v);
  }
  const template = templateLayer(root, stack);
  const problems = [...template.problems];
  const recipe = readRecipe(root, problems);
  const stacks = problems.length === 0 ? listStacks(readProject(root, problems)) : undefined;
  return loadEnvironment({
    project,
    stack,
    projectLayer: { file: "Pulumi.yaml", values: projectValues },
    stackLayers: [...(template.layer ? [template.layer] : []), { file: `stack config of ${stack}`, values: stackValues }],
    recipe,
    problems,
    ...(stacks ? { stacks } : {}),
  });
}
