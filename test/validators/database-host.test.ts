// The local db host of every stack with a database, checked by the real tools: cloud-init's schema,
// shellcheck over its bootstrap, and the image's PostgreSQL itself reading the rendered postgresql.conf.
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { DATABASE_MAJOR_VERSION } from "../../src/model/index.ts";
import { cloudInitSchema } from "../helpers/checks/cloud-init.ts";
import { shellcheck, shellFiles } from "../helpers/checks/shellcheck.ts";
import { goldenImage, inImageRoot } from "../helpers/image-root.ts";
import { BASE_ENV, run } from "../helpers/tools.ts";
import { renderAllStacks, renderDatabaseHosts, scratchDir } from "../helpers/rendered-hosts.ts";

const stacks = renderAllStacks();
const hosts = renderDatabaseHosts(stacks);
const scratch = scratchDir("database-host");
afterAll(() => scratch.remove());
const POSTGRES = `/usr/lib/postgresql/${DATABASE_MAJOR_VERSION}/bin/postgres`;

describe("the local db host", () => {
  test("exists for every stack with a database (the blog has one in every stack)", () => {
    expect(hosts.map((h) => h.label).sort()).toEqual(stacks.map((s) => `${s.stack}/db`).sort());
  });

  for (const host of hosts) {
    test(`${host.label}: \`cloud-init schema\` says the user-data is valid`, async () => {
      expect(await cloudInitSchema(host, scratch.sub(host.label))).toEqual([]);
    });

    test(`${host.label}: shellcheck finds nothing in its bootstrap and runcmd`, async () => {
      expect(shellFiles(host)).toEqual(["/usr/local/sbin/fawkes-db-bootstrap"]);
      expect(await shellcheck(host, scratch.sub(host.label))).toEqual([]);
    });

    test(`${host.label}: PostgreSQL ${DATABASE_MAJOR_VERSION} reads the rendered postgresql.conf and finds the settings fawkes relies on`, async () => {
      if (process.getuid?.() !== 0) throw new Error("this check runs postgres as the postgres user and needs root (CI runs as root)");
      const image = await goldenImage();
      const [, , uid, gid] = readFileSync(join(image.rootfs, "etc/passwd"), "utf8").split("\n").find((l) => l.startsWith("postgres:"))?.split(":") ?? [];
      if (uid === undefined || gid === undefined) throw new Error(`the golden image ${image.hash} has no postgres user: add postgresql to image/recipe.yaml`);
      const conf = host.image.files.find((f) => f.path.endsWith("/postgresql.conf"))!;
      const dir = scratch.sub(`${host.label}-pg`);
      chmodSync(scratch.dir, 0o755);
      chmodSync(dir, 0o755);
      const data = join(dir, "data");
      mkdirSync(data, { mode: 0o700 });
      // The host's data dir is a mount; here a temp dir, owned by postgres, stands in for it.
      const file = join(dir, "postgresql.conf");
      writeFileSync(file, conf.content.replace(/^data_directory = .*$/m, `data_directory = '${data}'`), { mode: 0o644 });
      chownSync(data, Number(uid), Number(gid));
      const show = (name: string) => run(inImageRoot(image, join(dir, `image-${name}`), [dir], ["runuser", "-u", "postgres", "--", POSTGRES, `--config-file=${file}`, "-C", name]), { timeoutMs: 30_000, env: BASE_ENV });
      for (const [name, want] of [["listen_addresses", "*"], ["password_encryption", "scram-sha-256"], ["log_min_error_statement", "panic"], ["port", "5432"]] as const) {
        const r = await show(name);
        expect(r.exitCode, r.output).toBe(0);
        expect(r.stdout.trim()).toBe(want);
      }
    });
  }
});
