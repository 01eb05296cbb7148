// The artifact build is a plan of argv arrays: checked here as data; test/e2e/artifact.test.ts runs it.
import { describe, expect, it } from "vitest";
import { BUILD_MOUNT, buildDirs, ENTER_IMAGE, hookEnv, inImage, shippedRequirements, sourceSteps, tarArgv, venvSteps, wheelhouseSteps, WHEELHOUSE_SCRIPT, type BuildContext } from "../../src/artifact/index.ts";
import type { Step } from "../../src/local/steps.ts";

const web = { web: { wsgi: "shop.app:app", role: "web" as const }, mailer: { command: "python -m shop.worker", role: "worker" as const } };
const ctx = (over: Partial<BuildContext["app"]> = {}): BuildContext => ({
  root: "/repo",
  app: { name: "shop", env: { SHOP_DATA_DIR: "data", PATH: "/evil" }, hooks: { build: [], release: ["python manage.py migrate"] }, processes: web, ...over },
  release: {
    id: "r0123456789ab", ref: "HEAD", commit: "c".repeat(40), commitTime: 1767323045, source: "examples/flask-shop", sourceTree: "a".repeat(40),
    requirements: "Flask>=2.2,<4\nfawkes-greeting>=1,<2\n",
    libraries: [{ dir: "examples/libs/fawkes-greeting-1", name: "fawkes-greeting", version: "1.4.0", dependencies: [], tree: "b".repeat(40) }],
  },
  rootfs: "/var/lib/fawkes/images/fc0af700/rootfs",
  work: "/var/lib/fawkes/builds/shop-r0123456789ab-42",
  indexUrls: [],
  releasePath: "/srv/apps/shop/releases/r0123456789ab",
});
const argv = (s: Step) => (s.kind === "run" ? s.argv : []);
/** The command an inImage step runs in the chroot, after the script's 5 positional parameters and the env. */
const inner = (s: Step) => argv(s).slice(argv(s).indexOf("fawkes-enter-image") + 6).filter((a) => !/^[A-Z_]+=/.test(a));
const envOf = (s: Step) => Object.fromEntries(argv(s).slice(argv(s).indexOf("fawkes-enter-image") + 6).filter((a) => /^[A-Z_]+=/.test(a)).map((a) => [a.split("=")[0], a.slice(a.indexOf("=") + 1)]));

describe("requirements.txt that ships", () => {
  it("adds gunicorn for an app with a web process, once", () => {
    expect(shippedRequirements({ processes: web }, "Flask\n")).toBe("Flask\ngunicorn  # added by fawkes build: web processes run the venv's gunicorn\n");
    expect(shippedRequirements({ processes: web }, "Flask\ngunicorn>=20\n")).toBe("Flask\ngunicorn>=20\n");
    expect(shippedRequirements({ processes: web }, "Flask")).toMatch(/^Flask\ngunicorn /);
  });

  it("leaves a worker-only app's requirements as committed", () => {
    expect(shippedRequirements({ processes: { w: { command: "python -m w", role: "worker" } } }, "requests\n")).toBe("requests\n");
  });
});

describe("source and wheelhouse steps", () => {
  it("archives the committed dir and each library at the commit, never the working tree", () => {
    const steps = sourceSteps(ctx());
    const dirs = buildDirs(ctx().work);
    expect(argv(steps[0]!)).toEqual(["git", "-C", "/repo", "archive", "--format=tar", `--output=${ctx().work}/source.tar`, "c".repeat(40), "--", "examples/flask-shop"]);
    expect(argv(steps[1]!).slice(-4)).toEqual(["unpack", dirs.staging, `${ctx().work}/source.tar`, "2"]);
    expect(argv(steps[2]!)).toContain("examples/libs/fawkes-greeting-1");
    expect(argv(steps[3]!).slice(-4)).toEqual(["unpack", `${dirs.libs}/0`, `${ctx().work}/library-0.tar`, "3"]);
    expect(steps.at(-1)).toMatchObject({ kind: "write", path: `${dirs.staging}/requirements.txt`, content: expect.stringContaining("gunicorn") });
  });

  it("runs the wheelhouse script in the golden image with its Debian python3, a clean environment, the committed wheels, the lock, the index and the libraries", () => {
    const urls = ["http://127.0.0.1:3141/simple/", "https://me:t0ken@pkgs.example.test/simple/"];
    const [copy, urlsFile, step, drop] = wheelhouseSteps({ ...ctx(), indexUrls: urls });
    const dirs = buildDirs(ctx().work);
    expect(argv(copy!)).toEqual(["cp", WHEELHOUSE_SCRIPT, `${ctx().work}/build-wheelhouse.py`]);
    // The URLs (a token among them) go by a file root alone reads, never in an argv that ps or an error shows.
    expect(urlsFile).toEqual({ kind: "write", title: "the package index's URLs", path: `${ctx().work}/index-urls`, content: `${urls.join("\n")}\n`, mode: 0o600 });
    expect(inner(step!)).toEqual([
      "/usr/bin/python3", "-B", `${BUILD_MOUNT}/build-wheelhouse.py`, "--requirements", "requirements.txt", "--out", "wheelhouse",
      "--report", `${BUILD_MOUNT}/wheelhouse.json`, "--wheels", "wheels", "--lock", "requirements.lock", "--write-lock", `${BUILD_MOUNT}/requirements.lock`,
      "--index-urls", `${BUILD_MOUNT}/index-urls`, "--lib", `${BUILD_MOUNT}/libs/0`,
    ]);
    expect(JSON.stringify([copy, step, drop])).not.toContain("t0ken");
    expect(envOf(step!)).toEqual({ PATH: "/usr/bin:/bin", LC_ALL: "C.UTF-8", HOME: "/root" });
    // The lock the build reads back is the one the script writes, through the bind of the scratch dir.
    expect(dirs.lock).toBe(`${ctx().work}/requirements.lock`);
    // The committed wheels are in the wheelhouse now: the release does not carry them twice.
    expect(argv(drop!)).toEqual(["rm", "-rf", "--", `${dirs.staging}/wheels`]);
    // No index configured: no URL file, no --index-urls.
    expect(wheelhouseSteps(ctx()).map((s) => s.title)).not.toContain("the package index's URLs");
    expect(inner(wheelhouseSteps(ctx())[1]!)).not.toContain("--index-urls");
    // The report the build reads is the one the script writes, through the bind of the scratch dir.
    expect(dirs.report).toBe(`${ctx().work}/wheelhouse.json`);
    expect(WHEELHOUSE_SCRIPT).toMatch(/\/scripts\/build-wheelhouse\.py$/);
  });
});

describe("venv steps in the golden image", () => {
  it("enter the image in a private mount namespace, with the staging dir at the release path", () => {
    const s = inImage(ctx(), "t", { B: "2", A: "1" }, ["python3", "-V"]);
    const dirs = buildDirs(ctx().work);
    expect(argv(s)).toEqual([
      "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", ENTER_IMAGE, "fawkes-enter-image",
      ctx().rootfs, dirs.overlay, dirs.staging, "/srv/apps/shop/releases/r0123456789ab", ctx().work, "A=1", "B=2", "python3", "-V",
    ]);
    expect(ENTER_IMAGE).toContain(`mount --bind "$scratch" "$overlay/root${BUILD_MOUNT}"`);
    expect(ENTER_IMAGE).toContain('mount -t overlay fawkes-build -o "lowerdir=$rootfs,upperdir=$overlay/upper,workdir=$overlay/work" "$overlay/root"');
    expect(ENTER_IMAGE).toContain('mount --bind "$staging" "$overlay/root$release"');
    expect(ENTER_IMAGE).toContain('exec chroot "$overlay/root" /usr/bin/env -i -C "$release" "$@"');
  });

  it("make the venv, install offline from the wheelhouse, check it, prove gunicorn, then run the build hooks", () => {
    const steps = venvSteps(ctx({ hooks: { build: ["python manage.py collectstatic --noinput"], release: [] } }));
    expect(steps.map(inner)).toEqual([
      ["python3", "-m", "venv", "venv"],
      ["venv/bin/pip", "install", "--no-index", "--find-links", "wheelhouse", "-r", "requirements.txt"],
      ["venv/bin/pip", "check"],
      ["venv/bin/gunicorn", "--version"],
      ["/bin/sh", "-c", "python manage.py collectstatic --noinput"],
    ]);
    expect(envOf(steps[1]!)).toMatchObject({ SOURCE_DATE_EPOCH: "1767323045", PIP_NO_INDEX: "1", PATH: "/usr/local/bin:/usr/bin:/bin" });
    expect(envOf(steps[1]!)).not.toHaveProperty("SHOP_DATA_DIR");
  });

  it("skip the gunicorn proof for a worker-only app and run no release hook at build time", () => {
    const steps = venvSteps(ctx({ processes: { w: { command: "python -m w", role: "worker" } } }));
    expect(steps.map((s) => inner(s)[0])).toEqual(["python3", "venv/bin/pip", "venv/bin/pip"]);
  });

  it("give hooks the catalogue env, the venv first on PATH and FAWKES_BUILD, never the catalogue's PATH", () => {
    const env = hookEnv(ctx());
    expect(env).toMatchObject({
      SHOP_DATA_DIR: "data", FAWKES_RELEASE: "r0123456789ab", FAWKES_BUILD: "1", PYTHONDONTWRITEBYTECODE: "1",
      VIRTUAL_ENV: "/srv/apps/shop/releases/r0123456789ab/venv", PATH: "/srv/apps/shop/releases/r0123456789ab/venv/bin:/usr/local/bin:/usr/bin:/bin",
    });
  });
});

describe("tar argv", () => {
  it("is reproducible: sorted names, the commit's mtime, owner 0:0, GNU format, gzip -n", () => {
    expect(tarArgv("/w/release", "/store/shop/r1.tar.gz.9.partial", 1767323045)).toEqual([
      "tar", "--create", "--file=/store/shop/r1.tar.gz.9.partial", "--use-compress-program=gzip -n", "--format=gnu", "--sort=name", "--mtime=@1767323045",
      "--owner=0", "--group=0", "--numeric-owner", "--mode=u+rw,go-w", "--directory=/w/release", ".",
    ]);
  });
});
