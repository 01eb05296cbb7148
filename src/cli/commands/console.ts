// `fawkes console` (the deploy console, a web page over the same library as the CLI) and
// `fawkes user add|list|remove` (its users on this machine).
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { defaultStore } from "../../artifact/index.ts";
import { albVerifier, consoleStacks, readUsers, removeUser, setUser, startConsole, usersFile, type ConsoleAuth } from "../../console/index.ts";
import { startErrorMailSchedule } from "../../errors/index.ts";
import { fawkesHome } from "../../local/index.ts";
import { stackNameProblem } from "../../names/index.ts";
import { UsageError, type Command, type Io } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

function listenOf(value: unknown): { host: string; port: number } {
  const v = typeof value === "string" ? value : "127.0.0.1:8080";
  const m = /^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):([0-9]{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new UsageError(`--listen ${v}: an address and a port, like 127.0.0.1:8080 (port 0: any free one)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

function authOf(values: Record<string, unknown>, home: string): ConsoleAuth {
  const kind = values.auth ?? "password";
  if (kind === "password") return { kind, usersFile: typeof values.users === "string" ? values.users : usersFile(home) };
  if (kind !== "alb") throw new UsageError(`--auth ${String(kind)}: must be password (the users file) or alb (the ALB's OIDC header)`);
  const arns = [values["alb-arn"]].flat().filter((a): a is string => typeof a === "string");
  if (arns.length === 0 || typeof values.region !== "string") throw new UsageError("--auth alb needs --alb-arn ARN (the load balancer whose signature is accepted) and --region R (where its keys are served)");
  try {
    return { kind, verify: albVerifier({ region: values.region, albArns: arns, ...(typeof values["groups-claim"] === "string" ? { groupsClaim: values["groups-claim"] } : {}) }) };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const consoleCmd: Command = {
  name: "console",
  summary: "The deploy console: every environment and app in one web page, push history with output, release and rollback with live output, locks, maintenance, QA, tracebacks.",
  usage: "fawkes console [--listen 127.0.0.1:8080] [--target local|aws] [--stacks A,B] [--auth password|alb] [--users FILE] [--alb-arn ARN --region R] [--groups-claim C]",
  help: `Serves the console until stopped (Ctrl-C), and prints its URL. It shows every stack of the
project to whoever's groups the stack's access knob names (view, deploy, admin), and its buttons
run the same code as the CLI (release, rollback, lock take|give-back|break, maintenance on|off,
qa up|extend|down) on this machine's hosts, as the signed-in person: the history and the locks
name them, and every action, refused ones included, goes to the audit log
(\${FAWKES_HOME:-/var/lib/fawkes}/console/audit.jsonl). Releases need root, like fawkes release.

Sign-in (--auth password, the default): the users file (default \${FAWKES_HOME}/console/users.yaml),
written by fawkes user add, groups edited by hand. Behind an AWS load balancer (--auth alb): its
listener rule authenticates with OIDC, and the console verifies the x-amzn-oidc-data header the
ALB signs (its key fetched by key id from the region's endpoint, the signature, the signer, the
expiry) and takes the groups from the identity provider's claim.

Flags:
  --listen A:P        where to listen (default 127.0.0.1:8080; port 0: any free port)
  --stacks A,B        the stacks it serves (default every stack of the project): a management
                      stack's console serves those it manages
  --target T          local (default: this machine's hosts) or aws: releases, rollbacks and
                      maintenance as fawkes release|rollback|maintenance --target aws run them
                      (the stacks' AWS credentials from the SDK's chain, the Pulumi CLI), locks
                      read from each stack's DynamoDB table, releases listed from its bucket; the
                      lock held by hand and QA environments are not run from it on AWS yet
  --auth K            password (default) or alb
  --users FILE        the users file (password)
  --alb-arn ARN       alb: the load balancer whose signed header is accepted (repeatable)
  --region R          alb: the load balancer's region
  --groups-claim C    alb: the claim holding the groups (default groups)

The daily traceback mail: for each stack whose errorMail knob names recipients, the console sends
its digest (the top tracebacks per app of the last 24 hours, the same as its Top tracebacks page)
at errorMail.at UTC, by SMTP to FAWKES_SMTP_URL (default smtp://127.0.0.1:25). A knob changed
takes effect when the console starts again; fawkes errors --stack S --mail sends one now.

Exit codes: 0 stopped by a signal; 1 the address is taken, or the users file is wrong (every
problem named); 2 usage.`,
  options: { listen: { type: "string" }, target: { type: "string" }, stacks: { type: "string" }, auth: { type: "string" }, users: { type: "string" }, "alb-arn": { type: "string", multiple: true }, region: { type: "string" }, "groups-claim": { type: "string" } },
  async run({ values }, io) {
    const root = findProjectRoot(io.cwd, values.project);
    const home = fawkesHome();
    const { host, port } = listenOf(values.listen);
    const auth = authOf(values, home);
    if (auth.kind === "password") {
      const n = Object.keys(readUsers(auth.usersFile).users).length;
      if (n === 0) io.err(`no console user yet in ${auth.usersFile}: add one with fawkes user add NAME --groups admins\n`);
    }
    const target = values.target ?? "local";
    if (target !== "local" && target !== "aws") throw new UsageError(`--target ${String(target)}: must be local (this machine's hosts) or aws (the stacks' AWS accounts)`);
    const stacks = values.stacks === undefined ? undefined : String(values.stacks).split(",").map((s) => s.trim()).filter((s) => s !== "");
    for (const s of stacks ?? []) {
      const problem = stackNameProblem(s);
      if (problem !== undefined) throw new UsageError(`--stacks: "${s}": ${problem}`);
    }
    const console = startConsole({ root, home, store: defaultStore(), auth, secure: auth.kind === "alb", target, ...(stacks ? { stacks } : {}) });
    await new Promise<void>((resolve, reject) => {
      console.server.once("error", reject);
      console.server.listen(port, host, () => resolve());
    }).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`--listen ${host}:${port}: ${e.code === "EADDRINUSE" ? "that address is taken" : e.message}`);
    });
    const address = console.server.address();
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${typeof address === "object" && address ? address.port : port}/`;
    io.out(`fawkes console: ${url}\n`);
    // The daily traceback mail of each stack that names recipients, at its errorMail.at, while the console runs.
    const stops = consoleStacks({ root, home, store: defaultStore(), ...(stacks ? { stacks } : {}) }).flatMap(({ spec }) => {
      if (!spec || spec.knobs.errorMail.to.length === 0) return [];
      io.err(`${spec.stack}: the traceback mail goes to ${spec.knobs.errorMail.to.join(", ")} daily at ${spec.knobs.errorMail.at} UTC\n`);
      return [
        startErrorMailSchedule({
          spec,
          target,
          onError: (e, stack) => io.err(`${stack}: the traceback mail was not sent: ${e.message}\n`),
          onSent: (o) => io.err(o.sent ? `${o.stack}: the traceback mail went to ${o.to.join(", ")}: ${o.subject}\n` : `${o.stack}: no traceback mail: ${o.reason}\n`),
        }),
      ];
    });
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    io.err("stopping: waiting for the running actions to end\n");
    for (const stop of stops) stop();
    await console.close();
    await console.idle();
    return 0;
  },
};

/** A password: stdin's first line when it is not a terminal (scripts), else asked twice without echo. */
async function readPassword(io: Io): Promise<string> {
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    throw new UsageError("no password on stdin: give it as the first line");
  }
  // The prompt goes straight to the terminal; what readline would echo (the typing) goes nowhere.
  const ask = (prompt: string) =>
    new Promise<string>((resolve, reject) => {
      process.stderr.write(prompt);
      const silent = new Writable({ write: (_chunk, _enc, done) => done() });
      const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
      rl.on("SIGINT", () => {
        rl.close();
        io.err("\n");
        reject(new UsageError("interrupted: nothing was changed"));
      });
      rl.question("", (answer) => {
        rl.close();
        io.err("\n");
        resolve(answer);
      });
    });
  const first = await ask("password: ");
  if ((await ask("again: ")) !== first) throw new UsageError("the two passwords differ; nothing was changed");
  return first;
}

function groupsOf(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return String(value)
    .split(",")
    .map((g) => g.trim())
    .filter((g) => g !== "");
}

const USERS_FLAG = "  --users FILE   the users file (default ${FAWKES_HOME:-/var/lib/fawkes}/console/users.yaml)";

export const userAdd: Command = {
  name: "user add",
  summary: "Add a person to the deploy console on this machine, or set their password (and groups).",
  usage: "fawkes user add NAME [--groups G1,G2] [--users FILE]",
  help: `Reads the password from stdin's first line (scripts), or asks twice without echo at a
terminal; at least 12 characters. Stores only its scrypt hash, in a 0600 file. Groups decide the
roles: each stack's access knob names the groups that view, deploy and administer it. Without
--groups an existing user keeps theirs.

Flags:
  --groups LIST  comma-separated groups (default: the user's, or none)
${USERS_FLAG}

Exit codes: 0 added or changed; 1 a bad name, group or password, or a users file with problems; 2 usage.`,
  options: { groups: { type: "string" }, users: { type: "string" } },
  positionals: { min: 1, max: 1, args: [{ name: "NAME" }] },
  async run({ values, positionals }, io) {
    const file = typeof values.users === "string" ? values.users : usersFile(fawkesHome());
    const password = await readPassword(io);
    const r = await setUser(file, positionals[0]!, password, groupsOf(values.groups));
    io.out(`${r.user.name} ${r.created ? "added" : "changed"} in ${file}; groups: ${r.user.groups.join(", ") || "none"}\n`);
    return 0;
  },
};

export const userList: Command = {
  name: "user list",
  summary: "The deploy console's users on this machine and their groups (never their hashes).",
  usage: "fawkes user list [--users FILE] [--json]",
  help: `Flags:
${USERS_FLAG}
  --json         [{name, groups}]

Exit codes: 0 listed; 1 a users file with problems; 2 usage.`,
  options: { users: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const file = typeof values.users === "string" ? values.users : usersFile(fawkesHome());
    const users = Object.entries(readUsers(file).users).map(([name, u]) => ({ name, groups: u.groups }));
    if (values.json) io.out(`${JSON.stringify(users, null, 2)}\n`);
    else if (users.length === 0) io.out(`no users in ${file}\n`);
    else for (const u of users) io.out(`${u.name.padEnd(24)} ${u.groups.join(", ") || "(no group)"}\n`);
    return 0;
  },
};

export const userRemove: Command = {
  name: "user remove",
  summary: "Remove a person from the deploy console on this machine.",
  usage: "fawkes user remove NAME [--users FILE]",
  help: `Their sessions end at their next request (so do those of a user whose password changes).

Flags:
${USERS_FLAG}

Exit codes: 0 removed; 1 no such user, or a users file with problems; 2 usage.`,
  options: { users: { type: "string" } },
  positionals: { min: 1, max: 1, args: [{ name: "NAME" }] },
  async run({ values, positionals }, io) {
    const file = typeof values.users === "string" ? values.users : usersFile(fawkesHome());
    if (!(await removeUser(file, positionals[0]!))) {
      io.err(`error: no user "${positionals[0]}" in ${file}\n`);
      return 1;
    }
    io.out(`${positionals[0]} removed from ${file}\n`);
    return 0;
  },
};
