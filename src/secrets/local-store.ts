// The local target's stand-in of SSM Parameter Store: a 0600 file per app,
// `<FAWKES_HOME>/envs/<stack>/secrets/<app>.env`, bind-mounted into the environment's hosts at
// /var/lib/fawkes/secrets, where the bootstrap reads it at boot. One `NAME=<word>` line per
// secret (quote.ts); other lines (comments) are kept as they are. Every write replaces the file
// whole (a temporary file renamed over it), so a host booting meanwhile reads the old or the new.
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { SecretsError, type SecretState, type SecretStore } from "./store.ts";
import { quoteSecret, SECRET_WORD, unquoteSecret } from "./quote.ts";

/** A line the bootstrap takes as a secret: the same pattern as its local_secrets_fetch. */
const ENTRY = /^([A-Z][A-Z0-9_]*)=(.*)$/;

const header = (app: string) =>
  `# Secrets of app ${app}, one NAME=<bash word> per line, read by the hosts' bootstrap at boot.\n# Written by fawkes (fawkes secret set); a hand-written value must be quoted the same way.\n`;

export function localSecretsFile(secretsDir: string, app: string): string {
  return join(secretsDir, `${app}.env`);
}

function fsFailure(what: string, path: string, e: unknown): SecretsError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === "EACCES" || code === "EPERM" ? "permission denied (the local store belongs to whoever ran fawkes local up, usually root: run this as that user, or point FAWKES_HOME elsewhere)" : (e as Error).message;
  return new SecretsError(`cannot ${what} ${path}: ${why}`);
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fsFailure("read", file, e);
  }
}

/** The lines of a store file, without the empty string after its last line break. */
function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Names in a store file, each with the word bash would take (the last line of a name wins, as in the bootstrap). */
function entriesOf(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of linesOf(text)) {
    const m = ENTRY.exec(line);
    if (m) entries.set(m[1]!, m[2]!);
  }
  return entries;
}

/** The store's dir, 0700; the dirs above it as any other of the environment. */
function ensureStoreDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Replaces `file` whole: a 0600 temporary file beside it, synced, then renamed over it. */
function writeAtomically(file: string, text: string): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${randomBytes(6).toString("hex")}.partial`);
  try {
    ensureStoreDir(dir);
    const fd = openSync(tmp, "wx", 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    chmodSync(file, 0o600);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fsFailure("write", file, e);
  }
}

/** Every line of `text` but those of `name`, then `name`'s new line where its first one was (or last). */
function withEntry(text: string, name: string, word: string | undefined): string {
  const out: string[] = [];
  let placed = false;
  for (const line of linesOf(text)) {
    if (ENTRY.exec(line)?.[1] !== name) out.push(line);
    else if (!placed && word !== undefined) {
      out.push(`${name}=${word}`);
      placed = true;
    }
  }
  if (!placed && word !== undefined) out.push(`${name}=${word}`);
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

const state = (word: string): SecretState =>
  SECRET_WORD.test(word) ? { valid: true } : { valid: false, problem: "not quoted as fawkes writes it: hosts refuse it at boot; set it again with fawkes secret set" };

/** The store of one environment's secrets dir. */
export function localSecretStore(secretsDir: string): SecretStore {
  return {
    where: secretsDir,
    async list(app) {
      const text = readText(localSecretsFile(secretsDir, app));
      return new Map([...entriesOf(text ?? "")].map(([name, word]) => [name, state(word)]));
    },
    async set(app, name, value) {
      const file = localSecretsFile(secretsDir, app);
      writeAtomically(file, withEntry(readText(file) ?? header(app), name, quoteSecret(value)));
    },
    async unset(app, name) {
      const file = localSecretsFile(secretsDir, app);
      const text = readText(file);
      if (text === undefined || !entriesOf(text).has(name)) return false;
      writeAtomically(file, withEntry(text, name, undefined));
      return true;
    },
  };
}

/** The values of an app's store file, as the bootstrap hands them to the app (tests read them back this way). */
export function readLocalSecretValues(secretsDir: string, app: string): Map<string, string | undefined> {
  const text = readText(localSecretsFile(secretsDir, app)) ?? "";
  return new Map([...entriesOf(text)].map(([name, word]) => [name, unquoteSecret(word)]));
}

/**
 * `fawkes local up`'s step: a store file per app, 0600 in a 0700 dir, and a random value for
 * each declared secret that has none yet (progress names them, never their values). A value set
 * by hand that hosts would refuse stops it here, before any host boots. Returns the generated names.
 */
export function ensureLocalSecrets(env: { stack: string; secretsDir: string; apps: ReadonlyArray<{ name: string; secrets: readonly string[] }> }, progress: (line: string) => void): string[] {
  const { stack, secretsDir, apps } = env;
  const generated: string[] = [];
  try {
    ensureStoreDir(secretsDir);
  } catch (e) {
    throw fsFailure("create", secretsDir, e);
  }
  for (const app of apps) {
    const file = localSecretsFile(secretsDir, app.name);
    const before = readText(file);
    let text = before ?? header(app.name);
    const entries = entriesOf(text);
    const refused = app.secrets.filter((s) => entries.has(s) && !SECRET_WORD.test(entries.get(s)!));
    if (refused.length > 0) {
      throw new SecretsError(`${file}: the value of ${refused.join(", ")} is not quoted as fawkes writes it, and hosts would refuse it at boot; set it again with fawkes secret set ${app.name} ${refused[0]} --stack ${stack}`);
    }
    const add = app.secrets.filter((s) => !entries.has(s));
    for (const s of add) text = withEntry(text, s, quoteSecret(generatedSecret()));
    if (add.length > 0) progress(`secrets of ${app.name}: generated a random value for ${add.join(", ")} (set your own with fawkes secret set ${app.name} NAME --stack ${stack})`);
    if (before === undefined || add.length > 0) writeAtomically(file, text);
    else {
      try {
        chmodSync(file, 0o600);
      } catch (e) {
        throw fsFailure("chmod", file, e);
      }
    }
    generated.push(...add.map((s) => `${app.name}/${s}`));
  }
  return generated;
}

/** A random value fawkes makes for a secret: 32 characters of A-Z, a-z, 0-9, '-' and '_' (also a valid database password). */
export function generatedSecret(): string {
  return randomBytes(24).toString("base64url");
}

/** The local db host's file beside the apps' (`_database.env`: no app name starts with '_'). */
export function localDatabaseEnvFile(secretsDir: string): string {
  return join(secretsDir, "_database.env");
}

/**
 * The local stand-in of RDS's endpoint and managed master secret: the db host's address and a
 * master password generated once per environment (kept across boots, so the data dir and the
 * password stay together until `local down`). Read by the db host and by the apps' hosts.
 */
export function ensureLocalDatabaseEnv(secretsDir: string, endpoint: string): void {
  const file = localDatabaseEnvFile(secretsDir);
  const before = readText(file);
  let text = before ?? "# The local db host's address and master password, read at boot by the hosts of this environment. Written by fawkes.\n";
  const entries = entriesOf(text);
  if (!entries.has("FAWKES_DB_MASTER_PASSWORD") || !SECRET_WORD.test(entries.get("FAWKES_DB_MASTER_PASSWORD")!)) {
    text = withEntry(text, "FAWKES_DB_MASTER_PASSWORD", quoteSecret(generatedSecret()));
  }
  text = withEntry(text, "FAWKES_DB_ENDPOINT", quoteSecret(endpoint));
  if (text !== before) writeAtomically(file, text);
}
