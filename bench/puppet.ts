// The Puppet side of the comparison: Debian's puppet in a host of the same golden image (plus the
// puppet package), booted by the local target from the same user-data as the dev web host, then
// patched in place by `puppet apply` with the changed files and the reloads they need.
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { EnvironmentSpec } from "../src/config/index.ts";
import { bootSlot, envOf } from "../src/local/fleet.ts";
import { hostDirs, inHost } from "../src/local/host.ts";
import { imageOf, type GoldenImage } from "../src/local/image.ts";
import type { EnvLayout, HostSlot } from "../src/local/layout.ts";
import type { HostPlan } from "../src/model/index.ts";
import type { RenderedFile } from "../src/render/index.ts";

/** The recipe's image plus Debian's puppet (8 in trixie): built once, cached by its hash. */
export function puppetImage(spec: EnvironmentSpec): GoldenImage {
  const r = spec.catalogue.image;
  return imageOf({ ...r, packages: [...r.packages, "puppet"] });
}

/** One extra web slot of the environment, named so that `localDown` finds and removes it. */
export function puppetSlot(layout: EnvLayout, subnet: string): HostSlot {
  const name = `${layout.stack}-web-puppet`;
  return {
    name,
    role: "web",
    index: 99,
    ip: `${subnet.split(".").slice(0, 3).join(".")}.200`,
    netns: `${layout.netnsPrefix}web-puppet`,
    veth: `${layout.ifPrefix}p`,
    dir: join(layout.hostsDir, name),
  };
}

export interface PuppetHost {
  slot: HostSlot;
  init: number;
  merged: string;
  bootSeconds: number;
}

/** Boots the puppet host: the dev web host's user-data, over the puppet image. Never in rotation. */
export async function bootPuppetHost(spec: EnvironmentSpec, image: GoldenImage, subnet: string): Promise<PuppetHost> {
  const env = { ...envOf(spec), image };
  const slot = puppetSlot(env.layout, subnet);
  const plan = env.plan.hosts.find((h) => h.role === "web")!;
  const img = env.images.find((i) => i.role === "web")!;
  const shared = Object.fromEntries(spec.catalogue.apps.map((a) => [a.name, join(env.layout.sharedDir, a.name)]));
  const h = await bootSlot(env, slot, plan, img, shared, () => {});
  if (!h.healthy || h.init === undefined) throw new Error(`the puppet host failed to boot at ${h.failedStep}: ${h.detail ?? ""}`);
  return { slot, init: h.init, merged: hostDirs(slot).merged, bootSeconds: h.bootSeconds ?? NaN };
}

/** How the gunicorn program picks up its new config: a supervisord restart, or gunicorn's own HUP reload. */
export type Reload = "restart" | "hup";

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/**
 * A manifest as a Puppet shop would write it for this change: a `file` resource per changed file
 * with its new bytes, owner and mode, notifying the reloads that make it live.
 */
export function puppetManifest(files: readonly RenderedFile[], plan: HostPlan, reload: Reload): string {
  const execs = new Map<string, string>();
  const out: string[] = ["# fawkes bench: the catalogue change, patched in place.", ""];
  for (const f of files) {
    const notify: string[] = [];
    const need = (title: string, command: string) => {
      execs.set(title, command);
      notify.push(`Exec[${quote(title)}]`);
    };
    const app = /^\/etc\/fawkes\/apps\/([^/]+)\//.exec(f.path)?.[1];
    if (f.path.startsWith("/etc/nginx/")) need("reload nginx", "/usr/sbin/nginx -t -q && /usr/sbin/nginx -s reload");
    else if (f.path.startsWith("/etc/supervisor/")) need("supervisorctl update", "/usr/bin/supervisorctl update");
    else if (app !== undefined) {
      for (const p of plan.apps.find((a) => a.name === app)?.processes ?? []) {
        if (p.kind === "gunicorn" && reload === "hup") need(`reload ${p.program}`, `/usr/bin/supervisorctl signal HUP ${p.program}`);
        else need(`restart ${p.program}`, `/usr/bin/supervisorctl restart ${p.program}`);
      }
    } else if (f.path !== "/etc/fawkes/host.json") throw new Error(`the change touches ${f.path}; the bench's Puppet manifest knows no reload for it`);
    const [owner, group] = f.owner.split(":");
    out.push(
      `file { ${quote(f.path)}:`,
      "  ensure  => file,",
      `  owner   => ${quote(owner!)},`,
      `  group   => ${quote(group ?? owner!)},`,
      `  mode    => ${quote(f.mode)},`,
      `  content => ${quote(f.content)},`,
      ...(notify.length > 0 ? [`  notify  => [${notify.join(", ")}],`] : []),
      "}",
      "",
    );
  }
  for (const [title, command] of execs) {
    out.push(`exec { ${quote(title)}:`, `  command     => ${quote(command)},`, "  provider    => shell,", "  refreshonly => true,", "}", "");
  }
  return out.join("\n");
}

/** Writes a manifest into the running host (through its root: the overlay lives in its mount namespace); returns its path there. */
export function putManifest(host: PuppetHost, name: string, manifest: string): string {
  const dir = "/root/fawkes-bench";
  const root = `/proc/${host.init}/root`;
  mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, dir, name), manifest);
  return `${dir}/${name}`;
}

export interface PuppetRun {
  /** From `puppet apply` start to the change live and the app answering 200. */
  seconds: number;
  /** `puppet apply` alone, as the process ran. */
  puppetSeconds: number;
  /** Puppet's own figures: catalog compile, and catalog apply (the file writes and the reloads). */
  compile?: number;
  apply?: number;
  exitCode: number;
}

/**
 * Runs `puppet apply` in the host and waits, bounded, until `live()` holds (the app answers 200
 * and the change is in effect). `expectChanges` is puppet's --detailed-exitcodes 2 (changes made).
 */
export async function timedPuppetApply(host: PuppetHost, manifest: string, live: () => Promise<boolean>, expectChanges = true): Promise<PuppetRun> {
  const t0 = performance.now();
  const r = await inHost(host.init, ["puppet", "apply", "--detailed-exitcodes", "--color=false", manifest], { timeoutMs: 300_000 });
  const t1 = performance.now();
  const want = expectChanges ? 2 : 0;
  if (r.exitCode !== want) throw new Error(`puppet apply ${manifest} exited ${r.exitCode}, expected ${want}:\n${(r.all ?? "").split("\n").slice(-20).join("\n")}`);
  for (let i = 0; i < 600 && !(await live()); i++) {
    if (i === 599) throw new Error(`after puppet apply ${manifest} the change was not live within 30 s`);
    await sleep(50);
  }
  const t2 = performance.now();
  const num = (re: RegExp) => {
    const m = re.exec(r.all ?? "");
    return m ? Number(m[1]) : undefined;
  };
  return {
    seconds: (t2 - t0) / 1000,
    puppetSeconds: (t1 - t0) / 1000,
    compile: num(/Compiled catalog for \S+ in environment \S+ in ([\d.]+) seconds/),
    apply: num(/Applied catalog in ([\d.]+) seconds/),
    exitCode: r.exitCode ?? -1,
  };
}
