// HostPlan -> HostImage: every file a host of one role boots from, the manifest of those files, the
// bundle that carries them, and the #cloud-config user-data both targets hand to cloud-init: the
// stage-1 script that fetches the bundle by key and checks its sha256, whatever the apps.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Document, Scalar } from "yaml";
import type { EnvironmentPlan, HostPlan } from "../model/index.ts";
import { appFiles } from "./app-files.ts";
import { BOOT_PATH, bootFile, bootstrapFile, execWrapperFile } from "./bootstrap.ts";
import { bundleOf } from "./bundle.ts";
import { sumsOfPins, type ReleaseSums } from "./release-sums.ts";
import { commentText, yamlBlockSafe } from "./quote.ts";
import { cloudWatchAgentFile } from "./cloudwatch-agent.ts";
import { USER_DATA_LIMIT, type HostBundle, type HostImage, type HostManifest, type RenderedFile } from "./types.ts";

export const MANIFEST_PATH = "/etc/fawkes/host.json";

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");
const byPath = (a: RenderedFile, b: RenderedFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** JSON with object keys sorted at every level: equal values give equal bytes. */
export function canonicalJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v === null || typeof v !== "object") return v;
    const obj = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .map((k) => [k, sortKeys(obj[k])]),
    );
  };
  return JSON.stringify(sortKeys(value), null, 2);
}

function hostManifest(plan: HostPlan, files: readonly RenderedFile[], sums: Readonly<Record<string, string>>): HostManifest {
  return {
    project: plan.project,
    stack: plan.stack,
    role: plan.role,
    image: { distribution: plan.image.distribution, packages: [...plan.image.packages], recipeHash: plan.image.recipeHash },
    apps: plan.apps.map((a) => ({
      name: a.name,
      release: a.release,
      sha256: sums[a.name]!,
      uid: a.uid,
      port: a.port,
      hostnames: [...a.hostnames],
      health: a.health.path,
      processes: a.processes.map((p) => p.program),
    })),
    files: Object.fromEntries([...files].sort(byPath).map((f) => [f.path, sha256(f.content)])),
  };
}

/** A literal block (`|`): files stay readable, line by line, in user-data diffs. */
function literal(content: string): Scalar<string> {
  const node = new Scalar(content);
  node.type = Scalar.BLOCK_LITERAL;
  return node;
}

/**
 * Past this size a file goes gzip+base64 (`encoding: gz+b64`), smaller ones as literal blocks.
 * cloud-init reads the whole cloud-config with a pure-Python YAML parser several times in each
 * boot stage, at a cost that grows with its characters: the bootstrap, about 28 kB as a block,
 * is under 13 kB so, which halves the parsing. `fawkes plan` and `fawkes render` show it decoded.
 * A file PyYAML would not read back from a block (see yamlBlockSafe) goes gz+b64 at any size.
 */
export const ENCODED_FILE_BYTES = 8192;

function fileEntry(f: RenderedFile): Record<string, unknown> {
  const head = { path: f.path, owner: f.owner, permissions: f.mode, defer: true };
  if (Buffer.byteLength(f.content, "utf8") <= ENCODED_FILE_BYTES && yamlBlockSafe(f.content)) return { ...head, content: literal(f.content) };
  return { ...head, encoding: "gz+b64", content: gzipSync(Buffer.from(f.content, "utf8"), { level: 9 }).toString("base64") };
}

/**
 * Every file is written `defer: true`, in cloud-init's final stage just before runcmd: services
 * the image starts at boot (supervisord, nginx) never see a program or site whose user, release
 * or log dir the bootstrap has not made yet. All files are root's: app users do not exist when
 * cloud-init writes, and no rendered file needs another owner (secrets are fetched at boot).
 */
export function cloudConfigOf(header: readonly string[], files: readonly RenderedFile[], command: string): string {
  for (const f of files) {
    if (!yamlBlockSafe(f.path) || !yamlBlockSafe(f.owner)) throw new Error(`a cloud-config file entry PyYAML could not read back: ${JSON.stringify([f.path, f.owner])}`);
  }
  const doc = new Document({
    write_files: files.map(fileEntry),
    runcmd: [] as unknown[],
  });
  doc.setIn(["runcmd", 0], doc.createNode([command], { flow: true }));
  // Names in the header are the project's and the stack's: one comment line each, whatever they hold.
  return `${["#cloud-config", ...header.map((l) => `# ${commentText(l)}`)].join("\n")}\n${doc.toString({ lineWidth: 0 })}`;
}

/** Only the stage-1 script: no line of it grows with the apps (their names are in the bundle's manifest). */
export function cloudConfig(plan: HostPlan, bundle: HostBundle, boot: RenderedFile): string {
  return cloudConfigOf(
    [
      `fawkes: ${plan.role} host of ${plan.project}/${plan.stack}, image ${plan.image.recipeHash}. Rendered by fawkes; do not edit.`,
      `Bundle: ${bundle.key} in the artifact store, the host's files and bootstrap, unpacked by ${BOOT_PATH} once its sha256 matches.`,
    ],
    [boot],
    BOOT_PATH,
  );
}

/** What cloud-init receives: the text, or its gzip past EC2's limit (cloud-init unpacks it). */
export function userDataBytes(userData: string): Uint8Array {
  const bytes = new TextEncoder().encode(userData);
  if (bytes.length <= USER_DATA_LIMIT) return bytes;
  // gzip's header holds no time or name unless given: the same text gives the same bytes.
  return new Uint8Array(gzipSync(bytes, { level: 9 }));
}

/**
 * `sums` holds the sha256 of each pinned release as whoever renders read it from the artifact
 * store; a pin without one is an error, never left for the host to read beside the tarball.
 */
export function renderHostImage(plan: HostPlan, sums: ReleaseSums): HostImage {
  const pinned = sumsOfPins(plan.stack, plan.apps.map((a) => ({ app: a.name, release: a.release })), sums);
  const rendered = [...plan.apps.flatMap((app) => appFiles(plan, app)), execWrapperFile(plan), bootstrapFile(plan, pinned), cloudWatchAgentFile(plan)];
  const seen = new Set<string>();
  for (const f of rendered) {
    if (seen.has(f.path)) throw new Error(`two rendered files share the path ${f.path}`);
    seen.add(f.path);
  }
  const manifest = hostManifest(plan, rendered, pinned);
  const manifestFile: RenderedFile = { path: MANIFEST_PATH, content: `${canonicalJson(manifest)}\n`, mode: "0644", owner: "root:root" };
  const bundle = bundleOf([...rendered, manifestFile].sort(byPath));
  const boot = bootFile(plan, bundle);
  if (seen.has(boot.path)) throw new Error(`two rendered files share the path ${boot.path}`);
  const files = [...rendered, manifestFile, boot].sort(byPath);
  const userData = cloudConfig(plan, bundle, boot);
  return { stack: plan.stack, role: plan.role, files, manifest, bundle, userData, userDataBytes: userDataBytes(userData) };
}

export function renderEnvironment(plan: EnvironmentPlan, sums: ReleaseSums): HostImage[] {
  // Every pin at once, each host's apps then a subset of them: one error names every missing sum.
  sumsOfPins(plan.spec.stack, Object.entries(plan.spec.knobs.releases).map(([app, release]) => ({ app, release })), sums);
  return plan.hosts.map((h) => renderHostImage(h, sums));
}
