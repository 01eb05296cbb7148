// The sample apps of the catalogue import and serve with Debian's python3 and gunicorn: the shop
// keeps files and queues orders on its shared data dir and its worker drains the queue and stops
// cleanly on SIGTERM; the blog migrates, collects static files and counts posts in its sqlite DB.
// Everything they write goes to a temp dir (env vars), so the repository stays clean.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, test } from "vitest";
import { ROOT, scratchDir } from "../helpers/rendered-hosts.ts";
import { serveApp, tryFetch } from "../helpers/serve.ts";
import { BASE_ENV, TOOLS, expectSuccess, requirePythonModules, requireTools, run } from "../helpers/tools.ts";

const SHOP = join(ROOT, "examples/flask-shop");
const BLOG = join(ROOT, "examples/django-blog");
const scratch = scratchDir("sample-apps");
afterAll(() => scratch.remove());

describe("examples/flask-shop", () => {
  test("serves /healthz, release info, and keeps files on the shared data dir", async () => {
    requireTools(TOOLS.gunicorn);
    await requirePythonModules("flask");
    const data = join(scratch.dir, "shop-data");
    const shop = await serveApp(SHOP, "shop.app:app", { SHOP_DATA_DIR: data, FAWKES_RELEASE: "r-test" }, "/healthz");
    try {
      const health = await tryFetch(`${shop.url}/healthz`);
      expect(await health?.text()).toBe("ok\n");
      const index = await tryFetch(`${shop.url}/`);
      expect(await index?.json()).toMatchObject({ app: "shop", release: "r-test", data_dir: data });
      const put = await tryFetch(`${shop.url}/files/greeting.txt`, { method: "PUT", body: "hello from a host" });
      expect(put?.status).toBe(201);
      expect(readFileSync(join(data, "files/greeting.txt"), "utf8")).toBe("hello from a host");
      expect(await (await tryFetch(`${shop.url}/files/greeting.txt`))?.text()).toBe("hello from a host");
      expect((await tryFetch(`${shop.url}/files/..secret`))?.status).toBe(400);
      expect((await tryFetch(`${shop.url}/files/missing`))?.status).toBe(404);
    } finally {
      expect(await shop.stop(), shop.output()).toBe(0);
    }
  });

  test("the worker processes queued orders and exits 0 on SIGTERM", async () => {
    requireTools(TOOLS.gunicorn, TOOLS.python3);
    await requirePythonModules("flask");
    const data = join(scratch.dir, "shop-queue");
    const env = { SHOP_DATA_DIR: data, FAWKES_RELEASE: "r-test" };
    const shop = await serveApp(SHOP, "shop.app:app", env, "/healthz");
    const worker = execa(TOOLS.python3.path, ["-m", "shop.worker"], {
      cwd: SHOP, env: { ...BASE_ENV, ...env, SHOP_WORKER_INTERVAL: "0.2" }, extendEnv: false, reject: false, all: true, stdin: "ignore", timeout: 30_000,
    });
    try {
      const queued = await tryFetch(`${shop.url}/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sku: "tea", quantity: 2 }) });
      expect(queued?.status).toBe(202);
      const { id } = (await queued?.json()) as { id: string };
      let status = "";
      for (let i = 0; i < 40 && status !== "done"; i++) {
        await new Promise((r) => setTimeout(r, 250));
        status = ((await (await tryFetch(`${shop.url}/orders/${id}`))?.json()) as { status: string }).status;
      }
      expect(status).toBe("done");
      const done = JSON.parse(readFileSync(join(data, "queue/done", `${id}.json`), "utf8")) as Record<string, unknown>;
      expect(done).toMatchObject({ id, sku: "tea", quantity: 2 });
    } finally {
      worker.kill("SIGTERM");
      const w = await worker;
      expect(w.exitCode, w.all).toBe(0);
      expect(w.all).toContain("stopping");
      expect(await shop.stop(), shop.output()).toBe(0);
    }
  });
});

describe("examples/django-blog", () => {
  test("migrates, collects static files, and serves /healthz/ and a post count", async () => {
    requireTools(TOOLS.gunicorn, TOOLS.python3);
    await requirePythonModules("django");
    const dir = join(scratch.dir, "blog");
    mkdirSync(join(dir, "db"), { recursive: true });
    // DJANGO_SETTINGS_MODULE as the catalogue sets it; db/static/media in the temp dir.
    const env = {
      DJANGO_SETTINGS_MODULE: "blog.settings", DJANGO_SECRET_KEY: "validator-dummy-key", FAWKES_RELEASE: "r-test",
      BLOG_DB_DIR: join(dir, "db"), BLOG_STATIC_ROOT: join(dir, "staticfiles"), BLOG_MEDIA_ROOT: join(dir, "media"),
    };
    const manage = (...args: string[]) => run([TOOLS.python3.path, "manage.py", ...args], { timeoutMs: 30_000, cwd: BLOG, env: { ...BASE_ENV, ...env } });
    expectSuccess(await manage("migrate", "--noinput"), "manage.py migrate");
    expectSuccess(await manage("collectstatic", "--noinput"), "manage.py collectstatic");
    expect(existsSync(join(dir, "staticfiles/posts/site.css"))).toBe(true);
    expectSuccess(await manage("makemigrations", "--check", "--dry-run"), "the models match the migrations (makemigrations --check)");
    expectSuccess(await manage("shell", "-c", "from posts.models import Post; Post.objects.create(title='Hello', slug='hello')"), "create a post");

    const blog = await serveApp(BLOG, "blog.wsgi:application", env, "/healthz/");
    try {
      expect(await (await tryFetch(`${blog.url}/healthz/`))?.text()).toBe("ok\n");
      expect(await (await tryFetch(`${blog.url}/`))?.json()).toEqual({ app: "blog", release: "r-test", posts: 1 });
    } finally {
      expect(await blog.stop(), blog.output()).toBe(0);
    }
  });

  test("refuses to start without DJANGO_SECRET_KEY unless DJANGO_DEBUG=1", async () => {
    requireTools(TOOLS.python3);
    await requirePythonModules("django");
    const check = (env: Record<string, string>) => run([TOOLS.python3.path, "manage.py", "check"], { timeoutMs: 30_000, cwd: BLOG, env: { ...BASE_ENV, ...env } });
    const refused = await check({});
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).toContain("DJANGO_SECRET_KEY is not set");
    expectSuccess(await check({ DJANGO_DEBUG: "1" }), "manage.py check with DJANGO_DEBUG=1");
  });
});

test("the sample apps leave nothing in the repository", () => {
  const written = ["flask-shop/shared", "django-blog/db", "django-blog/staticfiles", "django-blog/media"].filter((p) => existsSync(join(ROOT, "examples", p)));
  expect(written).toEqual([]);
});
