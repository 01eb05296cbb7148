import { parseArgs, type ParseArgsConfig } from "node:util";
import { stackNameProblem } from "../names/index.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd: string;
}

/** One CLI command: its flags and help are data; `run` parses nothing itself. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Help text below the usage line: flags and exit codes. */
  help: string;
  options: Options;
  positionals?: { min: number; max: number };
  run(args: { values: Record<string, unknown>; positionals: string[] }, io: Io): Promise<number>;
}

/** A mistake in how the command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

export const COMMON_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean" },
  project: { type: "string" },
};

export function parse(cmd: Command, argv: string[]): { values: Record<string, unknown>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...cmd.options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  // The one check of a stack name at the entry: it becomes paths that `local down` removes.
  if (typeof parsed.values.stack === "string") {
    const problem = stackNameProblem(parsed.values.stack);
    if (problem !== undefined) throw new UsageError(`--stack ${JSON.stringify(parsed.values.stack)}: ${problem}`);
  }
  const { min, max } = cmd.positionals ?? { min: 0, max: 0 };
  if (!parsed.values.help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? "" : "s"}, got ${parsed.positionals.length}`);
  }
  return { values: parsed.values as Record<string, unknown>, positionals: parsed.positionals };
}

export function helpText(cmd: Command): string {
  return `usage: ${cmd.usage}\n\n${cmd.summary}\n\n${cmd.help.trimEnd()}\n\nCommon flags:\n  --project DIR   the fawkes project (default: the nearest dir with Pulumi.yaml)\n  --verbose       show stack traces of internal errors\n  -h, --help      this help\n`;
}
