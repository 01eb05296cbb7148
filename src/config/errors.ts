/** One problem in the user's configuration: where it is, what is wrong, what would be right. */
export interface Problem {
  /** File the value came from, relative to the project root (e.g. `stacks/Pulumi.dev.yaml`). */
  file: string;
  /** Key path inside that file, e.g. `config.fawkes:fleet.web.min`. Empty for the whole file. */
  path: string;
  message: string;
  /** What would be right, e.g. `did you mean "alarmEmail"?`. */
  hint?: string;
}

export function formatProblem(p: Problem): string {
  const where = p.path ? `${p.file}: ${p.path}` : p.file;
  return `${where}: ${p.message}${p.hint ? `; ${p.hint}` : ""}`;
}

/** Every configuration problem found, reported at once. Its message carries no stack trace. */
export class ConfigError extends Error {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    const n = problems.length;
    super(`${n} configuration problem${n === 1 ? "" : "s"}:\n${problems.map((p) => `  ${formatProblem(p)}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Collects problems while a loader walks several layers; throws once at the end. */
export class ProblemList {
  readonly items: Problem[] = [];

  add(p: Problem): void {
    this.items.push(p);
  }

  throwIfAny(): void {
    if (this.items.length > 0) throw new ConfigError(this.items);
  }
}
