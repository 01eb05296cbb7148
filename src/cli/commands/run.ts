// `fawkes run APP -- CMD...`: a one-off command as one of the app's processes, on a host of the stack.
import { isatty } from "node:tty";
import { awsRun, EXECUTION_SECONDS, localRun, MAX_STDIN_BYTES, recordedRun, RUN_FAILED, type RunRequest, type RunTarget } from "../../run/index.ts";
import { UsageError, type Command, type Io } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

function targetOf(values: Record<string, unknown>): RunTarget {
  const t = values.target ?? "local";
  if (t !== "local" && t !== "aws") throw new UsageError(`--target ${String(t)}: must be local or aws`);
  return t;
}

/** Bytes to a text sink (tests' Io): decoded as UTF-8, a character split between two chunks kept whole. */
function bytesTo(text: (t: string) => void): (b: Uint8Array) => void {
  const decoder = new TextDecoder("utf-8");
  return (b) => text(decoder.decode(b, { stream: true }));
}

/** stdin for Run Command: all of it, when it is no terminal (a terminal's input cannot be sent ahead). */
async function pipedStdin(): Promise<Uint8Array | undefined> {
  if (isatty(0)) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    // One byte past the limit is enough for awsRun to refuse it by its size.
    if (size > MAX_STDIN_BYTES) break;
  }
  return Buffer.concat(chunks);
}

export const run: Command = {
  name: "run",
  summary: "Run a one-off command (manage.py createsuperuser, a shell, a data fix) as APP's user, in its current release, with its venv and environment, secrets included.",
  usage: "fawkes run APP [--stack S] [--host H] [--target local|aws] -- CMD...",
  help: `Runs CMD as one of APP's processes: as APP's user, from its current release dir, with the
environment supervisord's programs get through fawkes-exec (the app's env file, its secrets, its
venv first on PATH, FAWKES_RELEASE and the rest), on one host of the stack that runs APP. CMD is an
argv, passed on as given after --: it is never split or expanded by a shell on this machine (for a
pipe or a redirect on the host, run a shell: -- sh -c '...').

Locally (the default target) it enters the host's namespaces as the host's root and drops to the
app's user. With stdin and stdout at a terminal the command gets a terminal of its own (a
pseudo-terminal relayed to this one, so nothing it does to its terminal reaches yours): a Python or
Django shell works as on the host; ^C goes to the command. Otherwise its stdin is this command's
stdin (echo 'print(1)' | fawkes run blog -- python manage.py shell) and its output comes back through
pipes. Needs root.

On AWS (--target aws) the command goes through Systems Manager Run Command (AWS-RunShellScript on
the chosen instance, as root, then the app's user as above), and fawkes waits for it to end (at
most ${EXECUTION_SECONDS / 60} minutes), then prints its stdout and stderr (read back whole up to 1 MiB each,
beyond Run Command's 24,000 characters) and exits with its code. There is no terminal there: stdin,
when it is no terminal, is sent along (at most ${MAX_STDIN_BYTES / 1024} KiB); for an interactive session use Session
Manager (aws ssm start-session, with the session-manager-plugin). The caller needs
ssm:SendCommand, ssm:GetCommandInvocation and ec2:DescribeInstances (docs/aws.md).

Each run is recorded in fawkes history: who, when, stack, app, host, the command line (argv
quoted), exit code, duration; never the environment it ran with.

Flags:
  --stack S            the stack (default dev)
  --host H             the host to run on: a local host's name (fawkes local status), or on AWS an
                       instance id of the stack's groups; it must be a running host that runs APP
                       (default: a web host running APP, or a worker host when APP has no web
                       process; on AWS the newest instance)
  --target local|aws   where the stack's hosts are (default local)

Exit codes: the command's own (0-255; 128+N when signal N ended it locally); 125 fawkes itself
failed and the command did not run, or its end is unknown (usage, a bad name, no such app or host,
the stack is not up, AWS refused or the wait ran out: the message says which), as docker run and
env do.`,
  options: { stack: { type: "string", kind: "stack" }, host: { type: "string", kind: "host" }, target: { type: "string" } },
  positionals: { min: 1, max: 1, args: [{ name: "APP", kind: "app" }] },
  passThrough: { name: "CMD" },
  ownFailureExit: RUN_FAILED,
  async run({ values, positionals, rest }, io: Io) {
    const target = targetOf(values);
    const req: RunRequest = {
      root: findProjectRoot(io.cwd, values.project),
      stack: typeof values.stack === "string" ? values.stack : "dev",
      app: positionals[0]!,
      ...(typeof values.host === "string" ? { host: values.host } : {}),
      argv: rest ?? [],
      target,
    };
    const out = io.raw?.out ?? bytesTo(io.out);
    const err = io.raw?.err ?? bytesTo(io.err);
    const r = await recordedRun(req, async (started) => {
      if (target === "local") return localRun(req, { terminal: io.raw?.terminal === true, out, err }, started);
      const note = (line: string) => io.err(`${line}\n`);
      if (isatty(0)) note("note: on AWS the command runs without a terminal (Run Command) and gets no stdin; for an interactive session: aws ssm start-session (needs the session-manager-plugin)");
      return awsRun(req, { stdin: io.raw ? await pipedStdin() : undefined, out, err, note }, { started });
    });
    if (r.unrecorded !== undefined) io.err(`warning: the run ended with exit ${r.exitCode} but is not in fawkes history: ${r.unrecorded}\n`);
    return r.exitCode;
  },
};
