// Serves a sample app with Debian's gunicorn on 127.0.0.1 for a test, bounded in time, and stops it.
import { createServer } from "node:net";
import { execa, type ResultPromise } from "execa";
import { BASE_ENV, TOOLS } from "./tools.ts";

/** A port the kernel just handed out on 127.0.0.1 (free unless someone races us for it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface Served {
  url: string;
  /** Everything gunicorn printed so far. */
  output(): string;
  /** TERM, then waits (bounded) for gunicorn's graceful exit; returns its exit code. */
  stop(): Promise<number | undefined>;
}

/** `get` with a short timeout; never throws for a refused connection, returns undefined instead. */
export async function tryFetch(url: string, init: RequestInit = {}): Promise<Response | undefined> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
  } catch {
    return undefined;
  }
}

/** Starts gunicorn and waits until `healthPath` answers 200 (a few tries), or throws with its output. */
export async function serveApp(source: string, wsgi: string, env: Record<string, string>, healthPath: string): Promise<Served> {
  const port = await freePort();
  let out = "";
  const child: ResultPromise = execa(TOOLS.gunicorn.path, ["--chdir", source, "--bind", `127.0.0.1:${port}`, "--workers", "1", "--graceful-timeout", "5", wsgi], {
    env: { ...BASE_ENV, ...env },
    extendEnv: false,
    reject: false,
    all: true,
    stdin: "ignore",
    timeout: 60_000,
    forceKillAfterDelay: 3_000,
  });
  child.all?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const served: Served = {
    url,
    output: () => out,
    stop: async () => {
      child.kill("SIGTERM");
      const r = await child;
      return r.exitCode;
    },
  };
  for (let i = 0; i < 40; i++) {
    if (child.exitCode !== null) break;
    const res = await tryFetch(`${url}${healthPath}`);
    if (res?.status === 200) return served;
    await new Promise((r) => setTimeout(r, 250));
  }
  await served.stop();
  throw new Error(`${wsgi} did not answer ${healthPath} on ${url} within 10 s:\n${out}`);
}
