// `fawkes secret set|list|unset`: values of the secrets the catalogue names, per stack, in the
// local store or SSM Parameter Store. A value comes from stdin or a prompt that does not echo,
// never from the command line; no output of these commands ever holds one.
import type { ReadStream } from "node:tty";
import { DATABASE_PASSWORD, loadStack, type EnvironmentSpec } from "../../config/index.ts";
import { envLayout } from "../../local/index.ts";
import { readState } from "../../local/state.ts";
import { DATABASE_PASSWORD_RULE } from "../../model/index.ts";
import {
  appOf,
  checkStackName,
  declaredSecret,
  generatedSecret,
  localSecretsFile,
  localSecretStore,
  MAX_SECRET_BYTES,
  SecretNameError,
  SecretsError,
  secretValueOf,
  stackSecretParameters,
  type SecretStore,
  type SsmSender,
} from "../../secrets/index.ts";
import { UsageError, type Command, type Io } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

/** Where a value comes from: a pipe, or a person at a terminal. */
export interface SecretInput {
  /** true when stdin is a terminal: then `prompt`, else `readPiped`. */
  interactive(): boolean;
  readPiped(): Promise<Uint8Array>;
  /** Asks on stderr and reads one line without echoing it. */
  prompt(question: string): Promise<Uint8Array>;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** One line typed at the terminal in raw mode, nothing echoed; ^C and ^D on an empty line abort. */
function promptHidden(question: string): Promise<Uint8Array> {
  const stdin = process.stdin as ReadStream;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let typed = "";
    const finish = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(Buffer.from(typed, "utf8"));
    };
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      for (let i = 0; i < text.length; i++) {
        const ch = text[i]!;
        if (ch === "\r" || ch === "\n") {
          // A pasted block of lines would be cut at its first: refuse it rather than store a part.
          if (text.slice(i + 1).replace(/^\n/, "") !== "") return finish(new SecretsError("the value pasted at the prompt has more than one line; pipe a multi-line value on stdin instead (nothing was set)"));
          return finish();
        }
        if (ch === "\u0003") return finish(new SecretsError("interrupted; nothing was set"));
        if (ch === "\u0004") return typed === "" ? finish(new SecretsError("no value typed; nothing was set")) : finish();
        if (ch === "\u007f" || ch === "\b") typed = [...typed].slice(0, -1).join("");
        else if (ch === "\u0015") typed = "";
        else typed += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.on("data", onData);
    stdin.resume();
  });
}

export const processInput: SecretInput = {
  interactive: () => process.stdin.isTTY === true,
  readPiped: () => readAll(process.stdin),
  prompt: promptHidden,
};

/** What the commands reach outside: tests hand doubles of both. */
export interface SecretDeps {
  input?: SecretInput;
  ssm?: SsmSender;
}

const NO_ARGV_VALUE =
  "a secret's value is never taken from the command line, where shell history and `ps` keep it for anyone to read; pipe it on stdin (`fawkes secret set APP NAME --stack S < file`) or run the command at a terminal and type it at the prompt. A value already typed on a command line should be considered seen: choose a new one";

function requireStack(values: Record<string, unknown>): string {
  if (typeof values.stack !== "string") throw new UsageError("--stack S is required: secrets are set per environment");
  try {
    return checkStackName(values.stack);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function targetOf(values: Record<string, unknown>): "local" | "aws" {
  const t = values.target ?? "local";
  if (t !== "local" && t !== "aws") throw new UsageError(`--target ${String(t)}: must be local (the store on this machine) or aws (SSM Parameter Store)`);
  return t;
}

function storeOf(spec: EnvironmentSpec, target: "local" | "aws", deps: SecretDeps): SecretStore {
  return target === "aws" ? stackSecretParameters(spec, deps.ssm) : localSecretStore(envLayout(spec.stack).secretsDir);
}

/** Name mistakes are usage errors (exit 2); store and value problems print `error:` and exit 1. */
async function guarded(io: Io, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof SecretNameError) throw new UsageError(e.message);
    if (e instanceof SecretsError) {
      io.err(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** When running hosts see a change: only at their next boot, locally or on AWS. */
function whenHostsSeeIt(spec: EnvironmentSpec, target: "local" | "aws"): string {
  if (target === "aws") {
    return "instances launched from now on read it at boot; running ones keep what they read until they are replaced (the next release, or an instance refresh of their auto scaling group)";
  }
  const layout = envLayout(spec.stack);
  let hosts = 0;
  try {
    hosts = Object.keys(readState(layout.state)?.hosts ?? {}).length;
  } catch {
    // An unreadable state file says nothing about hosts; the advice below still holds.
  }
  return hosts > 0
    ? `${spec.stack} has ${hosts} host${hosts === 1 ? "" : "s"} up here: they get it on their next boot (fawkes local rebuild --all --stack ${spec.stack})`
    : `${spec.stack} is not up here: its hosts get it when they boot (fawkes local up --stack ${spec.stack}); fawkes local down removes the stack's local store with the rest`;
}

const TARGET_FLAGS = `  --stack S     the environment (required)
  --target T    local (default): the 0600 store on this machine,
                \${FAWKES_HOME:-/var/lib/fawkes}/envs/<S>/secrets/<APP>.env, which the stack's local
                hosts read at boot; aws: SSM Parameter Store, SecureString /fawkes/<S>/<APP>/<NAME>
                in the stack's region, read by the instances' role at boot (AWS credentials from
                the SDK's default chain)`;

export function secretSetCommand(deps: SecretDeps = {}): Command {
  const input = deps.input ?? processInput;
  return {
    name: "secret set",
    summary: "Set the value of a secret the catalogue declares for APP, from stdin or a prompt; never from argv.",
    usage: "fawkes secret set APP NAME --stack S [--target local|aws] [--generate] < value",
    help: `Reads the value from stdin when stdin is not a terminal (one trailing newline is dropped),
else asks for it at a prompt that does not echo. NAME must be one of the secrets APP declares in
Pulumi.yaml (apps.<APP>.secrets). The value is never printed, logged or written anywhere but the
store; a value on the command line is refused. At most ${MAX_SECRET_BYTES} bytes of UTF-8 text, not empty, and
not ending in a line break once the trailing newline is dropped (AWS hosts would lose it).

Locally the store file is rewritten whole (other values kept), 0600, whether the stack is up or
not. Hosts read secrets only when they boot: running hosts get the new value on their next boot
(fawkes local rebuild --all, or on AWS an instance refresh).

With --generate, fawkes makes the value itself (32 random characters of A-Z, a-z, 0-9, '-' and
'_') and reads nothing. An app with \`database: true\` has the secret ${DATABASE_PASSWORD}, its
database role's password: 16-128 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-' (it goes into a
URL and into SQL as is); the local target generates one, on AWS set it with --generate.

Flags:
${TARGET_FLAGS}
  --generate    a random value made here instead of one read from stdin or a prompt

Examples:
  fawkes secret set shop SHOP_SECRET_KEY --stack dev < key.txt
  fawkes secret set blog ${DATABASE_PASSWORD} --stack production --target aws --generate
  openssl rand -hex 32 | fawkes secret set blog DJANGO_SECRET_KEY --stack staging --target aws

Exit codes: 0 set; 1 the value or the store refused it (nothing changed); 2 usage: an unknown app or
secret name, a value on the command line, a missing --stack.`,
    options: { stack: { type: "string", kind: "stack" }, target: { type: "string" }, value: { type: "string" }, generate: { type: "boolean" } },
    // More than two are taken only to refuse them with the reason.
    positionals: { min: 2, max: 64, args: [{ name: "APP", kind: "app" }, { name: "NAME" }] },
    async run({ values, positionals }, io) {
      if (positionals.length > 2 || values.value !== undefined) throw new UsageError(NO_ARGV_VALUE);
      const [appName, name] = positionals as [string, string];
      const stack = requireStack(values);
      const target = targetOf(values);
      return guarded(io, async () => {
        const spec = loadStack(findProjectRoot(io.cwd, values.project), stack);
        const app = appOf(spec, appName);
        declaredSecret(app, name);
        const store = storeOf(spec, target, deps);
        const value =
          values.generate === true
            ? generatedSecret()
            : secretValueOf(input.interactive() ? await input.prompt(`value of ${name} for ${app.name} in ${stack} (${target}; not echoed): `) : await input.readPiped());
        if (name === DATABASE_PASSWORD && !new RegExp(DATABASE_PASSWORD_RULE).test(value)) {
          throw new SecretsError(`${DATABASE_PASSWORD} must be 16-128 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-': hosts put it into a URL and SQL as is (nothing was set; --generate makes one)`);
        }
        await store.set(app.name, name, value);
        io.out(`${stack}: ${name} of ${app.name} set in ${target === "aws" ? `SSM Parameter Store, ${store.where}` : `the local store ${localSecretsFile(store.where, app.name)}`}\n`);
        io.out(`  ${whenHostsSeeIt(spec, target)}\n`);
        return 0;
      });
    },
  };
}

export function secretUnsetCommand(deps: SecretDeps = {}): Command {
  return {
    name: "secret unset",
    summary: "Remove the value of one of APP's secrets (declared, or left over from an older catalogue).",
    usage: "fawkes secret unset APP NAME --stack S [--target local|aws]",
    help: `NAME is a secret APP declares, or one still stored that the catalogue no longer declares.
A host that boots while a declared secret has no value fails at its secrets step (locally,
fawkes local up first gives it a new random value).

Flags:
${TARGET_FLAGS}

Exit codes: 0 removed, or it was not set; 1 the store failed; 2 usage: an unknown app or name.`,
    options: { stack: { type: "string", kind: "stack" }, target: { type: "string" } },
    positionals: { min: 2, max: 2, args: [{ name: "APP", kind: "app" }, { name: "NAME" }] },
    async run({ values, positionals }, io) {
      const [appName, name] = positionals as [string, string];
      const stack = requireStack(values);
      const target = targetOf(values);
      return guarded(io, async () => {
        const spec = loadStack(findProjectRoot(io.cwd, values.project), stack);
        const app = appOf(spec, appName);
        const store = storeOf(spec, target, deps);
        if (!app.secrets.includes(name)) declaredSecret(app, name, [...(await store.list(app.name)).keys()].filter((n) => !app.secrets.includes(n)));
        const removed = await store.unset(app.name, name);
        io.out(`${stack}: ${name} of ${app.name} ${removed ? "removed from" : "was not set in"} ${store.where}\n`);
        if (removed && app.secrets.includes(name)) {
          io.out(
            target === "aws"
              ? "  an instance that boots without it fails at its secrets step; running ones keep the value they read at boot\n"
              : "  a host that boots without it fails at its secrets step, but fawkes local up first gives it a new random value; running hosts keep the value they read at boot\n",
          );
        }
        return 0;
      });
    },
  };
}

interface ListedSecret {
  app: string;
  name: string;
  declared: boolean;
  set: boolean;
  problem?: string;
}

export function secretListCommand(deps: SecretDeps = {}): Command {
  return {
    name: "secret list",
    summary: "The secrets of a stack: each declared name and whether it is set (never a value), and leftovers.",
    usage: "fawkes secret list --stack S [--app A] [--target local|aws] [--json]",
    help: `Lists every secret the catalogue declares, per app, with whether the store holds a value for
it, and names stored that the catalogue no longer declares (remove them with fawkes secret unset).
Values are never read back: on AWS only the parameters' metadata is (ssm:DescribeParameters).

Flags:
  --app A       one app's secrets
${TARGET_FLAGS}
  --json        {stack, target, where, secrets: [{app, name, declared, set, problem?}]}

Exit codes: 0 listed (also when some are not set: see "set"); 1 the store failed; 2 usage.`,
    options: { stack: { type: "string", kind: "stack" }, app: { type: "string", kind: "app" }, target: { type: "string" }, json: { type: "boolean" } },
    async run({ values }, io) {
      const stack = requireStack(values);
      const target = targetOf(values);
      return guarded(io, async () => {
        const spec = loadStack(findProjectRoot(io.cwd, values.project), stack);
        const apps = typeof values.app === "string" ? [appOf(spec, values.app)] : spec.catalogue.apps;
        const store = storeOf(spec, target, deps);
        const rows: ListedSecret[] = [];
        for (const app of apps) {
          const stored = await store.list(app.name);
          for (const name of app.secrets) {
            const s = stored.get(name);
            rows.push({ app: app.name, name, declared: true, set: s !== undefined, ...(s?.problem ? { problem: s.problem } : {}) });
          }
          for (const [name, s] of [...stored].filter(([n]) => !app.secrets.includes(n)).sort(([a], [b]) => (a < b ? -1 : 1))) {
            rows.push({ app: app.name, name, declared: false, set: true, ...(s.problem ? { problem: s.problem } : {}) });
          }
        }
        if (values.json) {
          io.out(`${JSON.stringify({ stack, target, where: store.where, secrets: rows }, null, 2)}\n`);
          return 0;
        }
        io.out(`${stack} (${target}: ${store.where})\n`);
        if (rows.length === 0) io.out("  no secret declared\n");
        const appWidth = Math.max(0, ...rows.map((r) => r.app.length));
        const nameWidth = Math.max(0, ...rows.map((r) => r.name.length));
        const unsetNote = target === "local" ? "not set (fawkes local up gives it a random value)" : "NOT SET (hosts fail to boot without it)";
        for (const r of rows) {
          const status = !r.declared ? `set, not declared by ${r.app} (fawkes secret unset ${r.app} ${r.name} --stack ${stack}${target === "aws" ? " --target aws" : ""})` : r.set ? "set" : unsetNote;
          io.out(`  ${r.app.padEnd(appWidth)}  ${r.name.padEnd(nameWidth)}  ${status}${r.problem ? `; ${r.problem}` : ""}\n`);
        }
        return 0;
      });
    },
  };
}

export const secretSet = secretSetCommand();
export const secretUnset = secretUnsetCommand();
export const secretList = secretListCommand();
