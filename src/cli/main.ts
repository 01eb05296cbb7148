import { AwsCheckError } from "../check/aws.ts";
import { ConfigError } from "../config/index.ts";
import { helpText, parse, UsageError, type Command, type Io } from "./command.ts";
import { backupCreate, backupList, backupRestore } from "./commands/backup.ts";
import { appAdd, pin } from "./commands/app.ts";
import { build } from "./commands/build.ts";
import { completionCommand } from "./commands/completion.ts";
import { consoleCmd, userAdd, userList, userRemove } from "./commands/console.ts";
import { ConsoleUsersError } from "../console/index.ts";
import { QaError } from "../qa/index.ts";
import { completeNames } from "./complete-names.ts";
import { check } from "./commands/check.ts";
import { diffStacks } from "./commands/diff-stacks.ts";
import { errors } from "./commands/errors.ts";
import { maintenanceOff, maintenanceOn, maintenanceStatusCmd } from "./commands/maintenance.ts";
import { plan } from "./commands/plan.ts";
import { imageBuild, imageList, imagePrune } from "./commands/image.ts";
import { localDownCmd, localLogsCmd, localRebuildCmd, localStatusCmd, localUpCmd } from "./commands/local.ts";
import { lockBreak, lockGiveBack, lockStatus, lockTake } from "./commands/lock.ts";
import { history, release, rollback } from "./commands/release.ts";
import { qaDownCmd, qaExtendCmd, qaGcCmd, qaListCmd, qaUpCmd } from "./commands/qa.ts";
import { render } from "./commands/render.ts";
import { secretList, secretSet, secretUnset } from "./commands/secret.ts";
import { twinDownCmd, twinUpCmd } from "./commands/twin.ts";
import { run } from "./commands/run.ts";
import { RunError } from "../run/index.ts";
import { isatty } from "node:tty";
import { LocalTargetError } from "../local/index.ts";
import { TwinError } from "../twin/up.ts";
import { DeployLockedError, DeployLockError, DeployLockLostError, RefreshInProgressError } from "../release/index.ts";
import { closest } from "../config/suggest.ts";

export const COMMANDS: Command[] = [check, render, plan, diffStacks, build, appAdd, pin, imageBuild, imageList, imagePrune, localUpCmd, localStatusCmd, localLogsCmd, localRebuildCmd, localDownCmd, twinUpCmd, twinDownCmd, release, rollback, history, run, lockStatus, lockTake, lockGiveBack, lockBreak, maintenanceOn, maintenanceOff, maintenanceStatusCmd, secretSet, secretList, secretUnset, backupCreate, backupList, backupRestore, errors, qaUpCmd, qaDownCmd, qaListCmd, qaExtendCmd, qaGcCmd, consoleCmd, userAdd, userList, userRemove, completionCommand(() => COMMANDS)];
/** Commands of two words: `fawkes local up`, `fawkes image build`. */
const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]!));

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: fawkes <command> [flags]

Phoenix hosts for Python WSGI apps: one catalogue (Pulumi.yaml), one stack per environment
(stacks/Pulumi.<stack>.yaml, knobs only), the same user-data on AWS and on this machine.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run \`fawkes <command> --help\` for a command's flags and exit codes.
`;
}

/** `fawkes local`: the group's verbs, each with its summary. */
function groupText(group: string): string {
  const verbs = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  const width = Math.max(...verbs.map((c) => c.name.length - group.length - 1));
  return `usage: fawkes ${group} <verb> [flags]

Verbs:
${verbs.map((c) => `  ${c.name.slice(group.length + 1).padEnd(width)}  ${c.summary}`).join("\n")}

Run \`fawkes ${group} <verb> --help\` for a verb's flags and exit codes.
`;
}

/** A group without a known verb: its verbs (exit 0 when asked with --help, 2 otherwise), or what an unknown verb may have meant. */
function groupWithoutVerb(group: string, rest: string[], io: Io): number {
  const verb = rest[0];
  if (verb === undefined || verb === "help" || verb.startsWith("-")) {
    io.out(groupText(group));
    return verb === "help" || rest.includes("--help") || rest.includes("-h") ? 0 : 2;
  }
  const verbs = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name.slice(group.length + 1));
  const near = closest(verb, verbs);
  io.err(`error: unknown command "${group} ${verb}"; \`fawkes ${group}\` has: ${verbs.join(", ")}${near === undefined ? "" : `; did you mean \`fawkes ${group} ${near}\`?`}\n`);
  return 2;
}

const defaultIo = (): Io => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  cwd: process.cwd(),
  raw: { out: (b) => process.stdout.write(b), err: (b) => process.stderr.write(b), terminal: isatty(0) && isatty(1) },
});

/** Runs the CLI; returns the exit code. User errors print `error: ...`, no stack trace. */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  // Hidden: what the completion scripts ask at TAB time.
  if (argv[0] === "__complete") return completeNames(argv.slice(1), io);
  const grouped = argv[0] !== undefined && GROUPS.has(argv[0]) && argv[1] !== undefined && !argv[1].startsWith("-");
  const name = grouped ? `${argv[0]} ${argv[1]}` : argv[0];
  const rest = argv.slice(grouped ? 2 : 1);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(overview());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd && argv[0] !== undefined && GROUPS.has(argv[0])) return groupWithoutVerb(argv[0], argv.slice(1), io);
  if (!cmd) {
    io.err(`error: unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(", ")}\n`);
    return 2;
  }
  const verbose = rest.includes("--verbose");
  try {
    const args = parse(cmd, rest);
    if (args.values.help) {
      io.out(helpText(cmd));
      return 0;
    }
    return await cmd.run(args, io);
  } catch (e) {
    // A command whose exit codes are another program's (run) says its own failures with one code.
    const own = cmd.ownFailureExit;
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\nusage: ${cmd.usage}\n`);
      return own ?? 2;
    }
    if (e instanceof DeployLockedError || e instanceof RefreshInProgressError) {
      io.err(`error: ${e.message}\n`);
      return own ?? 3;
    }
    if (e instanceof ConfigError || e instanceof LocalTargetError || e instanceof AwsCheckError || e instanceof TwinError || e instanceof DeployLockError || e instanceof DeployLockLostError || e instanceof RunError || e instanceof ConsoleUsersError || e instanceof QaError) {
      io.err(`error: ${e.message}\n`);
      return own ?? 1;
    }
    io.err(`error: ${(e as Error).message ?? String(e)}\n`);
    if (verbose) io.err(`${(e as Error).stack ?? ""}\n`);
    else io.err("(run with --verbose for the stack trace)\n");
    return own ?? 1;
  }
}
