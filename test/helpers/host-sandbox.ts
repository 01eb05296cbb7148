// A booted host's layout, laid over a throw-away copy of the golden image inside a private mount
// namespace, so that the hosts' own tools (Debian 13's) check the rendered files as they are,
// without rewriting a path in them and without changing the machine: what a host has at boot (its
// app users, /var/log/fawkes/<app>, /run/fawkes/<app>, /srv/apps/<app>/current, the rendered /etc)
// exists only for the one command run inside.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { GoldenImage } from "../../src/local/index.ts";
import { shellWord as sh } from "../../src/render/index.ts";
import { inImageRoot } from "./image-root.ts";
import { appSource, ROOT, type HostTree, type RenderedHost, type RenderedStack } from "./rendered-hosts.ts";
import { TOOLS, requireTools } from "./tools.ts";


/** Directories a fresh Debian host with the image's packages has under the tmpfs mounts below. */
const DEBIAN_LOG_DIRS = ["/var/log/nginx", "/var/log/supervisor"];

export interface HostSandbox {
  /** argv that runs `argv` inside the sandbox. */
  wrap(argv: string[]): string[];
}

function passwdLines(file: string, entries: string[]): string {
  const existing = readFileSync(file, "utf8");
  const names = new Set(existing.split("\n").map((l) => l.split(":")[0]));
  const added = entries.filter((e) => !names.has(e.split(":")[0]));
  return `${existing.replace(/\n?$/, "\n")}${added.map((l) => `${l}\n`).join("")}`;
}

/**
 * Prepares (under `workDir`) a sandbox for one host in the golden image: /var/log, /run and /srv
 * become fresh tmpfs with the host's dirs, each app's `current` points at its source in examples/,
 * and /etc is a read-only overlay of the app users' passwd/group over the rendered /etc over the
 * image's /etc. Needs root, or unprivileged user namespaces (then `unshare --map-root-user`).
 */
export function hostSandbox(stack: RenderedStack, host: RenderedHost, tree: HostTree, workDir: string, image: GoldenImage): HostSandbox {
  requireTools(TOOLS.unshare, TOOLS.mount);
  const etcTop = join(workDir, "sandbox-etc");
  mkdirSync(etcTop, { recursive: true });
  const apps = host.plan.apps;
  const imageEtc = (f: string) => join(image.rootfs, "etc", f);
  writeFileSync(join(etcTop, "passwd"), passwdLines(imageEtc("passwd"), apps.map((a) => `${a.user}:x:${a.uid}:${a.gid}:fawkes app ${a.name}:${a.paths.root}:/usr/sbin/nologin`)));
  writeFileSync(join(etcTop, "group"), passwdLines(imageEtc("group"), apps.map((a) => `${a.user}:x:${a.gid}:`)));

  const lines = ["set -eu", "mount -t tmpfs -o mode=0755 fawkes-sandbox-log /var/log"];
  const logDirs = [...DEBIAN_LOG_DIRS, ...apps.map((a) => a.paths.logs)];
  lines.push(`mkdir -p ${logDirs.map(sh).join(" ")}`);
  // /run/fawkes/<app> exists on a booted host (the bootstrap makes it): a command that binds a
  // socket there would succeed here too, so a check can tell that it did not.
  lines.push("mount -t tmpfs -o mode=0755 fawkes-sandbox-run /run");
  lines.push(`mkdir -p /run/lock ${apps.map((a) => sh(a.paths.run)).join(" ")}`);
  lines.push("mount -t tmpfs -o mode=0755 fawkes-sandbox-srv /srv");
  for (const a of apps) {
    const release = `${a.paths.releases}/${a.release}`;
    lines.push(`mkdir -p ${[a.paths.releases, ...a.shared.map((d) => `${a.paths.shared}/${d}`)].map(sh).join(" ")}`);
    lines.push(`ln -s ${sh(appSource(stack.env, a.name))} ${sh(release)}`);
    lines.push(`ln -s ${sh(release)} ${sh(a.paths.current)}`);
  }
  const lower = [etcTop, ...(existsSync(tree.at("/etc")) ? [tree.at("/etc")] : []), "/etc"];
  lines.push(`mount -t overlay -o ${sh(`lowerdir=${lower.join(":")}`)} fawkes-sandbox-etc /etc`);
  lines.push('exec "$@"');
  const script = join(workDir, "sandbox.sh");
  writeFileSync(script, `${lines.join("\n")}\n`);

  const root = join(workDir, "image");
  return { wrap: (argv) => inImageRoot(image, root, [ROOT, workDir], ["/bin/sh", script, ...argv]) };
}
