// A fawkes project of its own for rollout tests and benchmarks: this repository's committed
// files as a git repository (same trees, so the same release ids), plus a commit with v2 of both
// apps (the blog's v2 adds a migration that records each of its runs in the database), and on
// branches from v1 a broken blog (its health check answers 500) and a blog whose migration
// fails. Every release is built into the store.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchProject } from "./scratch-project.ts";

export interface RolloutProject {
  root: string;
  ids: { shop1: string; shop2: string; blog1: string; blog2: string; blogBroken: string; blogBadHook: string };
  /** Runs the fawkes CLI in the project, in this process. */
  fawkes(...argv: string[]): Promise<{ code: number; out: string; err: string }>;
  /** Writes stacks/Pulumi.<stack>.yaml: v1 pinned, the given fleet and rollout knobs. */
  writeStack(stack: string, fleet: { web: number; worker: number }, rollout: Record<string, number>): void;
  remove(): void;
}


export const MIGRATION_0002 = `import socket
import time

from django.db import migrations


def record_run(apps, schema_editor):
    with schema_editor.connection.cursor() as c:
        c.execute("CREATE TABLE IF NOT EXISTS fawkes_migration_runs (host TEXT, at DOUBLE PRECISION)")
        c.execute("INSERT INTO fawkes_migration_runs VALUES (%s, %s)", [socket.gethostname(), time.time()])


class Migration(migrations.Migration):
    dependencies = [("posts", "0001_initial")]
    operations = [migrations.RunPython(record_run, migrations.RunPython.noop)]
`;

export const MIGRATION_FAILS = `from django.db import migrations


def fail(apps, schema_editor):
    raise RuntimeError("this migration fails on purpose")


class Migration(migrations.Migration):
    dependencies = [("posts", "0001_initial")]
    operations = [migrations.RunPython(fail, migrations.RunPython.noop)]
`;

export async function makeRolloutProject(): Promise<RolloutProject> {
  const { root, git, fawkes, buildAt, remove: removeRoot } = await scratchProject("rollout");
  const edit = (path: string, f: (s: string) => string) => writeFileSync(join(root, path), f(readFileSync(join(root, path), "utf8")));
  try {
    const v1 = await git("rev-parse", "HEAD");
    // Broken: v1 whose blog health check answers 500 (on a branch: it never had v2's migration).
    await git("checkout", "-q", "-b", "broken");
    edit("examples/django-blog/blog/views.py", (s) => s.replace('return HttpResponse("ok\\n", content_type="text/plain")', 'return HttpResponse("broken\\n", content_type="text/plain", status=500)'));
    await git("commit", "-q", "-am", "broken blog");
    const broken = await git("rev-parse", "HEAD");
    await git("checkout", "-q", v1);
    // Bad hook: v1 plus a migration that raises (on another branch).
    writeFileSync(join(root, "examples/django-blog/posts/migrations/0002_fails.py"), MIGRATION_FAILS);
    await git("add", "-A");
    await git("commit", "-q", "-m", "a migration that fails");
    const badHook = await git("rev-parse", "HEAD");
    await git("checkout", "-q", "master");
    edit("examples/flask-shop/shop/app.py", (s) => `${s}\n# v2 of the shop\n`);
    writeFileSync(join(root, "examples/django-blog/posts/migrations/0002_release_runs.py"), MIGRATION_0002);
    await git("add", "-A");
    await git("commit", "-q", "-m", "v2");
    const v2 = await git("rev-parse", "HEAD");
    const ids = { shop1: await buildAt("shop", v1), blog1: await buildAt("blog", v1), shop2: await buildAt("shop", v2), blog2: await buildAt("blog", v2), blogBroken: await buildAt("blog", broken), blogBadHook: await buildAt("blog", badHook) };
    if (new Set(Object.values(ids)).size !== 6) throw new Error(`expected 6 different releases, got ${JSON.stringify(ids)}`);
    const writeStack = (stack: string, fleet: { web: number; worker: number }, rollout: Record<string, number>) =>
      writeFileSync(
        join(root, "stacks", `Pulumi.${stack}.yaml`),
        `# ${stack}: a stack of the rollout tests. Only knobs.
config:
  aws:region: eu-west-1
  fawkes:domain: ${stack}.fawkes.test
  fawkes:fleet:
    web: { min: ${fleet.web}, max: ${fleet.web * 2}, desired: ${fleet.web} }
    worker: { min: ${fleet.worker}, max: ${Math.max(1, fleet.worker * 2)}, desired: ${fleet.worker} }
  fawkes:releases:
    shop: ${ids.shop1}
    blog: ${ids.blog1}
  fawkes:rollout:
${Object.entries(rollout)
  .map(([k, v]) => `    ${k}: ${v}`)
  .join("\n")}
`,
      );
    return { root, ids, fawkes, writeStack, remove: removeRoot };
  } catch (e) {
    removeRoot();
    throw e;
  }
}
