import { AwsCheckError } from "../check/aws.ts";
import { ConfigError } from "../config/index.ts";
import { helpText, parse, UsageError, type Command, type Io } from "./command.ts";
import { backupCreate, backupList, backupRestore } from "./commands/backup.ts";
import { build } from "./commands/build.ts";
import { check } from "./commands/check.ts";
import { diffStacks } from "./commands/diff-stacks.ts";
import { errors } from "./commands/errors.ts";
import { maintenanceOff, maintenanceOn, maintenanceStatusCmd } from "./commands/maintenance.ts";
import { plan } from "./commands/plan.ts";
import { imageBuild, imageList, imagePrune } from "./commands/image.ts";
import { localDownCmd, localLogsCmd, localRebuildCmd, localStatusCmd, localUpCmd } from "./commands/local.ts";
import { lockBreak, lockStatus } from "./commands/lock.ts";
import { history, release, rollback } from "./commands/release.ts";
import { qaDownCmd, qaGcCmd, qaListCmd, qaUpCmd } from "./commands/qa.ts";
import { render } from "./commands/render.ts";
import { secretList, secretSet, secretUnset } from "./commands/secret.ts";
import { twinDownCmd, twinUpCmd } from "./commands/twin.ts";
import { LocalTargetError } from "../local/index.ts";
import { TwinError } from "../twin/up.ts";
import { DeployLockedError, DeployLockError, DeployLockLostError, RefreshInProgressError } from "../release/index.ts";

export const COMMANDS: Command[] = [check, render, plan, diffStacks, build, imageBuild, imageList, imagePrune, localUpCmd, localStatusCmd, localLogsCmd, localRebuildCmd, localDownCmd, twinUpCmd, twinDownCmd, release, rollback, history, lockStatus, lockBreak, maintenanceOn, maintenanceOff, maintenanceStatusCmd, secretSet, secretList, secretUnset, backupCreate, backupList, backupRestore, errors, qaUpCmd, qaDownCmd, qaListCmd, qaGcCmd];
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

const defaultIo = (): Io => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  cwd: process.cwd(),
});

/** Runs the CLI; returns the exit code. User errors print `error: ...`, no stack trace. */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const grouped = argv[0] !== undefined && GROUPS.has(argv[0]) && argv[1] !== undefined && !argv[1].startsWith("-");
  const name = grouped ? `${argv[0]} ${argv[1]}` : argv[0];
  const rest = argv.slice(grouped ? 2 : 1);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(overview());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
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
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\nusage: ${cmd.usage}\n`);
      return 2;
    }
    if (e instanceof DeployLockedError || e instanceof RefreshInProgressError) {
      io.err(`error: ${e.message}\n`);
      return 3;
    }
    if (e instanceof ConfigError || e instanceof LocalTargetError || e instanceof AwsCheckError || e instanceof TwinError || e instanceof DeployLockError || e instanceof DeployLockLostError) {
      io.err(`error: ${e.message}\n`);
      return 1;
    }
    io.err(`error: ${(e as Error).message ?? String(e)}\n`);
    if (verbose) io.err(`${(e as Error).stack ?? ""}\n`);
    else io.err("(run with --verbose for the stack trace)\n");
    return 1;
  }
}
