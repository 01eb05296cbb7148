// supervisord's own config loader over a host's program files (test/helpers/supervisor_load.py):
// every section accepted, exactly the planned programs loaded, each stopped as a process group,
// given longer to stop than gunicorn's graceful shutdown and at least the app's boot time to start.
import { lstatSync, writeFileSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { GoldenImage } from "../../../src/local/index.ts";
import { hostSandbox } from "../host-sandbox.ts";
import { goldenImage, requireImageTools } from "../image-root.ts";
import { fileAt, writeHostTree, type RenderedHost, type RenderedStack } from "../rendered-hosts.ts";
import { BASE_ENV, TOOLS, describeRun, run } from "../tools.ts";

const LOADER = join(import.meta.dirname, "../supervisor_load.py");

interface LoadedProgram {
  name: string;
  kind: string;
  command: string;
  startsecs: number;
  stopwaitsecs: number;
  stopasgroup: boolean;
  killasgroup: boolean;
}

interface Loaded {
  programs: LoadedProgram[];
  criticals: string[];
  warnings: string[];
  gunicorn: Record<string, { graceful_timeout?: number; error?: string }>;
}

export const gunicornConfPath = (app: string) => `/etc/fawkes/apps/${app}/gunicorn.conf.py`;

function supervisordConf(dir: string, includeDir: string): string {
  return [
    "[supervisord]",
    `logfile=${dir}/supervisord.log`,
    `pidfile=${dir}/supervisord.pid`,
    `childlogdir=${dir}`,
    "[unix_http_server]",
    `file=${dir}/supervisor.sock`,
    "[rpcinterface:supervisor]",
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    "[include]",
    `files = ${includeDir}/*.conf`,
    "",
  ].join("\n");
}

/** A command's program must exist on the host: rendered executable, shipped in a release, or the image's. */
function commandProblem(host: RenderedHost, image: GoldenImage, command: string): string | undefined {
  const exe = command.trim().split(/\s+/)[0] ?? "";
  if (!exe.startsWith("/")) return undefined; // supervisord resolves it through PATH at spawn time
  const rendered = fileAt(host.image, exe);
  if (rendered) return (Number.parseInt(rendered.mode, 8) & 0o111) === 0 ? `${exe} is rendered with mode ${rendered.mode}, not executable` : undefined;
  if (host.plan.apps.some((a) => exe.startsWith(`${a.paths.root}/`))) return undefined; // in the release artifact
  // Read without following links: an absolute link in the image points into the image, not this machine.
  const st = lstatOrUndefined(join(image.rootfs, exe));
  if (st && (st.isSymbolicLink() || (st.isFile() && (st.mode & 0o111) !== 0))) return undefined;
  return `${exe} is neither rendered into the image, in an app's release, nor a program of the golden image ${image.hash}`;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

export async function supervisordLoad(stack: RenderedStack, host: RenderedHost, dir: string): Promise<string[]> {
  const image = await goldenImage();
  requireImageTools(image, TOOLS.python3, TOOLS.supervisord);
  const tree = writeHostTree(host.image, join(dir, "root"));
  const conf = join(dir, "supervisord.conf");
  writeFileSync(conf, supervisordConf(dir, tree.at("/etc/supervisor/conf.d")));
  const confs: Record<string, string> = {};
  for (const a of host.plan.apps) if (a.gunicorn && fileAt(host.image, gunicornConfPath(a.name))) confs[a.name] = tree.at(gunicornConfPath(a.name));
  const sandbox = hostSandbox(stack, host, tree, dir, image);
  const r = await run(sandbox.wrap([TOOLS.python3.path, LOADER, conf, JSON.stringify(confs)]), { timeoutMs: 30_000, env: BASE_ENV });
  if (r.exitCode !== 0 || r.timedOut) return [`supervisord's loader fails: ${describeRun(r)}`];
  const loaded = JSON.parse(r.stdout) as Loaded;

  const problems: string[] = [];
  const planned = host.plan.apps.flatMap((a) => a.processes);
  const programs = loaded.programs.filter((p) => p.kind === "ProcessConfig");
  const want = planned.map((p) => p.program).sort().join(", ");
  const got = programs.map((p) => p.name).sort().join(", ");
  if (want !== got) problems.push(`supervisord loads programs [${got}], the plan has [${want}]`);
  for (const w of [...loaded.criticals, ...loaded.warnings]) problems.push(`supervisord warns: ${w}`);

  for (const p of planned) {
    const prog = programs.find((x) => x.name === p.program);
    if (!prog) continue;
    if (!prog.stopasgroup) problems.push(`${p.program}: stopasgroup is false; supervisord would signal only the first process, not its children`);
    if (!prog.killasgroup) problems.push(`${p.program}: killasgroup is false; a SIGKILL would leave its children running`);
    if (prog.startsecs < p.startSecs) problems.push(`${p.program}: startsecs=${prog.startsecs} is under the app's boot time (${p.startSecs}s)`);
    const bad = commandProblem(host, image, prog.command);
    if (bad) problems.push(`${p.program}: command ${JSON.stringify(prog.command)}: ${bad}`);
    if (p.kind !== "gunicorn") continue;
    const g = loaded.gunicorn[p.app];
    if (!g) problems.push(`${p.program}: no ${gunicornConfPath(p.app)} rendered, so no graceful_timeout to compare stopwaitsecs with`);
    else if (g.error !== undefined || g.graceful_timeout === undefined) problems.push(`${p.program}: gunicorn cannot read ${gunicornConfPath(p.app)}: ${g.error ?? "no graceful_timeout"}`);
    else if (!(prog.stopwaitsecs > g.graceful_timeout)) problems.push(`${p.program}: stopwaitsecs=${prog.stopwaitsecs} is not above gunicorn's graceful_timeout=${g.graceful_timeout}; supervisord would SIGKILL workers still finishing requests`);
  }
  return problems;
}
