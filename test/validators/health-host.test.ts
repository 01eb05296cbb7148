// The health path asked as the ALB asks it (Host = the host's address and port) reaches the stock
// Django blog under its own name: the image's nginx with the blog's rendered site in front of
// Debian's gunicorn serving examples/django-blog, its ALLOWED_HOSTS the FAWKES_HOSTS it gets on a
// host (the rendered names, then the host's address, as fawkes-exec appends it), DEBUG off. The site
// is moved only where a test must: its port to 127.0.0.1:<free>, gunicorn's socket and the logs into
// a temp dir; every location and header is as rendered.
import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, describe, expect, test } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { httpStatus } from "../../src/local/health.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { appEnvironment, nginxSiteFile } from "../../src/render/app-files.ts";
import { goldenImage, inImageRoot, requireImageTools } from "../helpers/image-root.ts";
import { ROOT, scratchDir } from "../helpers/rendered-hosts.ts";
import { freePort } from "../helpers/serve.ts";
import { BASE_ENV, TOOLS, expectSuccess, requirePythonModules, requireTools, run } from "../helpers/tools.ts";

const scratch = scratchDir("health-host");

/** GET straight to gunicorn's unix socket with a Host of our choice: its status. */
function statusViaSocket(socketPath: string, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, headers: { Host: host }, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}
afterAll(() => scratch.remove());

describe("the health path, asked by address", () => {
  test("the Django blog answers it 200 under its name, accepts every FAWKES_HOSTS name and the host's address, and refuses any other Host (400)", async () => {
    requireTools(TOOLS.gunicorn, TOOLS.python3);
    await requirePythonModules("django");
    const image = await goldenImage();
    requireImageTools(image, TOOLS.nginx);
    const dev = loadStack(ROOT, "dev");
    const host = planEnvironment(dev).hosts.find((h) => h.role === "web")!;
    const blog = host.apps.find((a) => a.name === "blog")!;
    // The catalogue leaves the blog's ALLOWED_HOSTS to FAWKES_HOSTS: no override.
    expect(blog.env.DJANGO_ALLOWED_HOSTS).toBeUndefined();
    const rendered = Object.fromEntries(appEnvironment(host, blog).map((v) => [v.name, v.value]));
    const hostAddress = "10.231.7.11";

    const dir = scratch.dir;
    const sock = join(dir, "gunicorn.sock");
    const port = await freePort();
    const site = nginxSiteFile(host, blog)!.content
      .replace(`unix:${blog.gunicorn!.socket}`, `unix:${sock}`)
      .replace(new RegExp(`^(\\s*)listen ${blog.port};$`, "m"), `$1listen 127.0.0.1:${port};`)
      .replaceAll(`${blog.paths.logs}/nginx-access.log`, `${dir}/access.log`)
      .replaceAll(`${blog.paths.logs}/nginx-error.log`, `${dir}/error.log`);
    expect(site).toContain(`listen 127.0.0.1:${port};`);
    writeFileSync(join(dir, "blog.conf"), site);
    writeFileSync(join(dir, "nginx.conf"), [`user root;`, `pid ${dir}/nginx.pid;`, `error_log ${dir}/nginx-error.log;`, "events {}", "http {", "    include /etc/nginx/mime.types;", `    include ${dir}/blog.conf;`, "}", ""].join("\n"));

    const env = {
      ...BASE_ENV, ...rendered, FAWKES_HOSTS: `${rendered.FAWKES_HOSTS},${hostAddress}`, DJANGO_SECRET_KEY: "validator-dummy-key",
      BLOG_DB_DIR: join(dir, "db"), BLOG_STATIC_ROOT: join(dir, "static"), BLOG_MEDIA_ROOT: join(dir, "media"),
    };
    mkdirSync(join(dir, "db"));
    const source = join(ROOT, "examples/django-blog");
    expectSuccess(await run([TOOLS.python3.path, "manage.py", "migrate", "--noinput"], { timeoutMs: 30_000, cwd: source, env }), "manage.py migrate");
    const gunicorn = execa(TOOLS.gunicorn.path, ["--chdir", source, "--bind", `unix:${sock}`, "--workers", "1", "--graceful-timeout", "5", "blog.wsgi:application"], { env, extendEnv: false, reject: false, all: true, stdin: "ignore", timeout: 60_000 });
    const [cmd, ...args] = inImageRoot(image, join(dir, "image"), [dir], [TOOLS.nginx.path, "-c", join(dir, "nginx.conf"), "-p", `${dir}/`, "-e", join(dir, "nginx-error.log"), "-g", "daemon off;"]);
    const nginx = execa(cmd!, args, { reject: false, all: true, stdin: "ignore", timeout: 60_000 });
    try {
      const address = `${hostAddress}:${blog.port}`;
      let health = { status: 0, body: "" };
      for (let i = 0; i < 100 && health.status !== 200; i++) {
        await sleep(100);
        health = await httpStatus("127.0.0.1", port, blog.health.path, address, 2000);
      }
      expect(health, `${nginx.all ?? ""}\n${gunicorn.all ?? ""}`).toEqual({ status: 200, body: "ok\n" });
      // Another host's address is not this one's: Django refuses it, and nginx's health location
      // still answers (it asks under the app's first name, whatever Host the checker sent).
      const stranger = `10.231.7.99:${blog.port}`;
      expect(await statusViaSocket(sock, blog.health.path, stranger)).toBe(400);
      expect((await httpStatus("127.0.0.1", port, blog.health.path, stranger, 2000)).status).toBe(200);
      // Every name of FAWKES_HOSTS, the host's own address among them, on any path: DEBUG is off.
      expect(rendered.FAWKES_HOSTS!.split(",")).toEqual([...blog.hostnames, ...blog.localHostnames]);
      for (const name of [...blog.hostnames, ...blog.localHostnames, address]) {
        expect((await httpStatus("127.0.0.1", port, "/", name, 2000)).status, name).toBe(200);
        expect(await statusViaSocket(sock, blog.health.path, name), name).toBe(200);
      }
      // Any other Host: 400, through nginx and from Django itself.
      for (const name of [stranger, "blog.evil.test", `blog.${dev.stack}.localhost.evil.test`]) {
        expect((await httpStatus("127.0.0.1", port, "/", name, 2000)).status, name).toBe(400);
        expect(await statusViaSocket(sock, "/", name), name).toBe(400);
      }
    } finally {
      nginx.kill("SIGTERM");
      gunicorn.kill("SIGTERM");
      await Promise.all([nginx, gunicorn]);
    }
  });
});
