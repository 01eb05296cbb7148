// A console of a test's own (startConsole on 127.0.0.1, a free port) and a person's HTTP client
// for it: a cookie jar, the CSRF token read from the last page, form posts.
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { startConsole, type ConsoleOptions, type ConsoleServer } from "../../src/console/index.ts";

export interface Page {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function serveConsole(opts: ConsoleOptions): Promise<{ console: ConsoleServer; base: string; port: number }> {
  const console = startConsole(opts);
  await new Promise<void>((resolve) => console.server.listen(0, "127.0.0.1", resolve));
  const port = (console.server.address() as AddressInfo).port;
  return { console, base: `http://127.0.0.1:${port}`, port };
}

export function httpRequest(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Page> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: { ...headers, ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) }, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.end(body);
  });
}

/** One person in a browser-less session: signs in, reads pages, posts forms with the page's CSRF token. */
export class ConsoleClient {
  cookie = "";
  csrf = "";
  constructor(readonly port: number) {}

  async signIn(user: string, password: string): Promise<Page> {
    const r = await this.post("/login", { user, password, next: "/" }, { csrf: false });
    const set = [r.headers["set-cookie"] ?? []].flat()[0];
    if (set) this.cookie = set.split(";")[0]!;
    return r;
  }

  async get(path: string): Promise<Page> {
    const r = await httpRequest(this.port, "GET", path, this.cookie ? { cookie: this.cookie } : {});
    const token = /name="csrf" value="([^"]+)"/.exec(r.body)?.[1];
    if (token) this.csrf = token;
    return r;
  }

  async post(path: string, form: Record<string, string>, o: { csrf?: boolean | string; origin?: string } = {}): Promise<Page> {
    const token = o.csrf === false ? undefined : typeof o.csrf === "string" ? o.csrf : this.csrf;
    const body = new URLSearchParams({ ...form, ...(token !== undefined ? { csrf: token } : {}) }).toString();
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", ...(this.cookie ? { cookie: this.cookie } : {}), ...(o.origin ? { origin: o.origin } : {}) };
    return httpRequest(this.port, "POST", path, headers, body);
  }
}
