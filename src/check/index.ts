// src/check: what `fawkes check` proves about a project: every stack loads, plans and renders.
import { ConfigError, listStacks, loadStack, readProject, RECIPE_FILE, stackFile, type EnvironmentSpec, type Problem } from "../config/index.ts";
import { planEnvironment, recipeHash } from "../model/index.ts";
import { albHealthProblems, awsLimitProblems } from "./aws-limits.ts";
import { ec2UserDataProblems, renderEnvironment, standInSums, type HostImage } from "../render/index.ts";

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

/** S3 bucket names are global: without the account, another account may own the name first. */
function accountWarnings(spec: EnvironmentSpec): string[] {
  return spec.knobs.accountId === undefined ? [`no accountId: the artifact bucket is named without the AWS account, so on AWS another account may already own its name; set ${spec.project}:accountId to the 12 digits of yours`] : [];
}

function warningsOf(spec: EnvironmentSpec, images: HostImage[]): string[] {
  const w: string[] = [...imageWarnings(spec)];
  if (spec.knobs.certificateArn === undefined) w.push("no certificateArn: the load balancer serves plain HTTP");
  w.push(...accountWarnings(spec));
  for (const p of albHealthProblems(spec.catalogue.apps)) w.push(`${p.path} ${p.message}: this stack runs on the local target only (check --target aws and pulumi up refuse it)`);
  for (const img of images) {
    if (spec.knobs.fleet[img.role].desired === 0) {
      w.push(`fleet.${img.role}.desired is 0: no host runs ${img.manifest.apps.flatMap((a) => a.processes).join(", ")}`);
    }
  }
  return w;
}

/** A management stack's: its pinned AMI (the console host boots it) and its account, as any stack's. */
function managementWarnings(spec: EnvironmentSpec): string[] {
  return [...imageWarnings(spec), ...accountWarnings(spec)];
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
      const spec = loadStack(root, stack, { parentMustExist: true });
      if (spec.knobs.console !== undefined) {
        // A management stack runs the deploy console and no apps: no host of theirs to plan or render.
        report.stacks.push({ stack, spec, images: [], warnings: managementWarnings(spec) });
        continue;
      }
      const plan = planEnvironment(spec);
      report.problems.push(...awsLimitProblems(spec, plan, stackFile(project, stack)));
      // check reads no store and deploys nothing: stand-in sums, which no host would ever accept.
      const images = renderEnvironment(plan, standInSums(spec.knobs.releases));
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
