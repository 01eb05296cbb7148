// src/check: what `fawkes check` proves about a project: every stack loads, plans and renders.
import { ConfigError, listStacks, loadStack, readProject, RECIPE_FILE, type EnvironmentSpec, type Problem } from "../config/index.ts";
import { planEnvironment, recipeHash } from "../model/index.ts";
import { ec2UserDataProblems, renderEnvironment, USER_DATA_LIMIT, type HostImage } from "../render/index.ts";

export interface StackReport {
  stack: string;
  spec: EnvironmentSpec;
  images: HostImage[];
  warnings: string[];
}

export interface CheckReport {
  stacks: StackReport[];
  problems: Problem[];
}

/** The pinned AMI against the recipe: a stale pin is a warning, since a new AMI is pinned only after the recipe changed. */
function imageWarnings(spec: EnvironmentSpec): string[] {
  const image = spec.knobs.image;
  if (!image) return ["no image pinned: AWS hosts boot only a pinned AMI, so this stack runs on the local target only until image: { ami, architecture, recipe } is set"];
  const current = recipeHash(spec.catalogue.image);
  if (image.recipe === current) return [];
  return [`image ${image.ami} was built from recipe ${image.recipe}, not from the current ${RECIPE_FILE} (${current}): AWS hosts would boot the old packages and steps; run the stack's Image Builder pipeline and pin its AMI`];
}

function warningsOf(spec: EnvironmentSpec, images: HostImage[]): string[] {
  const w: string[] = [...imageWarnings(spec)];
  if (spec.knobs.certificateArn === undefined) w.push("no certificateArn: the load balancer serves plain HTTP");
  for (const img of images) {
    if (spec.knobs.fleet[img.role].desired === 0) {
      w.push(`fleet.${img.role}.desired is 0: no host runs ${img.manifest.apps.flatMap((a) => a.processes).join(", ")}`);
    }
    const size = new TextEncoder().encode(img.userData).length;
    if (size > USER_DATA_LIMIT && img.userDataBytes.length <= USER_DATA_LIMIT) w.push(`${img.role} user-data is ${size} bytes, over EC2's ${USER_DATA_LIMIT}: shipped gzipped (${img.userDataBytes.length} bytes)`);
  }
  return w;
}

/** Loads, plans and renders the given stacks (default: every stack file); collects all problems. */
export function checkProject(root: string, stacks?: readonly string[]): CheckReport {
  const readProblems: Problem[] = [];
  const project = readProject(root, readProblems);
  if (readProblems.length > 0) return { stacks: [], problems: readProblems };
  const names = stacks && stacks.length > 0 ? stacks : listStacks(project);
  if (names.length === 0) return { stacks: [], problems: [{ file: project.stackConfigDir, path: "", message: "holds no stack file (Pulumi.<stack>.yaml)" }] };
  const report: CheckReport = { stacks: [], problems: [] };
  for (const stack of names) {
    try {
      const spec = loadStack(root, stack);
      const images = renderEnvironment(planEnvironment(spec));
      report.stacks.push({ stack, spec, images, warnings: warningsOf(spec, images) });
      for (const p of ec2UserDataProblems(images)) report.problems.push({ ...p, message: `${stack}: ${p.message}` });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) {
        if (!report.problems.some((q) => q.file === p.file && q.path === p.path && q.message === p.message)) report.problems.push(p);
      }
    }
  }
  return report;
}
