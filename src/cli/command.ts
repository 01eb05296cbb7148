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
  /**
   * The process's own streams, for a command whose output is another program's bytes (`run`), and
   * whether it sits at a terminal (stdin and stdout). Without it (tests), out and err get the text.
   */
  raw?: { out: (bytes: Uint8Array) => void; err: (bytes: Uint8Array) => void; terminal: boolean };
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
  /**
   * A command that runs another one (`fawkes run APP -- CMD...`): the positionals after its own,
   * which must follow `--`, are that command's argv (`rest`), passed on as given, never parsed.
   */
  passThrough?: { name: string };
  /** The exit code of fawkes's own failures, usage errors included, when every other code is another program's (`run`: 125). */
  ownFailureExit?: number;
  run(args: ParsedArgs, io: Io): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, unknown>;
  positionals: string[];
  /** passThrough: the command to run, as given after `--`. */
  rest?: string[];
}

/** A mistake in how the command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

export const COMMON_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean" },
  project: { type: "string" },
};

export function parse(cmd: Command, argv: string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...cmd.options }, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  const { min, max, args = [] } = cmd.positionals ?? { min: 0, max: 0 };
  const { positionals, rest } = cmd.passThrough ? splitPassThrough(cmd, parsed.tokens, max, parsed.values.help === true) : { positionals: parsed.positionals, rest: undefined };
  if (!parsed.values.help && (positionals.length < min || positionals.length > max)) {
    throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? "" : "s"}, got ${positionals.length}`);
  }
  // The one check of each name at the entry, as the command table declares it.
  for (const [flag, option] of Object.entries(cmd.options)) {
    const given = parsed.values[flag];
    if (option.kind !== undefined && given !== undefined) for (const value of [given].flat()) checkName(`--${flag}`, option.kind, String(value));
  }
  args.forEach((arg, i) => {
    const value = positionals[i];
    if (arg.kind !== undefined && value !== undefined) checkName(arg.name, arg.kind, value);
  });
  return { values: parsed.values as Record<string, unknown>, positionals, ...(rest ? { rest } : {}) };
}

type Token = NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number];

/**
 * The command's own positionals (the first `own`), and the argv of the one it runs: the positionals
 * after them, which must come after `--` (a second `--` right before them is dropped, so that an own
 * positional can itself follow `--`: `run -- APP -- CMD`).
 */
function splitPassThrough(cmd: Command, tokens: readonly Token[], own: number, help: boolean): { positionals: string[]; rest: string[] } {
  const terminator = tokens.find((t) => t.kind === "option-terminator")?.index ?? Infinity;
  const words = tokens.flatMap((t) => (t.kind === "positional" ? [{ value: t.value, index: t.index }] : []));
  const rest = words.slice(own);
  if (rest.length > 0 && rest[0]!.index < terminator) throw new UsageError("put -- before the command to run");
  if (rest[0]?.value === "--") rest.shift();
  if (!help && rest.length === 0) throw new UsageError(`no command to run: give it after --, as ${cmd.passThrough!.name}...`);
  return { positionals: words.slice(0, own).map((w) => w.value), rest: rest.map((w) => w.value) };
}

/** `APP "../x": not an app name (what one looks like)`: the argument, the value quoted (a newline shows), the rule. */
function checkName(arg: string, kind: NameArgKind, value: string): void {
  const problem = NAME_CHECKS[kind](value);
  if (problem !== undefined) throw new UsageError(`${arg} ${JSON.stringify(value)}: ${problem}`);
}

export function helpText(cmd: Command): string {
  return `usage: ${cmd.usage}\n\n${cmd.summary}\n\n${cmd.help.trimEnd()}\n\nCommon flags:\n  --project DIR   the fawkes project (default: the nearest dir with Pulumi.yaml)\n  --verbose       show stack traces of internal errors\n  -h, --help      this help\n`;
}
