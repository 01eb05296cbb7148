import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { execa } from "execa";

/** Commands as data: a plan is a list of steps, unit-tested as data and run by `runSteps`. */
export type Step =
  | { kind: "run"; title: string; argv: string[]; env?: Record<string, string>; input?: string }
  | { kind: "write"; title: string; path: string; content: string; mode: number };

export interface Progress {
  (message: string): void;
}

export class StepError extends Error {
  constructor(
    readonly step: Step,
    readonly output: string,
    message: string,
  ) {
    super(message);
  }
}

/** Runs steps in order; a failing step throws StepError naming it, with the tail of its output. */
export async function runSteps(steps: readonly Step[], progress: Progress = () => {}): Promise<void> {
  for (const [i, step] of steps.entries()) {
    progress(`[${i + 1}/${steps.length}] ${step.title}`);
    if (step.kind === "write") {
      mkdirSync(dirname(step.path), { recursive: true });
      writeFileSync(step.path, step.content, { mode: step.mode });
      chmodSync(step.path, step.mode);
      continue;
    }
    const [file, ...args] = step.argv;
    const r = await execa(file!, args, { reject: false, all: true, env: step.env, input: step.input, stdin: step.input === undefined ? "ignore" : undefined });
    if (r.exitCode !== 0) {
      const tail = (r.all ?? "").split("\n").slice(-15).join("\n");
      throw new StepError(step, r.all ?? "", `step "${step.title}" failed (exit ${r.exitCode}): ${step.argv.join(" ")}\n${tail}`);
    }
  }
}
