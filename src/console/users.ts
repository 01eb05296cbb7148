// The console's users on this machine: a file the operator edits (names and groups) and
// `fawkes user add` writes (password hashes). Passwords are stored with scrypt, a slow hash
// made to cost an attacker who stole the file memory and time per guess.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { GroupName } from "../config/index.ts";

/** A bad users file, or a refused change to it: names the file and the key. */
export class ConsoleUsersError extends Error {}

export const UserName = z.string().regex(/^[a-z0-9][a-z0-9._@+-]{0,63}$/, "must be a user name: lowercase letters, digits and . _ @ + -, at most 64 characters, like \"alice\" or \"alice@example.com\"");

// N=2^15, r=8: 32 MiB and about 0.1 s per hash here; OWASP's floor for scrypt is N=2^17 r=8 p=1 or
// N=2^15 r=8 p=3. p=3 keeps the memory bounded and triples the work.
const SCRYPT = { N: 32768, r: 8, p: 3 } as const;
const KEY_BYTES = 32;
const PREFIX = "scrypt";

const StoredHash = z.string().regex(/^scrypt\$N=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'must be a hash written by fawkes user add ("scrypt$N=...,r=...,p=...$salt$hash"), never a password');

const UsersFileSchema = z.strictObject({
  users: z.record(UserName, z.strictObject({ groups: z.array(GroupName).default([]), password: StoredHash })).default({}),
});
export type UsersFile = z.infer<typeof UsersFileSchema>;

export interface ConsoleUser {
  name: string;
  groups: string[];
}

export function usersFile(home: string): string {
  return join(home, "console", "users.yaml");
}

function scryptAsync(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, KEY_BYTES, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N=32768,r=8,p=3$<salt>$<key>`, base64: the parameters travel with the hash, so they can grow. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT);
  return `${PREFIX}$N=${SCRYPT.N},r=${SCRYPT.r},p=${SCRYPT.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Whether the password matches the stored hash; compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // A hand-edited file must not make a login hash forever or exhaust memory.
  if (N < 1024 || N > 2 ** 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const expected = Buffer.from(m[5]!, "base64");
  const key = await scryptAsync(password, Buffer.from(m[4]!, "base64"), { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** The users file, checked whole: every problem with its key. A missing file is no users. */
export function readUsers(file: string): UsersFile {
  if (!existsSync(file)) return { users: {} };
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, "utf8")) ?? {};
  } catch (e) {
    throw new ConsoleUsersError(`${file}: not YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  const parsed = UsersFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${file}: ${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new ConsoleUsersError(`${problems.length} problem${problems.length === 1 ? "" : "s"} in the console's users file:\n${problems.join("\n")}\nEach user is users.<name>: { groups: [...], password: <set by fawkes user add> }`);
  }
  return parsed.data;
}

// A password check for a user who does not exist costs the same as one who does: no name oracle.
let decoy: Promise<string> | undefined;

/** The user, when the name and password match the file; undefined otherwise, in about the same time. */
export async function authenticate(file: string, name: string, password: string): Promise<ConsoleUser | undefined> {
  const users = readUsers(file).users;
  const user = UserName.safeParse(name).success ? users[name] : undefined;
  if (!user) {
    decoy ??= hashPassword(randomBytes(12).toString("hex"));
    await verifyPassword(password, await decoy);
    return undefined;
  }
  return (await verifyPassword(password, user.password)) ? { name, groups: [...user.groups] } : undefined;
}

/** Removes a user; returns whether there was one. */
export async function removeUser(file: string, name: string): Promise<boolean> {
  return changingUsers(file, () => {
    const current = readUsers(file);
    if (current.users[name] === undefined) return false;
    const { [name]: _gone, ...rest } = current.users;
    writeUsers(file, { users: rest });
    return true;
  });
}

/**
 * Written whole to a new 0600 file beside it (a random name, created exclusively: never through a
 * link planted there), flushed, then renamed over it: readers never see half a file.
 */
function writeUsers(file: string, next: UsersFile): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeFileSync(fd, `# The deploy console's users (fawkes console). Edit groups here; set passwords with\n# fawkes user add NAME. Roles come from groups: the access knob of each stack.\n${stringify(next)}`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** One change of the users file at a time (a lock file beside it): two `fawkes user add` at once both count. */
async function changingUsers<T>(file: string, fn: () => Promise<T> | T): Promise<T> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const lock = `${file}.lock`;
  for (let tries = 0; ; tries++) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      // A lock older than a minute is a change that died.
      if (tries > 100 || Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { force: true });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Adds a user or sets one's password (and groups, when given), keeping the others. Written whole to
 * a 0600 file beside it, then renamed: readers never see half a file, and only root reads hashes.
 */
export async function setUser(file: string, name: string, password: string, groups?: readonly string[]): Promise<{ created: boolean; user: ConsoleUser }> {
  const checked = UserName.safeParse(name);
  if (!checked.success) throw new ConsoleUsersError(`user "${name}": ${checked.error.issues[0]!.message}`);
  for (const g of groups ?? []) {
    const ok = GroupName.safeParse(g);
    if (!ok.success) throw new ConsoleUsersError(`group "${g}": ${ok.error.issues[0]!.message}`);
  }
  if (password.length < 12) throw new ConsoleUsersError("the password must be at least 12 characters long");
  const hash = await hashPassword(password);
  return changingUsers(file, () => {
    const current = readUsers(file);
    const before = current.users[name];
    const user = { groups: [...(groups ?? before?.groups ?? [])], password: hash };
    writeUsers(file, { users: { ...current.users, [name]: user } });
    return { created: before === undefined, user: { name, groups: user.groups } };
  });
}
