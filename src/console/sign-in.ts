// Sign-in with a password (the console on this machine): the sign-in page, sessions checked against
// the users file at each request, how many guesses an address may make, and how many slow hashes
// run at once.
import { existsSync, statSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Principal } from "./access.ts";
import type { AuditEntry } from "./audit.ts";
import { clientOf, readBody, redirect, Reply, safeNext, sameOrigin } from "./http.ts";
import { loginPage } from "./pages.ts";
import { clearedCookie, cookieOf, SESSION_COOKIE, sessionCookie, Sessions } from "./session.ts";
import { authenticate, readUsers, type UsersFile } from "./users.ts";

/** Failed sign-ins from one address before it must wait: the slow hash costs each guess, this bounds their number. */
export const SIGN_IN_MAX_FAILURES = 10;
export const SIGN_IN_WINDOW_MIN = 15;
export const MAX_HASHING = 4;

/** Failures per client within a sliding window. */
export class FailureWindow {
  private readonly seen = new Map<string, number[]>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private recent(key: string, now: number): number[] {
    const kept = (this.seen.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (kept.length === 0) this.seen.delete(key);
    else this.seen.set(key, kept);
    return kept;
  }

  blocked(key: string, now = Date.now()): boolean {
    return this.recent(key, now).length >= this.max;
  }

  add(key: string, now = Date.now()): void {
    // Addresses that stopped trying are swept now and then, not kept for ever.
    if (this.seen.size > 10_000) for (const k of [...this.seen.keys()]) this.recent(k, now);
    this.seen.set(key, [...this.recent(key, now), now]);
  }

  clear(key: string): void {
    this.seen.delete(key);
  }
}

type Audit = (req: IncomingMessage, who: string, entry: Pick<AuditEntry, "action" | "outcome"> & { detail?: string }) => void;

export class PasswordSignIn {
  private readonly sessions = new Sessions();
  private readonly failures = new FailureWindow(SIGN_IN_MAX_FAILURES, SIGN_IN_WINDOW_MIN * 60_000);
  private hashing = 0;
  private cache: { stamp: string; users: UsersFile["users"] } | undefined;

  constructor(
    private readonly usersFile: string,
    private readonly secure: boolean,
    private readonly audit: Audit,
  ) {}

  /** The users file as it is now, read again when it changed: a removed user, a new password or new groups count at once. */
  private users(): UsersFile["users"] {
    const st = existsSync(this.usersFile) ? statSync(this.usersFile) : undefined;
    const stamp = st ? `${st.mtimeMs}:${st.size}:${st.ino}` : "none";
    if (this.cache?.stamp !== stamp) this.cache = { stamp, users: readUsers(this.usersFile).users };
    return this.cache.users;
  }

  /** The person of a request's session, with their groups as the file says now; none when the session ended. */
  principalOf(req: IncomingMessage): { who: Principal; csrf: string } | undefined {
    const id = cookieOf(req, SESSION_COOKIE);
    const s = this.sessions.get(id);
    if (!s) return undefined;
    // The session holds the password hash it was opened with: gone or changed, the session ends.
    const user = this.users()[s.who.name];
    if (!user || user.password !== s.tag) {
      this.sessions.drop(id);
      return undefined;
    }
    return { who: { ...s.who, groups: [...user.groups] }, csrf: s.csrf };
  }

  /** GET /login: the form; POST /login: a session, or why not. */
  async signIn(req: IncomingMessage, url: URL): Promise<Reply> {
    if (req.method === "GET") return new Reply(200, loginPage(undefined, safeNext(url.searchParams.get("next"))));
    sameOrigin(req);
    const form = await readBody(req);
    const name = form.get("user") ?? "";
    const shownName = name.slice(0, 64) || "(empty)";
    const next = safeNext(form.get("next"));
    const client = clientOf(req, false);
    if (this.failures.blocked(client)) {
      this.audit(req, shownName, { action: "sign-in", outcome: "refused", detail: "too many failed sign-ins" });
      return new Reply(429, loginPage(`Too many failed sign-ins from ${client}: wait ${SIGN_IN_WINDOW_MIN} minutes.`, next), { "retry-after": String(SIGN_IN_WINDOW_MIN * 60) });
    }
    // Each check costs 32 MiB and a core for a tenth of a second: a bounded number at once.
    if (this.hashing >= MAX_HASHING) return new Reply(429, loginPage("Too many sign-ins at once: try again in a moment.", next), { "retry-after": "2" });
    // Counted before the check, so that guesses sent at once count too; a success clears them.
    this.failures.add(client);
    this.hashing++;
    const user = await authenticate(this.usersFile, name, form.get("password") ?? "").finally(() => this.hashing--);
    if (!user) {
      this.audit(req, shownName, { action: "sign-in", outcome: "sign-in-failed" });
      return new Reply(401, loginPage("Wrong user or password.", next));
    }
    this.failures.clear(client);
    const s = this.sessions.create({ name: user.name, subject: user.name, groups: user.groups, via: "password" }, this.users()[user.name]?.password ?? "");
    this.audit(req, user.name, { action: "sign-in", outcome: "signed-in" });
    return redirect(next, { "set-cookie": sessionCookie(s.id, this.secure) });
  }

  /** Ends the request's session; the cookie that clears it. */
  signOut(req: IncomingMessage): string {
    this.sessions.drop(cookieOf(req, SESSION_COOKIE));
    return clearedCookie(this.secure);
  }
}
