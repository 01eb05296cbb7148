// An app team's first day: a fresh `django-admin startproject` site whose requirements name
// packages Debian lacks goes from nothing to serving with `fawkes app add` and `fawkes local up`.
// Its packages take every route into one wheelhouse: Django from Debian's python3-django in the
// image, a wheel and an sdist from a PEP 503 index the test serves on 127.0.0.1 (pinned by sha256
// in requirements.lock), a wheel and an sdist committed in the app's wheels/. Then each way a
// dependency can be wrong stops the build with the app, the package and the route named, and no
// release stored. Nothing reaches the network: pip's configuration is the test's index only.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifactPaths, defaultStore } from "../../src/artifact/index.ts";
import { releaseIdOf } from "../../src/artifact/release-id.ts";
import { loadStack } from "../../src/config/index.ts";
import { envLayout, localDown } from "../../src/local/index.ts";
import { httpStatus } from "../../src/local/health.ts";
import { readState } from "../../src/local/state.ts";
import { goldenImage, inImageRoot } from "../helpers/image-root.ts";
import { makeDistribution, servePackageIndex, type PackageIndex } from "../helpers/python-packages.ts";
import { knobsStack, scratchProject, type ScratchProject } from "../helpers/scratch-project.ts";
import { requireRoot } from "./machine.ts";

const STACK = "teamdev";
const SITE = "apps/site";
let project: ScratchProject;
let index: PackageIndex;
let pkgs: string;
let pipEnv: Record<string, string | undefined>;
/** What `fawkes app add site --source apps/site` answered, in beforeAll. */
let added: { code: number; out: string; err: string };

/** The catalogue the team starts from: one app (the shop), one stack. */
const CATALOGUE = `name: fawkes
runtime:
  name: nodejs
stackConfigDir: stacks
config:
  catalogue:
    value:
      apps:
        - name: shop
          source: examples/flask-shop
          processes:
            web:
              wsgi: shop.app:app
            mailer:
              command: python -m shop.worker
          health:
            path: /healthz
          bootSeconds: 2
          shared:
            - data
          secrets:
            - SHOP_SECRET_KEY
          env:
            SHOP_DATA_DIR: data
`;

/** `fawkes build site`: its exit code and what it printed. */
const buildSite = () => project.fawkes("build", "site", "--json");
const released = (release: string) => existsSync(artifactPaths(defaultStore(), "site", release).tarball);
const commitAll = async (message: string) => {
  await project.git("add", "-A");
  await project.git("commit", "-q", "-m", message);
};
/** The release id of the committed site: what a build would store. */
const siteRelease = () => releaseIdOf(project.root, SITE);

beforeAll(async () => {
  requireRoot();
  const image = await goldenImage();
  pkgs = join(tmpdir(), `fawkes-app-add-pkgs-${process.pid}`);
  rmSync(pkgs, { recursive: true, force: true });
  // The index: a wheel that needs a second package, which the index has as an sdist only.
  makeDistribution(join(pkgs, "index"), { name: "fawkes-demo-dep", version: "1.0", requires: ["fawkes-demo-leaf>=1"], source: 'from fawkes_demo_leaf import LEAF\nGREETING = f"demo-dep 1.0 on {LEAF}"\n' });
  makeDistribution(join(pkgs, "index"), { name: "fawkes-demo-leaf", version: "1.2", source: 'LEAF = "leaf 1.2"\n' }, "sdist");
  index = await servePackageIndex(join(pkgs, "index"));
  pipEnv = { PIP_CONFIG_FILE: process.env.PIP_CONFIG_FILE, PIP_INDEX_URL: process.env.PIP_INDEX_URL, PIP_EXTRA_INDEX_URL: process.env.PIP_EXTRA_INDEX_URL };
  process.env.PIP_CONFIG_FILE = "/dev/null";
  process.env.PIP_INDEX_URL = index.url;
  delete process.env.PIP_EXTRA_INDEX_URL;

  project = await scratchProject("app-add");
  writeFileSync(join(project.root, "Pulumi.yaml"), CATALOGUE);
  rmSync(join(project.root, "stacks"), { recursive: true });
  mkdirSync(join(project.root, "stacks"));
  const shop = await releaseIdOf(project.root, "examples/flask-shop");
  writeFileSync(join(project.root, "stacks", `Pulumi.${STACK}.yaml`), knobsStack(STACK, { web: 1, worker: 1, releases: { shop } }));
  await commitAll("a team's project: the shop");
  expect(await project.buildAt("shop", "HEAD")).toBe(shop);

  // The site, as django-admin makes it in the hosts' image (Django from Debian's python3-django).
  const dir = join(project.root, SITE);
  mkdirSync(dir, { recursive: true });
  const [cmd, ...args] = inImageRoot(image, join(pkgs, "image"), [dir], ["django-admin", "startproject", "mysite", dir]);
  execFileSync(cmd!, args);
  writeFileSync(join(dir, "requirements.txt"), "Django>=4.2\nfawkes-demo-dep>=1\nfawkes-vendored\nfawkes-vendored-src>=2\n");
  makeDistribution(join(dir, "wheels"), { name: "fawkes-vendored", version: "0.3" });
  makeDistribution(join(dir, "wheels"), { name: "fawkes-vendored-src", version: "2.0" }, "sdist");
  await localDown(envLayout(STACK));
  added = await project.fawkes("app", "add", "site", "--source", SITE);
}, 900_000);

afterAll(async () => {
  if (process.getuid?.() !== 0) return;
  await localDown(envLayout(STACK));
  await index?.close();
  for (const [k, v] of Object.entries(pipEnv ?? {})) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  project?.remove();
  if (pkgs) rmSync(pkgs, { recursive: true, force: true });
});

describe.sequential("an app team's path: app add, three dependency routes, serving", () => {
  it("app add: detects the Django site, pins the index's packages by sha256, builds, pins the release in every stack, commits", async () => {
    const r = added;
    expect(r.err).toMatch(/site: django app, gunicorn serves mysite\.wsgi:application/);
    expect(r.code, r.err).toBe(0);
    const release = loadStack(project.root, STACK).knobs.releases.site!;
    expect(r.out).toBe(`site: django app in ${SITE}, release ${release} pinned in 1 stack(s); serve it with: npm start\n`);
    // The lock: both packages from the index, each by the sha256 of the file the index served.
    const lock = readFileSync(join(project.root, SITE, "requirements.lock"), "utf8");
    const sha = (f: string) => execFileSync("sha256sum", [join(pkgs, "index", f)], { encoding: "utf8" }).split(" ")[0];
    expect(lock).toContain(`fawkes-demo-dep==1.0 --hash=sha256:${sha("fawkes_demo_dep-1.0-py3-none-any.whl")}\n`);
    expect(lock).toContain(`fawkes-demo-leaf==1.2 --hash=sha256:${sha("fawkes_demo_leaf-1.2.tar.gz")}\n`);
    // Everything committed: the source, the settings line, the lock, the catalogue and the pin.
    expect(await project.git("status", "--porcelain")).toBe("");
    expect(await project.git("show", `HEAD:${SITE}/mysite/settings.py`)).toContain('_fawkes_os.environ["FAWKES_HOSTS"]');
    expect((await project.fawkes("check", "--stack", STACK)).code).toBe(0);
    // One wheelhouse, whatever the route; the venv holds each package.
    const tarball = artifactPaths(defaultStore(), "site", release).tarball;
    const manifest = JSON.parse(execFileSync("tar", ["-xzOf", tarball, "./manifest.json"], { encoding: "utf8" })) as { wheels: Array<{ name: string; source: string; builtFrom?: string }> };
    const route = Object.fromEntries(manifest.wheels.map((w) => [w.name.toLowerCase(), `${w.source}${w.builtFrom ? ` (${w.builtFrom})` : ""}`]));
    expect(route).toMatchObject({ django: "debian", "fawkes-demo-dep": "index", "fawkes-demo-leaf": "index (sdist)", "fawkes-vendored": "wheels", "fawkes-vendored-src": "wheels (sdist)" });
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8", maxBuffer: 64 << 20 });
    for (const m of ["django", "fawkes_demo_dep", "fawkes_demo_leaf", "fawkes_vendored", "fawkes_vendored_src"]) expect(files).toMatch(new RegExp(`^\\./venv/lib/python3\\.\\d+/site-packages/${m}/__init__\\.py$`, "m"));
    // The committed wheels went into the wheelhouse, not into the release a second time.
    expect(files).not.toMatch(/^\.\/wheels\//m);
  }, 900_000);

  it("local up serves the new site through HAProxy, its health checks passing, beside the shop", async () => {
    const up = await project.fawkes("local", "up", "--stack", STACK);
    expect(up.code, up.err).toBe(0);
    const port = readState(envLayout(STACK).state)!.port;
    const login = await httpStatus("127.0.0.1", port, "/admin/login/", `site.${STACK}.localhost`, 5000);
    expect(login.status).toBe(200);
    expect(login.body).toContain("Django administration");
    expect((await httpStatus("127.0.0.1", port, "/healthz", `shop.${STACK}.localhost`, 5000)).status).toBe(200);
  }, 600_000);

  it("fawkes run: migrate, createsuperuser --noinput as the app's user in its release, and the index's packages in its venv", async () => {
    const up = await project.fawkes("local", "up", "--stack", STACK);
    expect(up.code, up.err).toBe(0);
    const run = (...cmd: string[]) => project.fawkes("run", "site", "--stack", STACK, "--", ...cmd);
    const migrate = await run("python", "manage.py", "migrate", "--noinput");
    expect(migrate.code, migrate.err).toBe(0);
    expect(migrate.out).toMatch(/Applying auth\.\d+_/);
    const su = await run("env", "DJANGO_SUPERUSER_USERNAME=admin", "DJANGO_SUPERUSER_EMAIL=admin@fawkes.test", "DJANGO_SUPERUSER_PASSWORD=not-a-secret-1", "python", "manage.py", "createsuperuser", "--noinput");
    expect(su.code, su.err).toBe(0);
    expect(su.out).toContain("Superuser created successfully.");
    const who = await run("python", "manage.py", "shell", "-c", "from django.contrib.auth.models import User; print([u.username for u in User.objects.filter(is_superuser=True)])");
    expect(who.out.trim()).toBe("['admin']");
    // A second one of the same name: Django's own refusal, its exit code passed through.
    const again = await run("python", "manage.py", "createsuperuser", "--noinput", "--username", "admin", "--email", "a@fawkes.test");
    expect(again.code).toBe(1);
    expect(again.err).toContain("That username is already taken.");
    const dep = await run("python", "-c", "import fawkes_demo_dep, fawkes_vendored_src; print(fawkes_demo_dep.GREETING, fawkes_vendored_src.GREETING)");
    expect(dep.out.trim()).toBe("demo-dep 1.0 on leaf 1.2 fawkes-vendored-src 2.0");
  }, 600_000);

  it("a package the lock does not pin: the build writes the pin into requirements.lock, stores no release, and the next build uses it", async () => {
    makeDistribution(join(pkgs, "index"), { name: "fawkes-demo-extra", version: "3.1" });
    writeFileSync(join(project.root, SITE, "requirements.txt"), `${readFileSync(join(project.root, SITE, "requirements.txt"), "utf8")}fawkes-demo-extra\n`);
    await commitAll("site: needs fawkes-demo-extra");
    const release = await siteRelease();
    const r = await buildSite();
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/building site failed: site takes 1 package\(s\) from the package index that its committed requirements\.lock does not pin: fawkes-demo-extra==3\.1\. fawkes wrote the pins .* review and commit it, then build again/);
    expect(released(release)).toBe(false);
    expect(readFileSync(join(project.root, SITE, "requirements.lock"), "utf8")).toMatch(/^fawkes-demo-extra==3\.1 --hash=sha256:[0-9a-f]{64}$/m);
    await commitAll("site: pin fawkes-demo-extra");
    const again = await buildSite();
    expect(again.code, again.err).toBe(0);
  }, 600_000);

  it("the index serving another file than the lock pins: refused by hash, naming the package, the index and both sums; no release", async () => {
    writeFileSync(join(project.root, SITE, "mysite", "fawkes_note.py"), "# a new release\n");
    await commitAll("site: a change");
    const release = await siteRelease();
    const good = join(pkgs, "fawkes_demo_dep-good.whl");
    const served = join(pkgs, "index", "fawkes_demo_dep-1.0-py3-none-any.whl");
    copyFileSync(served, good);
    makeDistribution(join(pkgs, "index"), { name: "fawkes-demo-dep", version: "1.0", requires: ["fawkes-demo-leaf>=1"], source: "import os\nos.system('id')\n" });
    try {
      const r = await buildSite();
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/building site failed: .*requirements\.txt requires fawkes-demo-dep>=1: the package index \(http:\/\/127\.0\.0\.1:\d+\/simple\/\) serves fawkes-demo-dep 1\.0 with another sha256 than requirements\.lock pins/s);
      expect(r.err).toMatch(/Expected sha256 [0-9a-f]{64}\n\s+Got\s+[0-9a-f]{64}/);
      expect(released(release)).toBe(false);
    } finally {
      copyFileSync(good, served);
    }
  }, 600_000);

  it("a package no route has: named with every route tried; no release", async () => {
    const start = await project.git("rev-parse", "HEAD");
    writeFileSync(join(project.root, SITE, "requirements.txt"), `${readFileSync(join(project.root, SITE, "requirements.txt"), "utf8")}fawkes-nowhere>=1\n`);
    await commitAll("site: a package nobody has");
    try {
      const release = await siteRelease();
      const r = await buildSite();
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/building site failed: .*requirements\.txt requires fawkes-nowhere>=1: no route has it: no repository library, nothing in the app's wheels\/, no Debian package in the image, and the package index \(http:\/\/127\.0\.0\.1:\d+\/simple\/\) has no version that fits/s);
      expect(released(release)).toBe(false);
    } finally {
      await project.git("reset", "-q", "--hard", start);
    }
  }, 600_000);

  it("a committed sdist that fails to build: named with its file; no release", async () => {
    const start = await project.git("rev-parse", "HEAD");
    makeDistribution(join(project.root, SITE, "wheels"), { name: "fawkes-broken", version: "1.0", broken: true }, "sdist");
    writeFileSync(join(project.root, SITE, "requirements.txt"), `${readFileSync(join(project.root, SITE, "requirements.txt"), "utf8")}fawkes-broken\n`);
    await commitAll("site: a broken sdist");
    try {
      const release = await siteRelease();
      const r = await buildSite();
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/building site failed: .*building requirements\.txt's requirement fawkes-broken from the committed sdist wheels\/fawkes_broken-1\.0\.tar\.gz into a wheel: pip failed/s);
      expect(released(release)).toBe(false);
    } finally {
      await project.git("reset", "-q", "--hard", start);
    }
  }, 600_000);
});
