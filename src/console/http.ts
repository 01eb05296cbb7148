// The console's HTTP plumbing: an answer as a value (Reply), form bodies bounded, each form field
// checked by the one rule of its kind, the origin check of form posts, and the security headers
// every answer carries.
import type { IncomingMessage, ServerResponse } from "node:http";

export const MAX_BODY = 16 * 1024;

/** A request's answer: status, headers, body. */
export class Reply extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export const redirect = (to: string, headers: Record<string, string> = {}) => new Reply(303, "", { location: to, ...headers });

export function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (type !== "application/x-www-form-urlencoded") return reject(new Reply(415, "a form post (application/x-www-form-urlencoded) is expected"));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Reply(413, "the form is too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}


/** Each form field as its action needs it, checked by the one rule of its kind; a problem is a 400 that names the field. */
export function field(form: URLSearchParams, name: string, problem: (v: string) => string | undefined): string {
  const v = form.get(name);
  if (v === null || v === "") throw new Reply(400, `the form has no ${name}`);
  const p = problem(v);
  if (p !== undefined) throw new Reply(400, `${name} ${JSON.stringify(v.slice(0, 80))}: ${p}`);
  return v;
}

export const regexProblem = (re: RegExp, what: string) => (v: string) => (re.test(v) ? undefined : what);

/** The peer; behind the ALB, the address it appended last to X-Forwarded-For (those before it are the client's say). */
export function clientOf(req: IncomingMessage, behindAlb: boolean): string {
  const fwd = behindAlb ? String(req.headers["x-forwarded-for"] ?? "").split(",").at(-1)!.trim() : "";
  return fwd || req.socket.remoteAddress || "unknown";
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}


/** A form post from another site is refused whatever its token: Origin (or Fetch Metadata) must be this console's. */
export function sameOrigin(req: IncomingMessage): void {
  const site = header(req, "sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") throw new Reply(403, "a form from another site; nothing was changed");
  const origin = header(req, "origin");
  if (origin === undefined || origin === "null" && site === undefined) return;
  const host = header(req, "x-forwarded-host") ?? header(req, "host");
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw new Reply(403, "a form with a malformed Origin; nothing was changed");
  }
  if (originHost !== host) throw new Reply(403, "a form from another origin; nothing was changed");
}

/** A path segment as sent (%-encoded); a malformed one names nothing here: 404. */
export function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new Reply(404, "no such page");
  }
}

/** Where to go after signing in: a path of this console only, never another site. */
export function safeNext(next: string | null | undefined): string {
  return next && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : "/";
}

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

export function send(res: ServerResponse, r: Reply): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const type = r.headers["content-type"] ?? "text/html; charset=utf-8";
  res.writeHead(r.status, { ...SECURITY_HEADERS, "cache-control": "no-store", ...r.headers, "content-type": type });
  res.end(r.body);
}
