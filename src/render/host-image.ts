// PROVISIONAL: minimal renderer so other modules can build against the interface; to be replaced
// by the template-based renderer.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { stringify } from "yaml";
import type { EnvironmentPlan, HostPlan } from "../model/index.ts";
import { USER_DATA_LIMIT, type HostImage, type HostManifest, type RenderedFile } from "./types.ts";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export function renderHostImage(plan: HostPlan): HostImage {
  const files: RenderedFile[] = [];
  for (const app of plan.apps) {
    for (const p of app.processes) {
      files.push({ path: `/etc/supervisor/conf.d/${p.program}.conf`, mode: "0644", owner: "root:root", content: `[program:${p.program}]\ncommand=${p.argv.join(" ")}\n` });
    }
  }
  files.push({ path: "/usr/local/sbin/fawkes-bootstrap", mode: "0755", owner: "root:root", content: "#!/bin/bash\nset -euo pipefail\n" });
  const manifest: HostManifest = {
    project: plan.project,
    stack: plan.stack,
    role: plan.role,
    image: plan.image,
    apps: plan.apps.map((a) => ({ name: a.name, release: a.release, uid: a.uid, port: a.port, hostnames: a.hostnames, health: a.health.path, processes: a.processes.map((p) => p.program) })),
    files: Object.fromEntries(files.map((f) => [f.path, sha256(f.content)])),
  };
  files.push({ path: "/etc/fawkes/host.json", mode: "0644", owner: "root:root", content: `${JSON.stringify(manifest, null, 2)}\n` });
  const userData = `#cloud-config\n${stringify({ write_files: files.map((f) => ({ path: f.path, permissions: f.mode, owner: f.owner, content: f.content })), runcmd: [["/usr/local/sbin/fawkes-bootstrap"]] })}`;
  const bytes = new TextEncoder().encode(userData);
  return { stack: plan.stack, role: plan.role, files, manifest, userData, userDataBytes: bytes.length > USER_DATA_LIMIT ? gzipSync(bytes, { level: 9 }) : bytes };
}

export function renderEnvironment(plan: EnvironmentPlan): HostImage[] {
  return plan.hosts.map(renderHostImage);
}
