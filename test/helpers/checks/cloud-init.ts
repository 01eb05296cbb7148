// Checks of a host's user-data: cloud-init's own schema, the bytes both targets boot, and that
// write_files and the bundle deliver exactly the image's files, write_files with owners that exist
// when it writes them.
// Each check returns its problems (none = pass); a missing tool throws.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { filesOfBundle, USER_DATA_LIMIT } from "../../../src/render/index.ts";
import { DEBIAN_BASE_GROUPS, DEBIAN_BASE_USERS, declaredUsers, parseCloudConfig, writtenFiles } from "../cloud-config.ts";
import type { RenderedHost } from "../rendered-hosts.ts";
import { goldenImage, inImageRoot, requireImageTools } from "../image-root.ts";
import { BASE_ENV, TOOLS, describeRun, run } from "../tools.ts";

/** The image's `cloud-init schema --config-file`: exit 0, "Valid schema", no deprecated key. */
export async function cloudInitSchema(host: { image: Pick<RenderedHost["image"], "userData"> }, dir: string): Promise<string[]> {
  const image = await goldenImage();
  requireImageTools(image, TOOLS.cloudInit);
  const file = join(dir, "user-data");
  writeFileSync(file, host.image.userData);
  const r = await run(inImageRoot(image, join(dir, "image"), [dir], [TOOLS.cloudInit.path, "schema", "--config-file", file]), { timeoutMs: 30_000, env: BASE_ENV });
  if (r.exitCode !== 0 || !r.stdout.includes("Valid schema")) return [`cloud-init rejects the user-data: ${describeRun(r)}`];
  const deprecations = /Cloud config schema deprecations:(.*)/.exec(r.output)?.[1]?.trim() ?? "";
  return deprecations === "" ? [] : [`deprecated cloud-config keys: ${deprecations}`];
}

/** userDataBytes is the text, gzipped only past EC2's limit, and fits in it. */
export function userDataBytes(host: RenderedHost): string[] {
  const problems: string[] = [];
  const bytes = Buffer.from(host.image.userDataBytes);
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const text = gzipped ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
  if (text !== host.image.userData) problems.push(`userDataBytes${gzipped ? " gunzipped" : ""} differ from userData`);
  const over = Buffer.byteLength(host.image.userData) > USER_DATA_LIMIT;
  if (gzipped !== over) problems.push(gzipped ? `gzipped although the text fits in ${USER_DATA_LIMIT} bytes` : `the text is over ${USER_DATA_LIMIT} bytes and not gzipped`);
  if (bytes.length > USER_DATA_LIMIT) problems.push(`userDataBytes is ${bytes.length} bytes, over EC2's ${USER_DATA_LIMIT}`);
  if (!host.image.userData.startsWith("#cloud-config\n")) problems.push("userData does not start with #cloud-config");
  return problems;
}

/** GNU tar's `-tv` mode string (`-rwxr-xr-x`) as octal permissions. */
function modeOf(perms: string): number {
  let mode = 0;
  for (const [i, c] of [...perms.slice(1, 10)].entries()) if (c !== "-") mode |= 1 << (8 - i);
  return mode;
}

/**
 * The bundle's regular files as the hosts' tar reads it: path (absolute, as unpacked over /), mode
 * and owner from `tar -tvz`, content from the archive.
 */
function bundledFiles(host: RenderedHost): Array<{ path: string; content: Buffer; mode: number; owner: string }> {
  const listing = execFileSync("tar", ["-tvzf", "-", "--numeric-owner"], { input: host.image.bundle.bytes, encoding: "utf8" });
  const meta = new Map<string, { mode: number; owner: string }>();
  for (const line of listing.trim().split("\n")) {
    const m = /^(\S{10}) (\d+)\/(\d+) +\d+ \S+ \S+ (.+)$/.exec(line);
    if (!m || !m[1]!.startsWith("-")) throw new Error(`bundle ${host.image.bundle.key}: not a regular file entry: ${line}`);
    meta.set(`/${m[4]}`, { mode: modeOf(m[1]!), owner: `${m[2] === "0" ? "root" : m[2]}:${m[3] === "0" ? "root" : m[3]}` });
  }
  return filesOfBundle(host.image.bundle.bytes).map((f) => ({ path: f.path, content: Buffer.from(f.content, "utf8"), ...meta.get(f.path)! }));
}

/**
 * Every image file delivered once, by the user-data's write_files or by the bundle its stage 1
 * unpacks, byte for byte with its mode and owner; and nothing else delivered.
 */
export function writeFilesMatchImage(host: RenderedHost): string[] {
  const written = writtenFiles(parseCloudConfig(host.image.userData)).filter((w) => !w.append);
  const delivered = [
    ...written.map((w) => ({ by: "write_files", path: w.path, content: w.content, mode: Number.parseInt(w.permissions, 8), owner: w.owner })),
    ...bundledFiles(host).map((b) => ({ by: `the bundle ${host.image.bundle.key}`, ...b })),
  ];
  const problems: string[] = [];
  for (const f of host.image.files) {
    const d = delivered.filter((x) => x.path === f.path);
    const [one] = d;
    if (d.length !== 1 || !one) {
      problems.push(`${f.path}: delivered ${d.length} times (${d.map((x) => x.by).join(", ") || "never"}), want once by write_files or the bundle`);
      continue;
    }
    if (!one.content.equals(Buffer.from(f.content, "utf8"))) problems.push(`${f.path}: ${one.by} content differs from the image's`);
    if (one.mode !== Number.parseInt(f.mode, 8)) problems.push(`${f.path}: ${one.by} gives mode ${one.mode.toString(8)}, the image says ${f.mode}`);
    if (one.owner !== f.owner) problems.push(`${f.path}: ${one.by} gives owner ${one.owner}, the image says ${f.owner}`);
  }
  const known = new Set(host.image.files.map((f) => f.path));
  for (const x of delivered) if (!known.has(x.path)) problems.push(`${x.path}: delivered by ${x.by} but not in the image's files, so no validator sees it`);
  return problems;
}

/**
 * write-files runs before users-groups (init stage) and write-files-deferred before runcmd (final
 * stage): users the bootstrap creates do not exist yet, and a failed chown aborts the module.
 */
export function writeFilesOwners(host: RenderedHost): string[] {
  const config = parseCloudConfig(host.image.userData);
  const declared = declaredUsers(config);
  const problems: string[] = [];
  for (const w of writtenFiles(config)) {
    const [user = "root", group] = w.owner.split(":");
    const userOk = DEBIAN_BASE_USERS.includes(user) || (w.defer && declared.has(user));
    const groupOk = group === undefined || DEBIAN_BASE_GROUPS.includes(group) || (w.defer && declared.has(group));
    if (!userOk || !groupOk) {
      problems.push(`${w.path}: owner ${w.owner} does not exist when ${w.defer ? "write-files-deferred" : "write-files (before users-groups)"} runs; own it by root, or create the user in the cloud-config's users/groups and set defer: true`);
    }
  }
  return problems;
}
