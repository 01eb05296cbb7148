import { parseArgs, type ParseArgsConfig } from "node:util";
import { appNameProblem, backupIdProblem, hostNameProblem, releaseIdProblem, stackNameProblem } from "../names/index.ts";

/**
 * The kinds of name a command takes: each becomes paths (`local down` removes them), users, argv or
 * AWS names, so each is checked once, by its rule in src/names, before any command runs.
 */
const NAME_CHECKS = { app: appNameProblem, host: hostNameProblem, release: releaseIdProblem, backup: backupIdProblem, stack: stackNameProblem } as const;
export type NameArgKind = keyof typeof NAME_CHECKS;

/** A flag as parseArgs declares it; `kind` when its value is a name (each value, if repeatable). */
export type Option = NonNullable<ParseArgsConfig["options"]>[string] & { kind?: NameArgKind };
export type Options = Record<string, Option>;

/** A positional argument: its word in the usage line, and `kind` when it is a name. */
export interface Positional {
  name: string;
  kind?: NameArgKind;
}

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
  /** How many positionals, and the first ones in order (those past `args` are taken as they come). */
  positionals?: { min: number; max: number; args?: readonly Positional[] };
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
  const { min, max, args = [] } = cmd.positionals ?? { min: 0, max: 0 };
  if (!parsed.values.help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? "" : "s"}, got ${parsed.positionals.length}`);
  }
  // The one check of each name at the entry, as the command table declares it.
  for (const [flag, option] of Object.entries(cmd.options)) {
    const given = parsed.values[flag];
    if (option.kind !== undefined && given !== undefined) for (const value of [given].flat()) checkName(`--${flag}`, option.kind, String(value));
  }
  args.forEach((arg, i) => {
    const value = parsed.positionals[i];
    if (arg.kind !== undefined && value !== undefined) checkName(arg.name, arg.kind, value);
  });
  return { values: parsed.values as Record<string, unknown>, positionals: parsed.positionals };
}

/** `APP "../x": not an app name (what one looks like)`: the argument, the value quoted (a newline shows), the rule. */
function checkName(arg: string, kind: NameArgKind, value: string): void {
  const problem = NAME_CHECKS[kind](value);
  if (problem !== undefined) throw new UsageError(`${arg} ${JSON.stringify(value)}: ${problem}`);
}

export function helpText(cmd: Command): string {
  return `usage: ${cmd.usage}\n\n${cmd.summary}\n\n${cmd.help.trimEnd()}\n\nCommon flags:\n  --project DIR   the fawkes project (default: the nearest dir with Pulumi.yaml)\n  --verbose       show stack traces of internal errors\n  -h, --help      this help\n`;
}
