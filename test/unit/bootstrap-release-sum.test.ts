// A release's sum is pinned in the host's bundle, never taken from the store it vouches for (issue
// 17, finding 11). Whoever can write the artifact store after a deploy (a leaked CI key, a bucket
// writer) can replace a tarball and its .sha256 together: a host booted afterwards must refuse it
// and leave the release it serves in place. The rendered fetch runs here in bash, as rendered,
// with the store and the machine's unpacked trees in a scratch dir and stub commands where a host
// would need root (the app's user, mounts).
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { artifactPaths } from "../../src/artifact/store.ts";
import { loadStack } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { renderHostImage } from "../../src/render/index.ts";
import { testArtifact, testReleaseSums, type TestArtifact } from "../helpers/release-sums.ts";

const ROOT = join(import.meta.dirname, "../..");
const spec = loadStack(ROOT, "staging");
const web = planEnvironment(spec).hosts.find((h) => h.role === "web")!;
const shop = web.apps.find((a) => a.name === "shop")!;
const image = web.image.recipeHash;
/** What the deploy read from the store when it rendered: the artifact as built. */
const built = testArtifact("shop", shop.release, { image });
/** What a store writer put in its place afterwards: another artifact, with its own matching .sha256. */
const planted = testArtifact("shop", shop.release, { image, variant: "planted after the deploy" });
const sums = { ...testReleaseSums(spec), shop: { [shop.release]: built.sha256 } };
const rendered = renderHostImage(web, sums).files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content;

/** A function of the rendered bootstrap, as rendered (one-line ones too). */
function fn(name: string): string {
  const block = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?\\n\\}\\n`, "m").exec(rendered);
  const line = new RegExp(`^${name}\\(\\) \\{ .* \\}$`, "m").exec(rendered);
  const m = block ?? line;
  if (!m) throw new Error(`the bootstrap has no function ${name}`);
  return m[0];
}

const FUNCTIONS = [
  "load_app",
  "store_fetch",
  "release_unpack",
  "verify_checksum",
  "unpack_artifact",
  "fetch_release",
  "flip_current",
  "local_store_get",
  "local_release_unpack",
  "aws_release_unpack",
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fawkes-release-sum-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function store(artifact: TestArtifact): void {
  const paths = artifactPaths(join(dir, "store"), "shop", shop.release);
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.tarball, artifact.bytes);
  writeFileSync(paths.sha256, `${artifact.sha256}\n`);
}

/** The machine's unpacked tree of `artifact`, named by its sum and marked verified, as src/local/unpacked.ts leaves it. */
function unpackedTree(artifact: TestArtifact): void {
  mkdirSync(join(dir, "unpacked", artifact.sha256), { recursive: true });
  writeFileSync(join(dir, "unpacked", `${artifact.sha256}.verified`), "");
}

/**
 * Fetches shop's release on a host whose current release is `rold`, then flips current, as the
 * bootstrap does; TARGET local or aws (its S3 copy played by the scratch store).
 */
async function bootShop(target: "local" | "aws") {
  const releases = join(dir, "srv/releases");
  mkdirSync(join(releases, "rold"), { recursive: true });
  writeFileSync(join(releases, "rold/.fawkes-ready"), "");
  const script = [
    "set -euo pipefail",
    "shopt -s inherit_errexit",
    `T=${dir}`,
    `TARGET=${target}`,
    'LOCAL_STORE=$T/store LOCAL_UNPACKED=$T/unpacked',
    `RECIPE_HASH=${image}`,
    'log() { printf "log: %s\\n" "$*"; }',
    'die() { printf "die: %s\\n" "$*"; exit 1; }',
    // A host's root would run these as the app's user, or mount; here they are recorded or skipped.
    'in_app_tree() { "$@"; }',
    "mountpoint() { return 1; }",
    'mount() { printf "mount %s\\n" "$*" >>"$T/mounts"; }',
    'find() { :; }',
    'install() { local -a a=(); while (($#)); do case $1 in -o|-g) shift 2 ;; *) a+=("$1"); shift ;; esac; done; command install "${a[@]}"; }',
    'aws_store_get() { cp "$LOCAL_STORE/$1" "$2"; }',
    ...FUNCTIONS.map((f) => fn(f).replaceAll("/var/tmp/", "$T/").replaceAll("/run/fawkes-local/", "$T/run/")),
    "load_app shop",
    'ROOT=$T/srv RELEASES=$T/srv/releases CURRENT=$T/srv/current',
    'ln -sfn "$RELEASES/rold" "$CURRENT"',
    "fetch_release",
    "flip_current",
    'echo "current is $(readlink "$CURRENT")"',
  ].join("\n");
  const r = await execa("bash", ["--norc", "--noprofile", "-c", script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, extendEnv: false, reject: false, all: true, stdin: "ignore", timeout: 60_000 });
  const mounts = existsSync(join(dir, "mounts")) ? readFileSync(join(dir, "mounts"), "utf8") : "";
  const app = join(releases, shop.release, "app.txt");
  return { code: r.exitCode, out: r.all ?? "", current: readlinkSync(join(dir, "srv/current")), installed: existsSync(app) ? readFileSync(app, "utf8") : undefined, mounts };
}

describe("a release's sum comes from the host's bundle, not from the store", () => {
  it("pins the sum the deploy read in load_app, through the shell-word quoting", () => {
    expect(fn("load_app")).toContain(`RELEASE_SHA256=${built.sha256}`);
    expect(planted.sha256).not.toBe(built.sha256);
  });

  for (const target of ["local", "aws"] as const) {
    it(`${target}: installs the release the deploy read`, async () => {
      store(built);
      const r = await bootShop(target);
      expect(r.code, r.out).toBe(0);
      expect(r.installed).toBe(`shop ${shop.release} as built\n`);
      expect(r.current).toBe(join(dir, "srv/releases", shop.release));
    });

    it(`${target}: refuses a tarball and .sha256 both replaced after the deploy, naming app, release and both sums, and keeps the current release`, async () => {
      store(planted);
      const r = await bootShop(target);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/^die: /m);
      const died = r.out.split("\n").find((l) => l.startsWith("die: "))!;
      expect(died).toContain("shop");
      expect(died).toContain(shop.release);
      expect(died).toContain(built.sha256);
      expect(died).toContain(planted.sha256);
      expect(died).toMatch(/changed since the deploy/);
      expect(r.installed).toBeUndefined();
      expect(r.current).toBe(join(dir, "srv/releases/rold"));
    });

    it(`${target}: refuses a tarball replaced under the bundle's own sum`, async () => {
      store(planted);
      writeFileSync(artifactPaths(join(dir, "store"), "shop", shop.release).sha256, `${built.sha256}\n`);
      const r = await bootShop(target);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/^die: .*shop.*does not match the sha256 pinned in this host's bundle/m);
      expect(r.installed).toBeUndefined();
      expect(r.current).toBe(join(dir, "srv/releases/rold"));
    });
  }

  it("local: never mounts the machine's tree of the planted artifact (it is named by the store's sum, not the bundle's)", async () => {
    store(planted);
    unpackedTree(planted);
    const r = await bootShop("local");
    expect(r.mounts).toBe("");
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/changed since the deploy/);
    expect(r.current).toBe(join(dir, "srv/releases/rold"));
  });

  it("local: mounts the machine's verified tree named by the bundle's sum", async () => {
    store(built);
    unpackedTree(built);
    const r = await bootShop("local");
    expect(r.mounts).toContain(`lowerdir=${join(dir, "unpacked", built.sha256)},`);
  });
});
