// The shape every in-place tool of the benches shares (Puppet, Ansible, Capistrano): a host of the
// golden image plus the tool's Debian packages, booted by the local target from a stack's web
// user-data byte for byte into an extra slot, the tool's input written into it, and the tool run
// inside it, timed to the change live.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { EnvironmentSpec } from "../src/config/index.ts";
import { bootSlot, envOf } from "../src/local/fleet.ts";
import { hostDirs, inHost } from "../src/local/host.ts";
import { imageOf, type GoldenImage } from "../src/local/image.ts";
import type { EnvLayout, HostSlot } from "../src/local/layout.ts";
import type { HostPlan } from "../src/model/index.ts";
import type { RenderedFile } from "../src/render/index.ts";

/** The recipe's image plus a tool's Debian packages: built once (not timed), cached by its hash. */
export function derivedImage(spec: EnvironmentSpec, packages: readonly string[]): GoldenImage {
  const r = spec.catalogue.image;
  return imageOf({ ...r, packages: [...r.packages, ...packages] });
}

/** The extra slots of the benches: never in a role's pool, named so that `localDown` finds and removes them. */
export const TOOL_SLOTS = {
  puppet: { octet: 200, veth: "p" },
  ansible: { octet: 201, veth: "a" },
  capistrano: { octet: 202, veth: "c" },
} as const;
export type Tool = keyof typeof TOOL_SLOTS;

export function toolSlot(layout: EnvLayout, subnet: string, tool: Tool): HostSlot {
  const name = `${layout.stack}-web-${tool}`;
  return {
    name,
    role: "web",
    index: TOOL_SLOTS[tool].octet,
    ip: `${subnet.split(".").slice(0, 3).join(".")}.${TOOL_SLOTS[tool].octet}`,
    netns: `${layout.netnsPrefix}web-${tool}`,
    veth: `${layout.ifPrefix}${TOOL_SLOTS[tool].veth}`,
    dir: join(layout.hostsDir, name),
  };
}

export interface ToolHost {
  tool: Tool;
  slot: HostSlot;
  init: number;
  merged: string;
  bootSeconds: number;
}

/** Boots a tool's host: the stack's web user-data over the tool's image, with the stack's shared dirs and store. Never in rotation. */
export async function bootToolHost(spec: EnvironmentSpec, image: GoldenImage, subnet: string, tool: Tool): Promise<ToolHost> {
  const env = { ...(await envOf(spec)), image };
  const slot = toolSlot(env.layout, subnet, tool);
  const plan = env.plan.hosts.find((h) => h.role === "web")!;
  const img = env.images.find((i) => i.role === "web")!;
  const shared = Object.fromEntries(spec.catalogue.apps.map((a) => [a.name, join(env.layout.sharedDir, a.name)]));
  const h = await bootSlot(env, slot, plan, img, shared, () => {});
  if (!h.healthy || h.init === undefined) throw new Error(`the ${tool} host failed to boot at ${h.failedStep}: ${h.detail ?? ""}`);
  return { tool, slot, init: h.init, merged: hostDirs(slot).merged, bootSeconds: h.bootSeconds ?? NaN };
}

/** Writes a file into the running host (through its root: the overlay lives in its mount namespace); returns its path there. */
export function putFile(host: ToolHost, path: string, content: string, mode = 0o644): string {
  const root = `/proc/${host.init}/root`;
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), content, { mode });
  return path;
}

/** Where the benches keep a tool's input in its host. */
export const BENCH_DIR = "/root/fawkes-bench";

/** How the gunicorn program picks up its new config: a supervisord restart, or gunicorn's own HUP reload. */
export type Reload = "restart" | "hup";

/** A changed file as a configuration tool declares it, and the commands (by title) that make it live. */
export interface ManagedFile {
  file: RenderedFile;
  owner: string;
  group: string;
  notify: string[];
}

/**
 * What a Puppet or Ansible shop declares for this change: each changed file with its owner and
 * the reloads it notifies (nginx reload, `supervisorctl update`, a restart or HUP of the app's
 * programs), and each reload's command. Both tools get the same files and the same commands.
 */
export function managedFiles(files: readonly RenderedFile[], plan: HostPlan, reload: Reload): { files: ManagedFile[]; commands: Map<string, string> } {
  const commands = new Map<string, string>();
  const out = files.map((file) => {
    const notify: string[] = [];
    const need = (title: string, command: string) => {
      commands.set(title, command);
      notify.push(title);
    };
    const app = /^\/etc\/fawkes\/apps\/([^/]+)\//.exec(file.path)?.[1];
    if (file.path.startsWith("/etc/nginx/")) need("reload nginx", "/usr/sbin/nginx -t -q && /usr/sbin/nginx -s reload");
    else if (file.path.startsWith("/etc/supervisor/")) need("supervisorctl update", "/usr/bin/supervisorctl update");
    else if (app !== undefined) {
      for (const p of plan.apps.find((a) => a.name === app)?.processes ?? []) {
        if (p.kind === "gunicorn" && reload === "hup") need(`reload ${p.program}`, `/usr/bin/supervisorctl signal HUP ${p.program}`);
        else need(`restart ${p.program}`, `/usr/bin/supervisorctl restart ${p.program}`);
      }
    } else if (file.path !== "/etc/fawkes/host.json") throw new Error(`the change touches ${file.path}; the benches know no reload for it`);
    const [owner, group] = file.owner.split(":");
    return { file, owner: owner!, group: group ?? owner!, notify };
  });
  return { files: out, commands };
}

export interface ToolRun {
  /** From the tool's start to the change live and the app answering 200. */
  seconds: number;
  /** The tool's process alone, as it ran. */
  toolSeconds: number;
  exitCode: number;
  output: string;
}

/**
 * Runs `argv` in the host, checks its exit code, then waits, bounded, until `live()` holds (the
 * app answers 200 and the change is in effect).
 */
export async function timedInHost(host: ToolHost, argv: string[], live: () => Promise<boolean>, okExit: (code: number) => boolean, liveWithinMs = 30_000): Promise<ToolRun> {
  const t0 = performance.now();
  const r = await inHost(host.init, argv, { timeoutMs: 300_000 });
  const t1 = performance.now();
  const output = r.all ?? "";
  if (!okExit(r.exitCode ?? -1)) throw new Error(`${host.tool}: ${argv.join(" ")} exited ${r.exitCode}:\n${output.split("\n").slice(-25).join("\n")}`);
  for (let waited = 0; !(await live()); waited += 50) {
    if (waited >= liveWithinMs) throw new Error(`${host.tool}: after ${argv.join(" ")} the change was not live within ${liveWithinMs / 1000} s`);
    await sleep(50);
  }
  return { seconds: (performance.now() - t0) / 1000, toolSeconds: (t1 - t0) / 1000, exitCode: r.exitCode ?? -1, output };
}

/** A tool's version as the host's package says it, for the printed header. */
export async function toolVersion(host: ToolHost, pkg: string): Promise<string> {
  const r = await inHost(host.init, ["dpkg-query", "-W", "-f", "${Version}", pkg]);
  return r.exitCode === 0 ? `${pkg} ${r.stdout.trim()}` : `${pkg} (version unknown)`;
}
