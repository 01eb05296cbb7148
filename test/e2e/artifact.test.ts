// `fawkes build` for real, as root: the sample apps (snapshotted into a throw-away git repository,
// so that the test builds what the working tree holds) built with the golden image into a temp
// store, unpacked as a host's bootstrap does, and run inside the golden image at the release path.
// Not root: every test fails and says so. Never skipped.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildArtifact, inImage, verifyTree, type BuildContext, type BuildResult, type Manifest } from "../../src/artifact/index.ts";
import { loadStack, type EnvironmentSpec } from "../../src/config/index.ts";
import { ensureImage, fawkesHome, imageOf, type GoldenImage } from "../../src/local/image.ts";
import { StepError } from "../../src/local/steps.ts";
import { ROOT } from "../helpers/rendered-hosts.ts";

const NEEDS_ROOT = "test/e2e/artifact.test.ts needs root: it mounts an overlay of the golden image and chroots into it (run the e2e tests as root, as CI does)";
const isRoot = process.getuid?.() === 0;
const tmp = mkdtempSync(join(tmpdir(), "fawkes-artifact-e2e-"));
const project = join(tmp, "project");
const log: string[] = [];
const progress = (m: string) => log.push(m);

let spec: EnvironmentSpec;
let image: GoldenImage;
let shop: BuildResult;

/** The project's catalogue, image recipe, stacks and sample apps, as the working tree has them, committed at a fixed time. */
function snapshotProject(): void {
  const files = execFileSync("git", ["-C", ROOT, "ls-files", "-co", "--exclude-standard", "--", "Pulumi.yaml", "image", "stacks", "examples"], { encoding: "utf8" })
    .split("\n")
    .filter((f) => f !== "" && existsSync(join(ROOT, f)));
  for (const f of files) {
    mkdirSync(join(project, f, ".."), { recursive: true });
    cpSync(join(ROOT, f), join(project, f));
  }
  const env = { ...process.env, GIT_AUTHOR_NAME: "e2e", GIT_AUTHOR_EMAIL: "e2e@fawkes.test", GIT_COMMITTER_NAME: "e2e", GIT_COMMITTER_EMAIL: "e2e@fawkes.test", GIT_AUTHOR_DATE: "2026-01-02T03:04:05Z", GIT_COMMITTER_DATE: "2026-01-02T03:04:05Z" };
  for (const args of [["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]]) execFileSync("git", ["-C", project, ...args], { env });
}

/** Unpacks an artifact as the bootstrap does, into `<dir>/release` (a BuildContext's staging dir). */
function unpack(r: BuildResult, dir: string): BuildContext {
  mkdirSync(join(dir, "release"), { recursive: true });
  execFileSync("tar", ["-xzf", r.tarball, "-C", join(dir, "release"), "--no-same-owner"]);
  const app = spec.catalogue.apps.find((a) => a.name === r.app)!;
  return { root: project, app, release: { id: r.release } as BuildContext["release"], rootfs: image.rootfs, work: dir, releasePath: `/srv/apps/${r.app}/releases/${r.release}`, indexUrls: [] };
}

/** Runs a command inside the golden image, in the unpacked release at the hosts' path. */
async function inRelease(ctx: BuildContext, env: Record<string, string>, argv: string[]): Promise<string> {
  // No .pyc of the app written by the checks: the manifest test compares the tree with the artifact.
  const step = inImage(ctx, "check", { PATH: "/usr/bin:/bin", LC_ALL: "C.UTF-8", PYTHONDONTWRITEBYTECODE: "1", ...env }, argv);
  if (step.kind !== "run") throw new Error("inImage makes run steps");
  const [file, ...args] = step.argv;
  const r = await execa(file!, args, { reject: false, all: true, timeout: 60_000 });
  expect(r.exitCode, r.all).toBe(0);
  return r.stdout;
}

function fawkesMounts(): string[] {
  return readFileSync("/proc/self/mounts", "utf8").split("\n").filter((l) => l.startsWith("fawkes-build ") || l.includes(`${fawkesHome()}/builds`));
}

beforeAll(async () => {
  if (!isRoot) return;
  snapshotProject();
  spec = loadStack(project, "dev");
  image = await ensureImage(imageOf(spec.catalogue.image), progress);
  shop = await buildArtifact({ root: project, spec, app: "shop", store: join(tmp, "store-a"), progress });
}, 600_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("fawkes build of the sample apps", () => {
  it("builds shop: a venv at the release path that imports Flask and the library inside the golden image", async () => {
    if (!isRoot) throw new Error(NEEDS_ROOT);
    expect(shop).toMatchObject({ app: "shop", status: "built", release: expect.stringMatching(/^r[0-9a-f]{12}$/) });
    expect(readFileSync(join(tmp, "store-a/shop", `${shop.release}.sha256`), "utf8").trim()).toBe(shop.sha256);
    const ctx = unpack(shop, join(tmp, "unpacked-shop"));
    const dir = join(ctx.work, "release");
    for (const p of ["shop/app.py", "requirements.txt", "wheelhouse", "venv/bin/python", "venv/bin/gunicorn", "manifest.json"]) expect(existsSync(join(dir, p)), p).toBe(true);
    expect(readFileSync(join(dir, "venv/bin/gunicorn"), "utf8").split("\n")[0]).toBe(`#!${ctx.releasePath}/venv/bin/python3`);
    const out = await inRelease(ctx, {}, ["venv/bin/python", "-c", "import sys, flask, fawkes_greeting; print(sys.prefix, flask.__version__, fawkes_greeting.__version__)"]);
    expect(out).toBe(`${ctx.releasePath}/venv 3.1.1 1.4.0`);
    expect(await inRelease(ctx, {}, ["venv/bin/gunicorn", "--version"])).toMatch(/^gunicorn \(version 23\.0\.0\)$/);
    const version = await inRelease(ctx, {}, ["venv/bin/python", "-c", "from shop.app import app; print(app.test_client().get('/version').get_data(as_text=True))"]);
    expect(JSON.parse(version)).toEqual({ app: "shop", library: "fawkes-greeting", version: "1.4.0", greeting: "Hello, shop!" });
  });

  it("writes a manifest whose checksums match the unpacked files, naming image, commit and wheels", () => {
    if (!isRoot) throw new Error(NEEDS_ROOT);
    const dir = join(tmp, "unpacked-shop/release");
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
    expect(m).toMatchObject({ app: "shop", release: shop.release, image: image.hash, gitSha: shop.gitSha, python: "3.13.5", releasePath: `/srv/apps/shop/releases/${shop.release}`, sourceDate: "2026-01-02T03:04:05.000Z" });
    expect(m.requirements).toEqual(["Flask>=2.2,<4", "fawkes-greeting>=1,<2", "gunicorn"]);
    expect(m.wheels.map((w) => w.file)).toEqual(readdirSync(join(dir, "wheelhouse")).sort());
    expect(m.libraries.map((l) => l.dir)).toEqual(["examples/libs/fawkes-greeting-1", "examples/libs/fawkes-greeting-2"]);
    expect(Object.keys(m.files).length).toBeGreaterThan(500);
    expect(verifyTree(dir, m)).toEqual([]);
  });

  it("is reproducible: the same source builds the same sha256; the store already holding it is a no-op", async () => {
    if (!isRoot) throw new Error(NEEDS_ROOT);
    const again = await buildArtifact({ root: project, spec, app: "shop", store: join(tmp, "store-b"), progress });
    expect(again.status).toBe("built");
    expect(again.sha256).toBe(shop.sha256);
    const noop = await buildArtifact({ root: project, spec, app: "shop", store: join(tmp, "store-a"), progress });
    expect(noop).toMatchObject({ status: "exists", sha256: shop.sha256, release: shop.release });
    expect(log).toContain(`shop ${shop.release} is already in the store: nothing to build`);
  });

  it("builds blog: its build hook (collectstatic) ran in the image and ships; /version says 2.x", async () => {
    if (!isRoot) throw new Error(NEEDS_ROOT);
    const blog = await buildArtifact({ root: project, spec, app: "blog", store: join(tmp, "store-a"), progress });
    expect(blog.status).toBe("built");
    const ctx = unpack(blog, join(tmp, "unpacked-blog"));
    expect(readFileSync(join(ctx.work, "release/staticfiles/posts/site.css"), "utf8")).toBe(readFileSync(join(project, "examples/django-blog/posts/static/posts/site.css"), "utf8"));
    // Django's test client asks as "testserver", which the blog allows only when told (it takes FAWKES_HOSTS on hosts).
    const env = { DJANGO_SETTINGS_MODULE: "blog.settings", DJANGO_SECRET_KEY: "e2e", DJANGO_ALLOWED_HOSTS: "testserver" };
    const version = await inRelease(ctx, env, ["venv/bin/python", "-c", "import django; django.setup(); from django.test import Client; print(Client().get('/version').content.decode())"]);
    expect(JSON.parse(version)).toEqual({ app: "blog", library: "fawkes-greeting", version: "2.1.0", greeting: "Good day, blog." });
  });

  it("a failing step fails the build with its name and output, leaving no mount, scratch dir or partial artifact", async () => {
    if (!isRoot) throw new Error(NEEDS_ROOT);
    const broken = { ...spec, catalogue: { ...spec.catalogue, apps: spec.catalogue.apps.map((a) => (a.name === "shop" ? { ...a, hooks: { build: ["echo doomed >&2; exit 3"], release: [] } } : a)) } };
    const store = join(tmp, "store-broken");
    const e = await buildArtifact({ root: project, spec: broken, app: "shop", store, progress }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StepError);
    expect((e as StepError).step.title).toBe("build hook: echo doomed >&2; exit 3");
    expect((e as StepError).output).toContain("doomed");
    expect(readdirSync(join(store, "shop"))).toEqual([]);
    expect(existsSync(join(fawkesHome(), "builds")) ? readdirSync(join(fawkesHome(), "builds")).filter((d) => d.endsWith(`-${process.pid}`)) : []).toEqual([]);
    expect(fawkesMounts()).toEqual([]);
  });

  it("leaves nothing mounted in the machine's mount table", () => {
    if (!isRoot) throw new Error(NEEDS_ROOT);
    expect(fawkesMounts()).toEqual([]);
  });
});
