// The configuration change both sides apply: a catalogue edit of one app (nginx's body limit and
// gunicorn's workers), rendered in memory, never written to Pulumi.yaml; and how to see it live.
import { readFileSync, readlinkSync, readdirSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { parse } from "yaml";
import { loadEnvironment, readProject, readRecipe, stackFile, type EnvironmentSpec } from "../src/config/index.ts";
import { planEnvironment, type AppOnHost, type HostPlan } from "../src/model/index.ts";
import { renderEnvironment, standInSums, type RenderedFile } from "../src/render/index.ts";

export interface ConfigChange {
  app: string;
  /** The stack with the changed catalogue. */
  changed: EnvironmentSpec;
  summary: string;
  /** Web host files whose bytes differ, before and after the change. */
  before: RenderedFile[];
  after: RenderedFile[];
  /** Live facts of each side: gunicorn workers, and a request body that only the new limit accepts. */
  workers: { before: number; after: number };
  probeBytes: number;
}

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 * 1024 };

/** nginx size ("10m") in bytes. */
export function nginxBytes(size: string): number {
  const m = /^([0-9]+)([km]?)$/.exec(size);
  if (!m) throw new Error(`not an nginx size: ${size}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function webApp(spec: EnvironmentSpec, app: string): { plan: HostPlan; app: AppOnHost } {
  const plan = planEnvironment(spec).hosts.find((h) => h.role === "web");
  const a = plan?.apps.find((x) => x.name === app);
  if (!plan || !a?.gunicorn) throw new Error(`the bench changes app ${app}, which is not a web app of ${spec.stack}`);
  return { plan, app: a };
}

/**
 * The stack `stack` of the project at `root` with app `app`'s maxBodySize doubled and one more
 * gunicorn worker: layered by loadEnvironment from in-memory copies of the project's layers.
 */
export function configChange(root: string, stack: string, app: string): ConfigChange {
  const project = readProject(root);
  const values = structuredClone(project.layer.values);
  const catalogue = values[`${project.name}:catalogue`] as { apps: Array<Record<string, unknown>> };
  const raw = catalogue.apps.find((a) => a.name === app);
  if (!raw) throw new Error(`no app ${app} in the catalogue`);
  const base = loadEnvironment({ project: project.name, stack, projectLayer: project.layer, recipe: readRecipe(root, []), stackLayers: [stackLayer(root, project, stack)] });
  const old = webApp(base, app);
  const oldMax = old.app.maxBodySize;
  const newMax = `${Number(/^[0-9]+/.exec(oldMax)![0]) * 2}${oldMax.replace(/^[0-9]+/, "")}`;
  const processes = raw.processes as Record<string, Record<string, unknown>>;
  const web = Object.values(processes).find((p) => p.wsgi !== undefined)!;
  raw.maxBodySize = newMax;
  web.workers = old.app.gunicorn!.workers + 1;
  const changed = loadEnvironment({ project: project.name, stack, projectLayer: { ...project.layer, values }, recipe: readRecipe(root, []), stackLayers: [stackLayer(root, project, stack)] });
  const now = webApp(changed, app);
  // Measured, never deployed: stand-in sums, equal for equal pins.
  const files = (s: EnvironmentSpec) => renderEnvironment(planEnvironment(s), standInSums(s.knobs.releases));
  const [was, is] = [files(base), files(changed)];
  for (const img of is.filter((i) => i.role !== "web")) {
    if (Buffer.compare(Buffer.from(img.userDataBytes), Buffer.from(was.find((w) => w.role === img.role)!.userDataBytes)) !== 0) {
      throw new Error(`the change of ${app} also changes the ${img.role} hosts; the bench compares one web host`);
    }
  }
  const webWas = was.find((i) => i.role === "web")!.files;
  const webIs = is.find((i) => i.role === "web")!.files;
  const after = webIs.filter((f) => webWas.find((w) => w.path === f.path)?.content !== f.content);
  const before = after.map((f) => webWas.find((w) => w.path === f.path)!);
  return {
    app,
    changed,
    summary: `app ${app}: maxBodySize ${oldMax} -> ${newMax}, gunicorn workers ${old.app.gunicorn!.workers} -> ${now.app.gunicorn!.workers}`,
    before,
    after,
    workers: { before: old.app.gunicorn!.workers, after: now.app.gunicorn!.workers },
    probeBytes: Math.floor((nginxBytes(oldMax) + nginxBytes(newMax)) / 2),
  };
}

function stackLayer(root: string, project: ReturnType<typeof readProject>, stack: string) {
  const file = stackFile(project, stack);
  const config = (parse(readFileSync(join(root, file), "utf8")) as { config?: Record<string, unknown> }).config ?? {};
  return { file, values: Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${project.name}:${k}`, v])) };
}

interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

/** Processes whose root is `merged` (a host's overlay): everything that runs in that host. */
export function hostProcesses(merged: string): Proc[] {
  const out: Proc[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/root`) !== merged) continue;
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.push({ pid: Number(e), ppid, cmdline: readFileSync(`/proc/${e}/cmdline`, "utf8").replace(/\0/g, " ") });
    } catch {
      // Gone while we looked, or a kernel thread.
    }
  }
  return out;
}

/** gunicorn workers of `app` in a host: children of its master, which shares their command line. */
export function gunicornWorkers(merged: string, app: string): number {
  const procs = hostProcesses(merged).filter((p) => p.cmdline.includes(`/etc/fawkes/apps/${app}/gunicorn.conf.py`));
  const pids = new Set(procs.map((p) => p.pid));
  return procs.filter((p) => pids.has(p.ppid)).length;
}

/** Sum of Pss (kB) over a host's processes, from smaps_rollup: shared pages counted once in all. */
export function hostPssKb(merged: string): { kb: number; processes: number } {
  let kb = 0;
  let processes = 0;
  for (const p of hostProcesses(merged)) {
    try {
      const m = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p.pid}/smaps_rollup`, "utf8"));
      if (m) {
        kb += Number(m[1]);
        processes++;
      }
    } catch {
      // Gone.
    }
  }
  return { kb, processes };
}

/**
 * Does nginx accept a body of `bytes` for this app? `Expect: 100-continue` makes it answer from
 * the headers alone: 413 over client_max_body_size, 100 Continue under it. No body is sent.
 */
export function acceptsBody(ip: string, app: AppOnHost, bytes: number, timeoutMs = 2000): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const conn = createConnection({ host: ip, port: app.port });
    let got = "";
    const done = (v: boolean | undefined) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    conn.on("connect", () =>
      conn.write(`POST ${app.health.path} HTTP/1.1\r\nHost: ${app.hostnames[0]}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bytes}\r\nExpect: 100-continue\r\n\r\n`),
    );
    conn.on("data", (d) => {
      got += d.toString();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(got)?.[1];
      if (status === "100") done(true);
      else if (status === "413") done(false);
      else if (status !== undefined) done(undefined);
    });
    conn.on("error", () => done(undefined));
  });
}

export function appOnWeb(spec: EnvironmentSpec, app: string): AppOnHost {
  return webApp(spec, app).app;
}
