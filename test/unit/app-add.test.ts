import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addApp, AppAddError, detectApp, DetectError, djangoHostsBlock, moduleOf, sourceDirOf } from "../../src/app-add/index.ts";
import { addCatalogueApp } from "../../src/config/catalogue-add.ts";
import { git, repositoryOwner } from "../../src/git/index.ts";
import { ConfigError, loadStack } from "../../src/config/index.ts";
import { createHash } from "node:crypto";
import { artifactPaths } from "../../src/artifact/index.ts";
import { releaseIdOf } from "../../src/artifact/release-id.ts";
import { main } from "../../src/cli/main.ts";
import { repoProjectCopy } from "../helpers/recipe.ts";

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function project(): string {
  const root = repoProjectCopy("fawkes-app-add-");
  roots.push(root);
  return root;
}

function gitRepo(root: string): void {
  const g = (...a: string[]) => execFileSync("git", ["-C", root, ...a], { stdio: "pipe" });
  g("init", "-q", "-b", "main");
  g("-c", "user.name=t", "-c", "user.email=t@t", "add", "-A");
  g("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "start");
  g("config", "user.name", "t");
  g("config", "user.email", "t@t");
}

function tree(files: Record<string, string>): { files: Set<string>; read: (p: string) => string } {
  return { files: new Set(Object.keys(files)), read: (p) => files[p] ?? "" };
}

// What `django-admin startproject mysite .` writes (Django 4.2), abridged to the lines detection reads.
const DJANGO = {
  "manage.py": "def main():\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
  "mysite/__init__.py": "",
  "mysite/settings.py": "ALLOWED_HOSTS = []\n",
  "mysite/urls.py": "from django.contrib import admin\nurlpatterns = [\n    path('admin/', admin.site.urls),\n]\n",
  "mysite/wsgi.py": "application = get_wsgi_application()\n",
};

describe("what kind of app a source dir holds", () => {
  it("a Django project: gunicorn serves <project>.wsgi:application, the health check asks the admin's login page", () => {
    const t = tree(DJANGO);
    expect(detectApp(t.files, t.read)).toMatchObject({ framework: "django", wsgi: "mysite.wsgi:application", healthPath: "/admin/login/" });
    const noAdmin = tree({ ...DJANGO, "mysite/urls.py": "urlpatterns = []\n" });
    expect(detectApp(noAdmin.files, noAdmin.read).healthPath).toBe("/");
  });

  it("a Django settings file gets FAWKES_HOSTS into ALLOWED_HOSTS where fawkes runs it, once, and nothing changes elsewhere", () => {
    const t = tree(DJANGO);
    expect(detectApp(t.files, t.read).settings).toBe("mysite/settings.py");
    const settings = "DEBUG = True\nALLOWED_HOSTS = ['example.test']";
    const block = djangoHostsBlock(settings)!;
    const hosts = (env: Record<string, string>) =>
      execFileSync("/usr/bin/python3", ["-c", `${settings}${block}\nprint(",".join(ALLOWED_HOSTS))`], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", ...env } }).trim();
    expect(hosts({ FAWKES_HOSTS: "site.dev.localhost,10.0.2.11" })).toBe("example.test,site.dev.localhost,10.0.2.11");
    expect(hosts({})).toBe("example.test");
    expect(djangoHostsBlock(`${settings}${block}`)).toBeUndefined();
  });

  it("a Django manage.py without the wsgi.py beside its settings asks for --wsgi", () => {
    const t = tree({ "manage.py": DJANGO["manage.py"], "mysite/settings.py": "" });
    expect(() => detectApp(t.files, t.read)).toThrow(/mysite\/wsgi\.py is missing: pass --wsgi/);
  });

  it("a Flask app: the module that makes it and the name it is bound to, or the create_app factory", () => {
    const app = tree({ "shop/__init__.py": "", "shop/app.py": "from flask import Flask\napp = Flask(__name__)\n", "tests/test_app.py": "from flask import Flask\nx = Flask('t')\n" });
    expect(detectApp(app.files, app.read)).toMatchObject({ framework: "flask", wsgi: "shop.app:app" });
    const factory = tree({ "site/__init__.py": "from flask import Flask\n\ndef create_app():\n    return Flask(__name__)\n" });
    expect(detectApp(factory.files, factory.read).wsgi).toBe("site:create_app()");
    const two = tree({ "a.py": "from flask import Flask\napp = Flask('a')\n", "b.py": "from flask import Flask\napp = Flask('b')\n" });
    expect(() => detectApp(two.files, two.read)).toThrow(/more than one Flask app: a:app, b:app; pass --wsgi/);
    // What detection asks --wsgi to settle, --wsgi settles.
    expect(detectApp(two.files, two.read, "b:app")).toMatchObject({ framework: "wsgi", wsgi: "b:app" });
    const noWsgi = tree({ "manage.py": DJANGO["manage.py"], "mysite/settings.py": "" });
    expect(detectApp(noWsgi.files, noWsgi.read, "mysite.main:application")).toMatchObject({ wsgi: "mysite.main:application" });
  });

  it("--wsgi wins; with nothing found and no --wsgi the error says what was looked for", () => {
    const t = tree(DJANGO);
    expect(detectApp(t.files, t.read, "mysite.asgi2:app")).toMatchObject({ framework: "django", wsgi: "mysite.asgi2:app", because: "--wsgi" });
    const plain = tree({ "hello.py": "def application(environ, start_response): ...\n" });
    expect(() => detectApp(plain.files, plain.read)).toThrow(DetectError);
    expect(() => detectApp(plain.files, plain.read)).toThrow(/neither a Django project .* nor a Flask app .*pass --wsgi MODULE:CALLABLE/);
    expect(detectApp(plain.files, plain.read, "hello:application")).toMatchObject({ framework: "wsgi", healthPath: "/" });
    expect(moduleOf("pkg/sub/__init__.py")).toBe("pkg.sub");
  });
});

describe("adding an app to the catalogue in Pulumi.yaml", () => {
  it("appends the entry after the last app and changes no other byte", () => {
    const root = project();
    const before = readFileSync(join(root, "Pulumi.yaml"), "utf8");
    mkdirSync(join(root, "apps/site"), { recursive: true });
    addCatalogueApp(root, { name: "site", source: "apps/site", processes: { web: { wsgi: "mysite.wsgi:application" } }, health: { path: "/admin/login/" } });
    const after = readFileSync(join(root, "Pulumi.yaml"), "utf8");
    // Only lines added, all of them together: every comment and spacing of the file stays.
    const lines = after.split("\n");
    const at = lines.findIndex((l) => /^ {8}- name: site$/.test(l));
    const added = lines.splice(at, 7);
    expect(lines.join("\n")).toBe(before);
    expect(added).toEqual(["        - name: site", "          source: apps/site", "          processes:", "            web:", "              wsgi: mysite.wsgi:application", "          health:", "            path: /admin/login/"]);
    const spec = loadStack(root, "dev", { unpinnedAllowed: true });
    expect(spec.catalogue.apps.map((a) => a.name)).toEqual(["shop", "blog", "site"]);
    expect(spec.catalogue.apps[2]).toMatchObject({ source: "apps/site", processes: { web: { wsgi: "mysite.wsgi:application", role: "web" } } });
    // Without the option the stacks still say the new app has no pin: that is what app add fixes.
    expect(() => loadStack(root, "dev")).toThrow(/no release pinned for app "site"/);
  });

  it("refuses a name taken or an entry the catalogue would refuse, naming the key, and leaves the file as it was", () => {
    const root = project();
    const before = readFileSync(join(root, "Pulumi.yaml"), "utf8");
    expect(() => addCatalogueApp(root, { name: "shop", source: "examples/flask-shop", processes: { web: { wsgi: "x:app" } } })).toThrow(/apps\[0\]: already declares an app "shop"/);
    try {
      addCatalogueApp(root, { name: "site", source: "../etc", processes: { web: { wsgi: "x:app" } } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toMatch(/Pulumi\.yaml: config\.catalogue\.value\.apps\[new\]\.source: must be a relative path/);
    }
    expect(readFileSync(join(root, "Pulumi.yaml"), "utf8")).toBe(before);
  });
});

describe("fawkes app add refuses before it changes anything", () => {
  it("a source dir outside the project, missing, or a link", () => {
    const root = project();
    expect(() => sourceDirOf(root, root, "../elsewhere")).toThrow(/must be a dir inside the project/);
    expect(() => sourceDirOf(root, root, "apps/none")).toThrow(/"apps\/none" does not exist in the project/);
    execFileSync("ln", ["-s", join(root, "examples/flask-shop"), join(root, "shoplink")]);
    expect(() => sourceDirOf(root, root, "shoplink")).toThrow(/goes through a symbolic link/);
    // A link anywhere on the way, not only the last name.
    execFileSync("ln", ["-s", join(root, "examples"), join(root, "ex")]);
    expect(() => sourceDirOf(root, root, "ex/flask-shop")).toThrow(/goes through a symbolic link/);
    expect(sourceDirOf(root, join(root, "examples"), "flask-shop")).toBe("examples/flask-shop");
  });

  it("uncommitted changes to the config files, a missing requirements.txt, an app it cannot read: no commit, no file written", async () => {
    const root = project();
    mkdirSync(join(root, "apps/site/mysite"), { recursive: true });
    for (const [f, text] of Object.entries(DJANGO)) writeFileSync(join(root, "apps/site", f), text);
    gitRepo(root);
    const head = () => execFileSync("git", ["-C", root, "rev-parse", "HEAD"], { encoding: "utf8" });
    const start = head();
    const pulumi = readFileSync(join(root, "Pulumi.yaml"), "utf8");
    await expect(addApp({ root, cwd: root, name: "site", source: "apps/site" })).rejects.toThrow(/apps\/site\/requirements\.txt is missing/);
    writeFileSync(join(root, "apps/site/requirements.txt"), "Django\n");
    writeFileSync(join(root, "stacks/Pulumi.dev.yaml"), `${readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8")}# mine\n`);
    await expect(addApp({ root, cwd: root, name: "site", source: "apps/site" })).rejects.toThrow(/uncommitted changes to stacks\/Pulumi\.dev\.yaml: .*commit or stash/);
    execFileSync("git", ["-C", root, "checkout", "--", "stacks"]);
    await expect(addApp({ root, cwd: root, name: "Site!", source: "apps/site" })).rejects.toThrow(AppAddError);
    // A name the catalogue has, a bad --health, a secrets file in the dir: refused before the settings or the commit.
    const settings = readFileSync(join(root, "apps/site/mysite/settings.py"), "utf8");
    await expect(addApp({ root, cwd: root, name: "shop", source: "apps/site" })).rejects.toThrow(/already declares an app "shop"/);
    await expect(addApp({ root, cwd: root, name: "site", source: "apps/site", healthPath: "/../x" })).rejects.toThrow(/health\.path: must be a URL path/);
    writeFileSync(join(root, "apps/site/.env"), "SECRET=1\n");
    await expect(addApp({ root, cwd: root, name: "site", source: "apps/site" })).rejects.toThrow(/apps\/site holds \.env: files of secrets or local data are not committed by fawkes/);
    rmSync(join(root, "apps/site/.env"));
    expect(readFileSync(join(root, "apps/site/mysite/settings.py"), "utf8")).toBe(settings);
    // A settings file that is a link: fawkes appends to no file through it.
    rmSync(join(root, "apps/site/mysite/settings.py"));
    execFileSync("ln", ["-s", "/etc/hostname", join(root, "apps/site/mysite/settings.py")]);
    await expect(addApp({ root, cwd: root, name: "site", source: "apps/site" })).rejects.toThrow(/mysite\/settings\.py is a symbolic link/);
    rmSync(join(root, "apps/site/mysite/settings.py"));
    writeFileSync(join(root, "apps/site/mysite/settings.py"), settings);
    rmSync(join(root, "apps/site/manage.py"));
    await expect(addApp({ root, cwd: root, name: "site", source: "apps/site" })).rejects.toThrow(/apps\/site: found neither a Django project/);
    expect(head()).toBe(start);
    expect(readFileSync(join(root, "Pulumi.yaml"), "utf8")).toBe(pulumi);
  });
});

describe("fawkes build of an app no stack pins yet", () => {
  it("builds it (here: finds it in the store) and prints its id with the command that pins it", async () => {
    const root = project();
    mkdirSync(join(root, "apps/site/mysite"), { recursive: true });
    for (const [f, text] of Object.entries(DJANGO)) writeFileSync(join(root, "apps/site", f), text);
    writeFileSync(join(root, "apps/site/requirements.txt"), "Django\n");
    addCatalogueApp(root, { name: "site", source: "apps/site", processes: { web: { wsgi: "mysite.wsgi:application" } } });
    gitRepo(root);
    const release = await releaseIdOf(root, "apps/site");
    const store = join(root, "store");
    const paths = artifactPaths(store, "site", release);
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.tarball, "a release");
    writeFileSync(paths.sha256, `${createHash("sha256").update("a release").digest("hex")}\n`);
    let out = "";
    let err = "";
    const code = await main(["build", "site", "--store", store], { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
    expect(code, err).toBe(0);
    expect(err).toContain(`site is pinned in no release yet; pin this one with: fawkes pin site ${release} --all\n`);
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^site ${release} already in the store: `));
    // Every other command still refuses the stacks until the pin is written.
    expect(await main(["check"], { out: () => {}, err: () => {}, cwd: root })).toBe(1);
  });
});

describe("fawkes pin", () => {
  const run = async (root: string, ...argv: string[]) => {
    let out = "";
    let err = "";
    const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
    return { code, out, err };
  };

  it("writes one stack's pin, or every stack's with --all, and says what it was", async () => {
    const root = project();
    const one = await run(root, "pin", "shop", "r0000000000aa", "--stack", "staging");
    expect(one).toMatchObject({ code: 0 });
    expect(one.out).toMatch(/^pinned shop r0000000000aa in stacks\/Pulumi\.staging\.yaml \(was r[0-9a-f]{12}\)\n$/);
    expect(loadStack(root, "staging").knobs.releases.shop).toBe("r0000000000aa");
    expect(loadStack(root, "dev").knobs.releases.shop).not.toBe("r0000000000aa");
    const all = await run(root, "pin", "blog", "r0000000000bb", "--all");
    expect(all.code).toBe(0);
    expect(all.out.trim().split("\n")).toHaveLength(4);
    for (const s of ["dev", "qa", "staging", "production"]) expect(loadStack(root, s).knobs.releases.blog).toBe("r0000000000bb");
  });

  it("refuses an app the catalogue lacks, a bad release id, and neither or both of --stack and --all", async () => {
    const root = project();
    const before = readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8");
    expect(await run(root, "pin", "nope", "r0000000000aa", "--all")).toMatchObject({ code: 2, err: expect.stringMatching(/no app "nope" in the catalogue/) });
    expect((await run(root, "pin", "shop", "r0000000000aa")).code).toBe(2);
    expect((await run(root, "pin", "shop", "r0000000000aa", "--all", "--stack", "dev")).code).toBe(2);
    expect((await run(root, "pin", "shop", "../x", "--stack", "dev")).code).toBe(2);
    expect(readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8")).toBe(before);
  });
});

describe("git in a user's checkout, run by root (sudo)", () => {
  it("runs as the repository's owner, with that user's home, so objects and commits stay theirs", async () => {
    const root = project();
    gitRepo(root);
    const passwd = () => "root:x:0:0:root:/root:/bin/bash\ndev:x:4242:4243::/home/dev:/bin/bash\n";
    if (process.getuid?.() !== 0) {
      expect(repositoryOwner(root, passwd)).toBeUndefined();
      return;
    }
    expect(repositoryOwner(root, passwd)).toBeUndefined();
    execFileSync("chown", ["-R", "4242:4243", root]);
    expect(repositoryOwner(root, passwd)).toEqual({ uid: 4242, gid: 4243, home: "/home/dev" });
    writeFileSync(join(root, "new.txt"), "x\n");
    execFileSync("chown", ["4242:4243", join(root, "new.txt")]);
    expect((await git(root, "add", "new.txt")).ok).toBe(true);
    expect((await git(root, "commit", "-q", "-m", "by the owner")).ok).toBe(true);
    const sha = (await git(root, "rev-parse", "HEAD")).out.trim();
    const object = join(root, ".git/objects", sha.slice(0, 2), sha.slice(2));
    expect(statSync(object).uid).toBe(4242);
    expect(statSync(join(root, ".git/index")).uid).toBe(4242);
  });
});
