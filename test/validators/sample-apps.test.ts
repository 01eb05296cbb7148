// The sample apps of the catalogue import and serve with Debian's python3 and gunicorn: the shop
// keeps files and queues orders on its shared data dir and its worker drains the queue and stops
// cleanly on SIGTERM; the blog migrates, collects static files and counts posts in its sqlite DB,
// and with DATABASE_URL does the same in a real, throwaway PostgreSQL cluster.
// The blog's ALLOWED_HOSTS are the FAWKES_HOSTS a host gives it (the names, then the host's address:
// 127.0.0.1 here), DJANGO_ALLOWED_HOSTS overriding them.
// Everything they write goes to a temp dir (env vars), so the repository stays clean.
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, test } from "vitest";
import { httpStatus } from "../../src/local/health.ts";
import { ROOT, scratchDir } from "../helpers/rendered-hosts.ts";
import { freePort, serveApp, tryFetch } from "../helpers/serve.ts";
import { BASE_ENV, TOOLS, expectSuccess, requirePythonModules, requireTools, run } from "../helpers/tools.ts";

const SHOP = join(ROOT, "examples/flask-shop");
const BLOG = join(ROOT, "examples/django-blog");
const scratch = scratchDir("sample-apps");
/** As on a host: the blog's names in its stack, then the host's address (127.0.0.1 here, where the tests ask). */
const BLOG_HOSTS = "blog.dev.fawkes.test,www.dev.fawkes.test,blog.dev.localhost,www.dev.localhost,127.0.0.1";
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
      DJANGO_SETTINGS_MODULE: "blog.settings", DJANGO_SECRET_KEY: "validator-dummy-key", FAWKES_RELEASE: "r-test", FAWKES_HOSTS: BLOG_HOSTS,
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
      expect(await (await tryFetch(`${blog.url}/`))?.json()).toEqual({ app: "blog", release: "r-test", posts: 1, database: "sqlite" });
    } finally {
      expect(await blog.stop(), blog.output()).toBe(0);
    }
  });

  test("with DEBUG off, answers a Host of FAWKES_HOSTS and refuses (400) any other; DJANGO_ALLOWED_HOSTS overrides FAWKES_HOSTS", async () => {
    requireTools(TOOLS.gunicorn, TOOLS.python3);
    await requirePythonModules("django");
    const dir = join(scratch.dir, "blog-hosts");
    const env = {
      DJANGO_SETTINGS_MODULE: "blog.settings", DJANGO_SECRET_KEY: "validator-dummy-key", FAWKES_HOSTS: BLOG_HOSTS,
      BLOG_DB_DIR: join(dir, "db"), BLOG_STATIC_ROOT: join(dir, "staticfiles"), BLOG_MEDIA_ROOT: join(dir, "media"),
    };
    const status = (url: string, host: string) => httpStatus("127.0.0.1", Number(new URL(url).port), "/healthz/", host, 2000).then((r) => r.status);
    const blog = await serveApp(BLOG, "blog.wsgi:application", env, "/healthz/");
    try {
      for (const host of BLOG_HOSTS.split(",")) expect(await status(blog.url, host), host).toBe(200);
      expect(await status(blog.url, "blog.dev.fawkes.test:8002")).toBe(200);
      for (const host of ["evil.test", "blog.staging.fawkes.test", "10.0.0.9"]) expect(await status(blog.url, host), host).toBe(400);
    } finally {
      expect(await blog.stop(), blog.output()).toBe(0);
    }
    const only = await serveApp(BLOG, "blog.wsgi:application", { ...env, DJANGO_ALLOWED_HOSTS: "127.0.0.1,only.example" }, "/healthz/");
    try {
      expect(await status(only.url, "only.example")).toBe(200);
      expect(await status(only.url, "blog.dev.fawkes.test")).toBe(400);
    } finally {
      expect(await only.stop(), only.output()).toBe(0);
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

  test("with DATABASE_URL, migrates, writes and counts posts in a real PostgreSQL", async (ctx) => {
    const missing = await postgresMissing();
    if (missing) {
      // CI installs scripts/debian-packages.txt and runs as root: there a missing piece is a failure.
      if (process.env.CI) throw new Error(`the PostgreSQL case cannot run: ${missing}`);
      ctx.skip(`the PostgreSQL case cannot run: ${missing}`);
    }
    requireTools(TOOLS.gunicorn);
    pg = await startCluster();
    const user = "blog app";
    const password = "p@ss:w/rd?#%&'é 1+";
    expectSuccess(await pg.sql(`CREATE ROLE :"user" LOGIN PASSWORD :'password'; CREATE DATABASE blog OWNER :"user";`, { user, password }), "create the blog's role and database");

    const dir = join(scratch.dir, "blog-pg");
    const env = {
      DJANGO_SETTINGS_MODULE: "blog.settings", DJANGO_SECRET_KEY: "validator-dummy-key", FAWKES_RELEASE: "r-pg", FAWKES_HOSTS: BLOG_HOSTS,
      DATABASE_URL: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${pg.port}/blog`,
      // A dir that does not exist: sqlite would fail to open its file there, so only PostgreSQL can serve.
      BLOG_DB_DIR: join(dir, "no-sqlite"), BLOG_STATIC_ROOT: join(dir, "staticfiles"), BLOG_MEDIA_ROOT: join(dir, "media"),
    };
    const manage = (...args: string[]) => run([TOOLS.python3.path, "manage.py", ...args], { timeoutMs: 30_000, cwd: BLOG, env: { ...BASE_ENV, ...env } });
    expectSuccess(await manage("migrate", "--noinput"), "manage.py migrate on PostgreSQL");
    expectSuccess(await manage("makemigrations", "--check", "--dry-run"), "the models match the migrations on PostgreSQL");

    const blog = await serveApp(BLOG, "blog.wsgi:application", env, "/healthz/");
    try {
      const first = await tryFetch(`${blog.url}/posts/`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ title: "Hello, Postgres!", body: "first" }) });
      expect(first?.status, blog.output()).toBe(201);
      expect(await first?.json()).toMatchObject({ slug: "hello-postgres", title: "Hello, Postgres!" });
      const second = await tryFetch(`${blog.url}/posts/`, { method: "POST", body: new URLSearchParams({ title: "Hello, Postgres!", body: "second" }) });
      expect(second?.status, blog.output()).toBe(201);
      expect(await second?.json()).toMatchObject({ slug: "hello-postgres-2" });
      expect((await tryFetch(`${blog.url}/posts/`, { method: "POST", body: new URLSearchParams({ body: "no title" }) }))?.status).toBe(400);

      expect(await (await tryFetch(`${blog.url}/`))?.json()).toEqual({ app: "blog", release: "r-pg", posts: 2, database: "postgresql" });
      const list = (await (await tryFetch(`${blog.url}/posts/`))?.json()) as Array<Record<string, unknown>>;
      expect(list.map(({ slug, title, body }) => ({ slug, title, body }))).toEqual([
        { slug: "hello-postgres-2", title: "Hello, Postgres!", body: "second" },
        { slug: "hello-postgres", title: "Hello, Postgres!", body: "first" },
      ]);
      expect(Object.keys(list[0]!).sort()).toEqual(["body", "id", "slug", "title"]);
    } finally {
      expect(await blog.stop(), blog.output()).toBe(0);
    }
    const rows = await pg.sql("SELECT string_agg(slug, ',' ORDER BY id) FROM posts_post;", {}, "blog");
    expectSuccess(rows, "read the posts back with psql");
    expect(rows.stdout.trim()).toBe("hello-postgres,hello-postgres-2");
    expect(existsSync(join(dir, "no-sqlite"))).toBe(false);
  });

  test("a malformed DATABASE_URL stops the blog with a RuntimeError that names the variable, never the password", async () => {
    requireTools(TOOLS.python3);
    await requirePythonModules("django");
    const check = async (url: string) => {
      const r = await run([TOOLS.python3.path, "manage.py", "check"], { timeoutMs: 30_000, cwd: BLOG, env: { ...BASE_ENV, DJANGO_DEBUG: "1", DATABASE_URL: url } });
      expect(r.exitCode, r.output).not.toBe(0);
      expect(r.output).toContain("RuntimeError: DATABASE_URL ");
      expect(r.output).not.toContain("s3cret");
      return r.output;
    };
    expect(await check("mysql://blog:s3cret@db:3306/blog")).toContain("DATABASE_URL must start with postgres:// or postgresql://, not mysql://");
    expect(await check("postgres://blog:s3cret@db:5432/")).toContain("DATABASE_URL names no database");
    expect(await check("postgres://blog:s3cret@db:5432")).toContain("DATABASE_URL names no database");
    // An unencoded "/" in the password ends the host part early: "s3cret" would be read as the port.
    expect(await check("postgres://blog:s3cret/x@db:5432/blog")).toContain("DATABASE_URL is malformed");
  });
});

/** A throwaway PostgreSQL cluster: its own data dir and port, run as the postgres user (the server refuses root). */
interface Cluster {
  port: number;
  /** Runs SQL with psql as the cluster's superuser; `vars` become psql variables (:'name' quotes a literal, :"name" an identifier). */
  sql(text: string, vars?: Record<string, string>, db?: string): ReturnType<typeof run>;
  stop(): Promise<void>;
}

let pg: Cluster | undefined;
afterAll(async () => pg?.stop());

const RUNUSER = "/usr/sbin/runuser";

/** The newest /usr/lib/postgresql/<version>/bin with the server programs, if any. */
function postgresBin(): string | undefined {
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((bin) => ["initdb", "pg_ctl", "postgres", "psql"].every((p) => existsSync(join(bin, p))));
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/** Why the PostgreSQL case cannot run here, or undefined when it can. */
async function postgresMissing(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "it runs the server as the postgres user through runuser, which needs root (run the validators as root, as CI does)";
  if (!postgresBin() || !postgresUser() || !existsSync(RUNUSER)) return "PostgreSQL's server programs or the postgres user are missing: apt-get install postgresql (scripts/debian-packages.txt)";
  const r = await run([TOOLS.python3.path, "-c", "import django, psycopg2"], { timeoutMs: 15_000 });
  if (r.exitCode !== 0) return `${TOOLS.python3.path} cannot import django and psycopg2: apt-get install python3-django python3-psycopg2 (scripts/debian-packages.txt)`;
  return undefined;
}

async function startCluster(): Promise<Cluster> {
  const bin = postgresBin()!;
  const owner = postgresUser()!;
  // Not under the scratch dir: that one is root's 0700, and the server runs as postgres.
  const root = mkdtempSync(join(tmpdir(), "fawkes-postgres-"));
  const [data, socket, secret] = [join(root, "data"), join(root, "socket"), join(root, "superuser-password")];
  const superPassword = "validator-superuser";
  mkdirSync(socket);
  writeFileSync(secret, `${superPassword}\n`, { mode: 0o600 });
  for (const p of [root, socket, secret]) chownSync(p, owner.uid, owner.gid);
  const asPostgres = (...argv: string[]) => [RUNUSER, "-u", "postgres", "--", ...argv];
  const port = await freePort();
  const stop = async () => {
    await run(asPostgres(join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "-t", "20", "stop"), { timeoutMs: 30_000 });
    // pg_ctl gave up or timed out: the postmaster's pid is the first line of postmaster.pid.
    const pidFile = join(data, "postmaster.pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : 0;
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // Passwords on the socket too: the blog (as root) logs in as its own role, like on a host.
    expectSuccess(await run(asPostgres(join(bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", secret, "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"), { timeoutMs: 60_000 }), "initdb");
    const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${socket} -c fsync=off`;
    expectSuccess(await run(asPostgres(join(bin, "pg_ctl"), "-D", data, "-l", join(root, "server.log"), "-o", options, "-w", "-t", "30", "start"), { timeoutMs: 45_000 }), "pg_ctl start");
  } catch (e) {
    const log = existsSync(join(root, "server.log")) ? readFileSync(join(root, "server.log"), "utf8") : "";
    await stop();
    throw new Error(`${(e as Error).message}\n${log}`, { cause: e });
  }
  return {
    port,
    sql: (text, vars = {}, db = "postgres") => {
      const file = join(root, "script.sql");
      writeFileSync(file, `${text}\n`);
      const v = Object.entries(vars).flatMap(([k, value]) => ["-v", `${k}=${value}`]);
      return run([join(bin, "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", db, ...v, "-f", file], {
        timeoutMs: 30_000, env: { ...BASE_ENV, PGPASSWORD: superPassword },
      });
    },
    stop,
  };
}

test("the sample apps leave nothing in the repository", () => {
  const written = ["flask-shop/shared", "django-blog/db", "django-blog/staticfiles", "django-blog/media"].filter((p) => existsSync(join(ROOT, "examples", p)));
  expect(written).toEqual([]);
});
