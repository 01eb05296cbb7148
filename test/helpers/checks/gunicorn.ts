// Debian's gunicorn over a rendered gunicorn.conf.py with the sample app it serves:
// `--check-config` loads the config through gunicorn's validators and imports the WSGI app;
// `--print-config` (the same code path) shows the values gunicorn settled on.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { AppOnHost } from "../../../src/model/index.ts";
import { hostSandbox } from "../host-sandbox.ts";
import { goldenImage, requireImageTools } from "../image-root.ts";
import { appSource, fileAt, writeHostTree, type RenderedHost, type RenderedStack } from "../rendered-hosts.ts";
import { BASE_ENV, TOOLS, describeRun, run, type RunResult } from "../tools.ts";

/** `name = value` lines of `gunicorn --print-config`. */
function printedConfig(output: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of output.split("\n")) {
    const m = /^([a-z_]+)\s+= (.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) settings.set(m[1], m[2]);
  }
  return settings;
}

/** Unix socket paths of a printed `bind`, e.g. `['unix:/run/fawkes/shop/gunicorn.sock']`. */
const unixSockets = (bind: string) => [...bind.matchAll(/unix:([^'",\]\s]+)/g)].map((m) => m[1]!);

/** The app's environment on a host: the catalogue's env, its release, its secrets (dummy values). */
export function appEnv(app: AppOnHost): Record<string, string> {
  const secrets = Object.fromEntries(app.secrets.map((s) => [s, `validator-dummy-${s.toLowerCase()}`]));
  return { ...BASE_ENV, ...app.env, FAWKES_RELEASE: app.release, ...secrets };
}

const SOCKET_LEFT = "fawkes-check: socket left behind:";

// Stacks often render the same gunicorn.conf.py for an app: gunicorn runs once per distinct input
// it is given (the conf, the app and its env, the host layout the sandbox builds), not once per
// stack. A conf that read other rendered files while loading would need them in the key.
const runs = new Map<string, Promise<RunResult>>();

function inputKey(host: RenderedHost, app: AppOnHost, conf: string, source: string): string {
  const layout = host.plan.apps.map((a) => [a.name, a.user, a.uid, a.gid, a.release, a.paths, a.shared]);
  return createHash("sha256").update(JSON.stringify([conf, source, app.gunicorn?.wsgi, appEnv(app), layout])).digest("hex");
}

export async function gunicornCheckConfig(stack: RenderedStack, host: RenderedHost, app: AppOnHost, dir: string): Promise<string[]> {
  const image = await goldenImage();
  requireImageTools(image, TOOLS.gunicorn);
  if (!app.gunicorn) return [`${app.name} runs no gunicorn on ${host.label}`];
  const confPath = `${app.paths.config}/gunicorn.conf.py`;
  if (!fileAt(host.image, confPath)) return [`${confPath} is not rendered; files: ${host.image.files.map((f) => f.path).join(", ")}`];
  const source = appSource(stack.env, app.name);
  const key = inputKey(host, app, fileAt(host.image, confPath)?.content ?? "", source);
  let pending = runs.get(key);
  if (!pending) {
    const tree = writeHostTree(host.image, join(dir, "root"));
    const sandbox = hostSandbox(stack, host, tree, dir, image);
    const argv = [TOOLS.gunicorn.path, "--check-config", "--print-config", "-c", tree.at(confPath), "--chdir", source, app.gunicorn.wsgi];
    // In the sandbox /run/fawkes/<app> exists, so a bind would work: look for sockets afterwards.
    const thenLookForSockets = `"$@"; rc=$?; find /run/fawkes -type s -printf '${SOCKET_LEFT} %p\n' >&2; exit $rc`;
    pending = run(sandbox.wrap(["/bin/sh", "-c", thenLookForSockets, "sh", ...argv]), { timeoutMs: 30_000, env: appEnv(app) });
    runs.set(key, pending);
  }
  const r = await pending;
  if (r.exitCode !== 0 || r.timedOut) return [`gunicorn rejects ${confPath} or cannot load ${app.gunicorn.wsgi}: ${describeRun(r)}`];

  const settings = printedConfig(r.stdout);
  const bind = settings.get("bind") ?? "";
  const problems: string[] = [];
  // --check-config must not bind: no socket may appear where the host's would be.
  for (const line of r.stderr.split("\n")) if (line.startsWith(SOCKET_LEFT)) problems.push(`--check-config bound a socket: ${line.slice(SOCKET_LEFT.length).trim()}`);
  for (const sock of unixSockets(bind)) if (existsSync(sock)) problems.push(`${sock} exists on this machine after --check-config`);
  if (!unixSockets(bind).includes(app.gunicorn.socket)) problems.push(`gunicorn binds ${bind || "nothing"}, not unix:${app.gunicorn.socket}, the socket nginx proxies to`);
  const keepalive = Number(settings.get("keepalive"));
  if (!(keepalive > host.plan.loadBalancerIdleTimeout)) problems.push(`keepalive=${settings.get("keepalive")} is not above the load balancer's idle timeout (${host.plan.loadBalancerIdleTimeout}s); the balancer would reuse connections gunicorn already closed (502s)`);
  if (!(Number(settings.get("graceful_timeout")) > 0)) problems.push(`graceful_timeout=${settings.get("graceful_timeout")}`);
  return problems;
}
