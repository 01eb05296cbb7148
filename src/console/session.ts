// Who a request is: a signed-in session on this machine (a cookie naming a random id kept in
// memory), or the ALB's signed header on AWS. Each has its CSRF token: every form posts it back.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Principal } from "./access.ts";

export const SESSION_COOKIE = "fawkes_console";
const IDLE_MS = 8 * 3600_000;
const ABSOLUTE_MS = 24 * 3600_000;

interface Session {
  who: Principal;
  csrf: string;
  /** What the person signed in against (their password's hash): the server ends the session when it changes. */
  tag: string;
  created: number;
  seen: number;
}

/** Sessions of password sign-ins, in memory: the console restarting signs everyone out. */
export class Sessions {
  private readonly map = new Map<string, Session>();

  create(who: Principal, tag: string, now = Date.now()): { id: string; csrf: string } {
    this.sweep(now);
    const id = randomBytes(32).toString("base64url");
    const csrf = randomBytes(32).toString("base64url");
    this.map.set(id, { who, csrf, tag, created: now, seen: now });
    return { id, csrf };
  }

  get(id: string | undefined, now = Date.now()): { who: Principal; csrf: string; tag: string } | undefined {
    if (!id) return undefined;
    const s = this.map.get(id);
    if (!s) return undefined;
    if (now - s.seen > IDLE_MS || now - s.created > ABSOLUTE_MS) {
      this.map.delete(id);
      return undefined;
    }
    s.seen = now;
    return { who: s.who, csrf: s.csrf, tag: s.tag };
  }

  drop(id: string | undefined): void {
    if (id) this.map.delete(id);
  }

  private sweep(now: number): void {
    for (const [id, s] of this.map) if (now - s.seen > IDLE_MS || now - s.created > ABSOLUTE_MS) this.map.delete(id);
  }
}

export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The cookie: HttpOnly, SameSite=Strict (no other site's form or fetch carries it), Secure behind HTTPS. */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}; Max-Age=${ABSOLUTE_MS / 1000}`;
}

export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}; Max-Age=0`;
}

/** Behind the ALB there is no session of ours: the token is a keyed hash of the person's subject. */
export function derivedCsrf(secret: Buffer, subject: string): string {
  return createHmac("sha256", secret).update(`csrf\0${subject}`).digest("base64url");
}

export function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
