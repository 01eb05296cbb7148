// `fawkes plan`: this tree against a base ref, stack by stack, each side's own Pulumi program run
// under mocks. Needs no cloud account and no Pulumi CLI, and reads no artifact store: the releases'
// sums the program reads from the bucket are stand-ins (equal pins, equal sums).
import { execa } from "execa";
import { listStacks, loadStack, readProject, type EnvironmentSpec } from "../config/index.ts";
import { compareStacks } from "./diff-stacks.ts";
import { newStackDifferences, planStack, type Danger, type DangerKind, type StackPlan } from "./preview.ts";
import { withAccessLevels } from "./console-grants.ts";
import { pulumiConfigOf, runProgram, type CapturedResource } from "./program.ts";
import { placeholders, type StackGraph } from "./stack-graph.ts";
import { checkoutBase, PlanError } from "./tree.ts";

export interface PlanOptions {
  root: string;
  /** A git ref: branch, tag, commit, `origin/main`. */
  base: string;
  /** Stacks to plan; undefined: every stack of either side. */
  stacks?: string[];
  progress?: (line: string) => void;
}

export interface PlanResult {
  base: { ref: string; commit: string };
  head: { commit?: string; uncommitted: boolean };
  /** The stack the others are held identical to (production when there is one). */
  reference: string;
  stacks: StackPlan[];
}

interface Side {
  root: string;
  stacks: string[];
  graphs: Map<string, SideGraph>;
}

/** A stack's resources, and its spec when this tree's loader can read that side's files. */
interface SideGraph {
  spec?: EnvironmentSpec;
  resources: CapturedResource[];
}

async function captureStack(side: Side, stack: string, which: "base" | "head", label: string): Promise<SideGraph | undefined> {
  if (!side.stacks.includes(stack)) return undefined;
  const cached = side.graphs.get(stack);
  if (cached) return cached;
  let spec: EnvironmentSpec | undefined;
  try {
    spec = loadStack(side.root, stack);
  } catch (e) {
    // The base may predate a config change of this tree: its own program reads it with its own loader.
    if (which === "head") throw e;
  }
  let resources: CapturedResource[];
  try {
    const project = spec?.project ?? readProject(side.root).name;
    // Without a spec (a base this tree cannot read) only the stack's own name is a placeholder.
    const normalise = placeholders(spec ?? ({ project, stack, knobs: { domain: "domain.invalid" } } as unknown as EnvironmentSpec));
    resources = (await runProgram(side.root, stack, pulumiConfigOf(side.root, stack), { secrets: "mask", ids: "by-replacement", normalise, releaseSums: "stand-in" })).resources;
  } catch (e) {
    throw new PlanError(`${label}: the Pulumi program of stack ${stack} fails: ${(e as Error).message}`);
  }
  const graph = { ...(spec ? { spec } : {}), resources };
  side.graphs.set(stack, graph);
  return graph;
}

const withSpec = (g: SideGraph | undefined): StackGraph | undefined => (g?.spec ? { spec: g.spec, resources: g.resources } : undefined);

const isManagement = (spec: EnvironmentSpec) => spec.knobs.console !== undefined;

/** Whether a stack of this tree is a management stack (knob console); a stack that cannot be read is not. */
function managementStack(root: string, stack: string): boolean {
  try {
    return isManagement(loadStack(root, stack));
  } catch {
    return false;
  }
}

async function headState(root: string): Promise<PlanResult["head"]> {
  const commit = await execa("git", ["-C", root, "rev-parse", "HEAD"], { reject: false, stdin: "ignore" });
  const status = await execa("git", ["-C", root, "status", "--porcelain", "--", "."], { reject: false, stdin: "ignore" });
  return { ...(commit.exitCode === 0 ? { commit: commit.stdout.trim() } : {}), uncommitted: status.exitCode === 0 && status.stdout.trim() !== "" };
}

/** Stack-only differences this change brings in between two stacks of this tree: graph and user-data. */
function stackDifferences(reference: string, other: string, base: Side, head: Side): Danger[] {
  const refHead = withSpec(head.graphs.get(reference));
  const otherHead = withSpec(head.graphs.get(other));
  if (!refHead || !otherHead) return [];
  // A management stack runs the deploy console, not the apps: no environment is held to it, nor it to one.
  if (isManagement(refHead.spec) || isManagement(otherHead.spec)) return [];
  const graphs = newStackDifferences({ base: withSpec(base.graphs.get(reference)), head: refHead }, { base: withSpec(base.graphs.get(other)), head: otherHead });
  const images = compareStacks(refHead.spec, otherHead.spec).unexplained.map((f) => ({
    kind: "stack-difference" as const,
    message: `the ${f.role} host images of ${other} and ${reference} differ in ${f.path} beyond what their knobs explain: environments must stay identical by construction`,
  }));
  return [...graphs, ...images];
}

export async function planChange(opts: PlanOptions): Promise<PlanResult> {
  const progress = opts.progress ?? (() => {});
  const tree = await checkoutBase(opts.root, opts.base);
  // ^C or a kill while planning: the worktree goes first, then the process, as the signal wanted.
  const onSignal = (signal: NodeJS.Signals) => {
    tree.remove();
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    progress(`base ${opts.base} at ${tree.commit.slice(0, 12)}, checked out in ${tree.root}`);
    const project = readProject(opts.root);
    const head: Side = { root: opts.root, stacks: listStacks(project), graphs: new Map() };
    const base: Side = { root: tree.root, stacks: listStacks(readProject(tree.root)), graphs: new Map() };
    const every = [...new Set([...base.stacks, ...head.stacks])].sort();
    const wanted = opts.stacks ?? every;
    for (const s of wanted) {
      if (!every.includes(s)) throw new PlanError(`no stack ${s} on either side; stacks: ${every.join(", ")}`);
    }
    const environments = head.stacks.filter((s) => !managementStack(opts.root, s));
    const reference = environments.includes("production") ? "production" : (environments[0] ?? head.stacks[0] ?? wanted[0]!);
    // Each stack is held to the reference; the reference, planned alone, to every other stack.
    const heldTo = (stack: string) => (stack !== reference ? [reference] : wanted.length === 1 ? head.stacks.filter((s) => s !== reference) : []);
    const plans: StackPlan[] = [];
    for (const stack of wanted) {
      const started = performance.now();
      for (const s of [stack, ...heldTo(stack)]) {
        await captureStack(base, s, "base", `base ${opts.base}`);
        await captureStack(head, s, "head", "this tree");
      }
      const before = base.graphs.get(stack);
      const after = head.graphs.get(stack);
      const plan = planStack(project.name, stack, { resources: before?.resources, spec: before?.spec }, { resources: after?.resources, spec: after?.spec });
      if (plan.console) plan.console = await withAccessLevels(plan.console);
      const others = stack === reference ? heldTo(stack) : [stack];
      for (const other of others) plan.dangers.push(...stackDifferences(reference, other, base, head));
      plans.push(plan);
      progress(`${stack}: ${plan.status} (${Math.round(performance.now() - started)} ms)`);
    }
    plans.sort((a, b) => (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
    return { base: { ref: opts.base, commit: tree.commit }, head: await headState(opts.root), reference, stacks: plans };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    tree.remove();
  }
}

/** The dangers the allowed kinds do not cover: any makes the plan exit 1. */
export function unallowedDangers(result: PlanResult, allowed: readonly DangerKind[]): Array<Danger & { stack: string }> {
  return result.stacks.flatMap((s) => s.dangers.filter((d) => !allowed.includes(d.kind)).map((d) => ({ ...d, stack: s.stack })));
}
