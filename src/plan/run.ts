// `fawkes plan`: this tree against a base ref, stack by stack, each side's own Pulumi program run
// under mocks. Needs no cloud account and no Pulumi CLI.
import { execa } from "execa";
import { listStacks, loadStack, readProject, type EnvironmentSpec } from "../config/index.ts";
import { compareStacks } from "./diff-stacks.ts";
import { newStackDifferences, planStack, type Danger, type DangerKind, type StackPlan } from "./preview.ts";
import { pulumiConfigOf, runProgram, type CapturedResource } from "./program.ts";
import type { StackGraph } from "./stack-graph.ts";
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
  graphs: Map<string, StackGraph>;
}

async function captureStack(side: Side, stack: string, which: string): Promise<StackGraph | undefined> {
  if (!side.stacks.includes(stack)) return undefined;
  const cached = side.graphs.get(stack);
  if (cached) return cached;
  let spec: EnvironmentSpec;
  let resources: CapturedResource[];
  try {
    spec = loadStack(side.root, stack);
    resources = (await runProgram(side.root, stack, pulumiConfigOf(side.root, stack), { secrets: "mask" })).resources;
  } catch (e) {
    throw new PlanError(`${which}: the program of stack ${stack} fails: ${(e as Error).message}`);
  }
  const graph = { spec, resources };
  side.graphs.set(stack, graph);
  return graph;
}

async function headState(root: string): Promise<PlanResult["head"]> {
  const commit = await execa("git", ["-C", root, "rev-parse", "HEAD"], { reject: false, stdin: "ignore" });
  const status = await execa("git", ["-C", root, "status", "--porcelain", "--", "."], { reject: false, stdin: "ignore" });
  return { ...(commit.exitCode === 0 ? { commit: commit.stdout.trim() } : {}), uncommitted: status.exitCode === 0 && status.stdout.trim() !== "" };
}

/** Stack-only differences this change brings in, against the reference stack: graph and user-data. */
function stackDifferences(reference: string, stack: string, base: Side, head: Side): Danger[] {
  if (stack === reference) return [];
  const refHead = head.graphs.get(reference);
  const otherHead = head.graphs.get(stack);
  if (!refHead || !otherHead) return [];
  const graphs = newStackDifferences({ base: base.graphs.get(reference), head: refHead }, { base: base.graphs.get(stack), head: otherHead });
  const images = compareStacks(refHead.spec, otherHead.spec).unexplained.map((f) => ({
    kind: "stack-difference" as const,
    message: `${stack}'s ${f.role} host image differs from ${reference}'s in ${f.path} beyond what its knobs explain: environments must stay identical by construction`,
  }));
  return [...graphs, ...images];
}

export async function planChange(opts: PlanOptions): Promise<PlanResult> {
  const progress = opts.progress ?? (() => {});
  const tree = await checkoutBase(opts.root, opts.base);
  try {
    progress(`base ${opts.base} at ${tree.commit.slice(0, 12)}, checked out in ${tree.root}`);
    const head: Side = { root: opts.root, stacks: listStacks(readProject(opts.root)), graphs: new Map() };
    const base: Side = { root: tree.root, stacks: listStacks(readProject(tree.root)), graphs: new Map() };
    const every = [...new Set([...base.stacks, ...head.stacks])].sort();
    const wanted = opts.stacks ?? every;
    for (const s of wanted) {
      if (!every.includes(s)) throw new PlanError(`no stack ${s} on either side; stacks: ${every.join(", ")}`);
    }
    const reference = head.stacks.includes("production") ? "production" : (head.stacks[0] ?? wanted[0]!);
    const plans: StackPlan[] = [];
    for (const stack of [reference, ...wanted.filter((s) => s !== reference)]) {
      const started = performance.now();
      const before = await captureStack(base, stack, `base ${opts.base}`);
      const after = await captureStack(head, stack, "this tree");
      if (!wanted.includes(stack)) continue;
      const plan = planStack(readProject(opts.root).name, stack, { resources: before?.resources, spec: before?.spec }, { resources: after?.resources, spec: after?.spec });
      plan.dangers.push(...stackDifferences(reference, stack, base, head));
      plans.push(plan);
      progress(`${stack}: ${plan.status} (${Math.round(performance.now() - started)} ms)`);
    }
    plans.sort((a, b) => (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
    return { base: { ref: opts.base, commit: tree.commit }, head: await headState(opts.root), reference, stacks: plans };
  } finally {
    await tree.remove();
  }
}

/** The dangers the allowed kinds do not cover: any makes the plan exit 1. */
export function unallowedDangers(result: PlanResult, allowed: readonly DangerKind[]): Array<Danger & { stack: string }> {
  return result.stacks.flatMap((s) => s.dangers.filter((d) => !allowed.includes(d.kind)).map((d) => ({ ...d, stack: s.stack })));
}
