// Every stack of the repository rendered once, each host image written to a throw-away tree that
// mirrors the absolute paths the host would have. Validators find files by path pattern, so they
// hold for whatever the renderer writes, as long as it keeps the interface (HostImage).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { listStacks, loadStack, readProject } from "../../src/config/index.ts";
import { planEnvironment, type AppOnHost, type EnvironmentPlan, type HostPlan } from "../../src/model/index.ts";
import { renderDatabaseHost, type HostImage, type RenderedFile } from "../../src/render/index.ts";
import { renderWithTestArtifacts } from "./release-sums.ts";

export const ROOT = join(import.meta.dirname, "../..");

/** One host role of one stack: what the model planned and what the renderer made of it. */
export interface RenderedHost {
  stack: string;
  role: string;
  plan: HostPlan;
  image: HostImage;
  /** "dev/web": the name tests use. */
  label: string;
}

export interface RenderedStack {
  stack: string;
  env: EnvironmentPlan;
  hosts: RenderedHost[];
}

/** Loads, plans and renders every stack that has a file in the stack dir. */
export function renderAllStacks(root = ROOT): RenderedStack[] {
  const stacks = listStacks(readProject(root));
  if (stacks.length === 0) throw new Error(`no stack files under ${root}`);
  return stacks.map((stack) => {
    const env = planEnvironment(loadStack(root, stack));
    let images: HostImage[];
    try {
      images = renderWithTestArtifacts(env);
    } catch (e) {
      throw new Error(`stack ${stack}: the renderer throws: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const hosts = env.hosts.map((plan): RenderedHost => {
      const image = images.find((i) => i.role === plan.role);
      if (!image) throw new Error(`${stack}: the renderer returned no image for role ${plan.role}`);
      return { stack, role: plan.role, plan, image, label: `${stack}/${plan.role}` };
    });
    return { stack, env, hosts };
  });
}

export function allHosts(stacks: RenderedStack[]): RenderedHost[] {
  return stacks.flatMap((s) => s.hosts);
}

/** The app's source dir in this repository (the catalogue's `source`), absolute. */
export function appSource(env: EnvironmentPlan, app: string): string {
  const a = env.spec.catalogue.apps.find((x) => x.name === app);
  if (!a) throw new Error(`app ${app} is not in the catalogue`);
  return join(ROOT, a.source);
}

/** Apps of a host that run gunicorn there. */
export function webApps(plan: HostPlan): Array<AppOnHost & { gunicorn: NonNullable<AppOnHost["gunicorn"]> }> {
  return plan.apps.filter((a): a is AppOnHost & { gunicorn: NonNullable<AppOnHost["gunicorn"]> } => a.gunicorn !== undefined);
}

export function filesMatching(image: HostImage, pattern: RegExp): RenderedFile[] {
  return image.files.filter((f) => pattern.test(f.path));
}

export function fileAt(image: HostImage, path: string): RenderedFile | undefined {
  return image.files.find((f) => f.path === path);
}

/** A host image written under `root`: /etc/x is `root`/etc/x, with the image's modes. */
export interface HostTree {
  root: string;
  /** Where an absolute host path lives in the tree. */
  at(hostPath: string): string;
}

/** What the file and user-data checks read of a host: any image with files and user-data (the db host's too). */
export type ImageLike = Pick<HostImage, "stack" | "files" | "userData"> & { role: string };

export function writeHostTree(image: ImageLike, root: string): HostTree {
  const at = (hostPath: string) => join(root, hostPath);
  for (const f of image.files) {
    if (!f.path.startsWith("/")) throw new Error(`${image.stack}/${image.role}: file path is not absolute: ${f.path}`);
    const target = at(f.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.content);
    // Owners are users the host creates at boot; the mode is what the tools can check here.
    chmodSync(target, Number.parseInt(f.mode, 8) & 0o7777);
  }
  return { root, at };
}

/** A temp dir per test file, removed when the file is done; `sub` gives each check its own. */
export interface Scratch {
  dir: string;
  sub(name: string): string;
  remove(): void;
}

export function scratchDir(name: string): Scratch {
  const dir = mkdtempSync(join(tmpdir(), `fawkes-${name}-`));
  return {
    dir,
    sub: (n) => mkdtempSync(join(dir, `${n.replace(/[^A-Za-z0-9._-]+/g, "-")}-`)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A copy of a host with its image altered: harness self-tests break images on purpose. */
export function alterHost(host: RenderedHost, change: { files?: (files: RenderedFile[]) => RenderedFile[]; userData?: (text: string) => string }): RenderedHost {
  const files = change.files ? change.files(host.image.files.map((f) => ({ ...f }))) : host.image.files;
  const text = change.userData ? change.userData(host.image.userData) : host.image.userData;
  return { ...host, image: { ...host.image, files, userData: text, userDataBytes: new TextEncoder().encode(text) } };
}

/** The local db host of every stack with a database, rendered as the local target boots it. */
export function renderDatabaseHosts(stacks: RenderedStack[]): Array<{ label: string; image: ImageLike & Pick<HostImage, "userDataBytes"> }> {
  return stacks.flatMap((s) => {
    if (!s.env.database) return [];
    const img = renderDatabaseHost(s.env.database, s.env.hosts[0]!.image);
    return [{ label: `${s.stack}/db`, image: { ...img, role: "db" } }];
  });
}
