// The environment's PostgreSQL end to end, as root, on a stack `dbt` of a project of its own
// (this repository's files, plus a commit whose blog release carries a destructive migration):
// the Django sample migrates against the db host and serves from PostgreSQL; the db host's data
// survives a rebuild of the web hosts; the release with the bad migration is undone by restoring
// the dump its host took before the hooks; backup, destroy, up again, restore brings data back.
import { request } from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { envLayout, localDown, localUp } from "../../src/local/index.ts";
import { readState } from "../../src/local/state.ts";
import { appSql } from "../helpers/app-database.ts";
import { scratchProject, type ScratchProject } from "../helpers/scratch-project.ts";
import { downAfterAll, requireRoot } from "./machine.ts";

const STACK = "dbt";
let project: ScratchProject | undefined;
const ids = { shop: "", v1: "", v2: "" };

/** A data migration that deletes every post: the kind of mistake a backup before the hooks undoes. */
const DESTRUCTIVE = `from django.db import migrations


class Migration(migrations.Migration):
    """Deletes every post (on purpose: the database end-to-end test undoes it from a backup)."""

    dependencies = [("posts", "0001_initial")]
    operations = [migrations.RunSQL("DELETE FROM posts_post", reverse_sql=migrations.RunSQL.noop)]
`;

function writeStack(blog: string): void {
  writeFileSync(
    join(project!.root, "stacks", `Pulumi.${STACK}.yaml`),
    `# ${STACK}: the database end-to-end stack. Only knobs.
config:
  aws:region: eu-west-1
  fawkes:domain: ${STACK}.fawkes.test
  fawkes:fleet:
    web: { min: 1, max: 2, desired: 1 }
    worker: { min: 0, max: 1, desired: 0 }
  fawkes:releases:
    shop: ${ids.shop}
    blog: ${blog}
  fawkes:rollout:
    canaryPercent: 100
    batchPercent: 100
    warmupSeconds: 1
    checkpointDelaySeconds: 0
`,
  );
}

function http(method: string, app: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  const port = readState(envLayout(STACK).state)!.port;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: `${app}.${STACK}.localhost` };
    if (body !== undefined) headers["Content-Type"] = method === "POST" ? "application/x-www-form-urlencoded" : "application/octet-stream";
    const req = request({ host: "127.0.0.1", port, path, method, headers, timeout: 10_000 }, (res) => {
      let b = "";
      res.on("data", (d) => (b += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function titles(): Promise<string[]> {
  const r = await http("GET", "blog", "/posts/");
  expect(r.status, r.body).toBe(200);
  return (JSON.parse(r.body) as Array<{ title: string }>).map((p) => p.title).sort();
}

async function post(title: string): Promise<void> {
  const r = await http("POST", "blog", "/posts/", `title=${encodeURIComponent(title)}`);
  expect(r.status, r.body).toBe(201);
}

async function fawkes(...argv: string[]): Promise<string> {
  const r = await project!.fawkes(...argv);
  expect(r.code, `fawkes ${argv.join(" ")}\n${r.err}\n${r.out}`).toBe(0);
  return r.out;
}

/** SQL on the db host as the server's own user, in the blog's database. */
const onDb = (sql: string) => appSql(STACK, "blog", sql);

interface Listed {
  id: string;
  manifest?: { kind: string; apps: Record<string, { release: string; database?: { file: string }; shared?: { file: string } }> };
}

beforeAll(async () => {
  requireRoot();
  await localDown(envLayout(STACK));
  project = await scratchProject("database");
  const v1 = await project.git("rev-parse", "HEAD");
  mkdirSync(join(project.root, "examples/django-blog/posts/migrations"), { recursive: true });
  writeFileSync(join(project.root, "examples/django-blog/posts/migrations/0002_delete_every_post.py"), DESTRUCTIVE);
  await project.git("add", "-A");
  await project.git("commit", "-q", "-m", "blog: a migration that deletes every post");
  const v2 = await project.git("rev-parse", "HEAD");
  ids.shop = await project.buildAt("shop", v1);
  ids.v1 = await project.buildAt("blog", v1);
  ids.v2 = await project.buildAt("blog", v2);
  writeStack(ids.v1);
  const up = await localUp(loadStack(project.root, STACK), { progress: () => {} });
  expect(up.failed).toEqual([]);
}, 900_000);

downAfterAll(STACK, () => project);

describe.sequential("the environment's PostgreSQL on the local target", () => {
  it("the Django sample migrated against the db host and serves its data from PostgreSQL", async () => {
    const index = JSON.parse((await http("GET", "blog", "/")).body) as { database: string; posts: number; release: string };
    expect(index).toMatchObject({ database: "postgresql", posts: 0, release: ids.v1 });
    for (const t of ["first", "second", "third"]) await post(t);
    expect(await titles()).toEqual(["first", "second", "third"]);
    // On the db host itself: the release hook's migration made the table, owned by the app's role.
    expect(await onDb("SELECT count(*) FROM posts_post")).toBe("3");
    expect(await onDb("SELECT tableowner FROM pg_tables WHERE tablename = 'posts_post'")).toBe("blog");
    expect(await onDb("SELECT name FROM django_migrations WHERE app = 'posts' ORDER BY name")).toBe("0001_initial");
    // The app's own role, no more: not a superuser, cannot make roles or databases.
    expect(await onDb("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'blog'")).toBe("f|f|f");
  });

  it("the db host's data survives a rebuild of the web hosts, and the db host is not touched", async () => {
    const before = readState(envLayout(STACK).state)!;
    const dbInit = before.database!.init;
    const webBefore = Object.keys(before.hosts).filter((n) => before.hosts[n]!.role === "web");
    await fawkes("local", "rebuild", "--all", "--stack", STACK);
    const after = readState(envLayout(STACK).state)!;
    const webAfter = Object.keys(after.hosts).filter((n) => after.hosts[n]!.role === "web");
    expect(webAfter).toHaveLength(1);
    expect(webAfter).not.toEqual(webBefore);
    expect(after.database!.init).toBe(dbInit);
    expect(await titles()).toEqual(["first", "second", "third"]);
  });

  it("a release whose migration destroys data is undone by restoring the backup its host took before the hooks", async () => {
    await fawkes("release", "blog", ids.v2, "--stack", STACK);
    // The bad migration ran: every post is gone.
    expect(await titles()).toEqual([]);
    const listed = JSON.parse(await fawkes("backup", "list", "--stack", STACK, "--json")) as Listed[];
    const before = listed.find((b) => b.manifest?.kind === "pre-release" && b.manifest.apps.blog?.release === ids.v2);
    expect(before, JSON.stringify(listed)).toBeDefined();
    expect(before!.manifest!.apps.blog!.database!.file).toBe("blog.dump");
    const text = await fawkes("backup", "list", "--stack", STACK);
    expect(text).toContain(`${before!.id}  pre-release`);
    expect(text).toContain(`blog database before release ${ids.v2}`);

    await fawkes("backup", "restore", before!.id, "--stack", STACK);
    expect(await titles()).toEqual(["first", "second", "third"]);
    // The migration's record went with the data: back to the release before it.
    expect(await onDb("SELECT count(*) FROM django_migrations WHERE name = '0002_delete_every_post'")).toBe("0");
    await fawkes("rollback", "blog", "--stack", STACK);
    const index = JSON.parse((await http("GET", "blog", "/")).body) as { posts: number; release: string };
    expect(index).toMatchObject({ posts: 3, release: ids.v1 });
  });

  it("backup, destroy the environment, up again, restore: the data written before the backup is served", async () => {
    expect((await http("PUT", "shop", "/files/kept.txt", "kept by the backup\n")).status).toBe(201);
    const made = JSON.parse(await fawkes("backup", "create", "--stack", STACK, "--json")) as NonNullable<Listed["manifest"]> & { id: string };
    expect(made.kind).toBe("manual");
    expect(Object.keys(made.apps).sort()).toEqual(["blog", "shop"]);
    expect(made.apps.blog!.database).toBeDefined();
    expect(made.apps.shop!.shared).toBeDefined();
    // Written after the backup: the restore must not bring it.
    await post("after the backup");

    await fawkes("local", "down", "--stack", STACK);
    const up = await localUp(loadStack(project!.root, STACK), { progress: () => {} });
    expect(up.failed).toEqual([]);
    expect(await titles()).toEqual([]);
    expect((await http("GET", "shop", "/files/kept.txt")).status).toBe(404);

    await fawkes("backup", "restore", made.id, "--stack", STACK);
    expect(await titles()).toEqual(["first", "second", "third"]);
    const file = await http("GET", "shop", "/files/kept.txt");
    expect(file).toEqual({ status: 200, body: "kept by the backup\n" });
  });

  it("refuses to restore a damaged backup and leaves the data as it was", async () => {
    const listed = JSON.parse(await fawkes("backup", "list", "--stack", STACK, "--json")) as Listed[];
    const manual = listed.find((b) => b.manifest?.kind === "manual")!;
    writeFileSync(join(envLayout(STACK).backupsDir, manual.id, "blog.dump"), "not a dump\n");
    const r = await project!.fawkes("backup", "restore", manual.id, "--stack", STACK);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`backup ${manual.id}: blog.dump of blog does not match its sha256 in the manifest`);
    expect(await titles()).toEqual(["first", "second", "third"]);
  });
});
