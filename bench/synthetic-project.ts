import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { RECIPE_FILE } from "../src/config/index.ts";

export const BENCH_STACKS = ["dev", "qa", "staging", "production"] as const;

export interface SyntheticOptions {
  /** Write into this directory (Pulumi.yaml and stacks/) instead of a new temporary one. */
  dir?: string;
  /** The catalogue's gunicorn graceful timeout: a change that touches every app's files. */
  gracefulTimeoutSeconds?: number;
  /**
   * Apps without hooks, env, static or secrets, every other one a worker-only app: 20 apps then
   * fit EC2's 16 KiB user-data limit per role (20 full web apps on one role do not, and the
   * Pulumi program refuses them).
   */
  lean?: boolean;
}

/** A project on disk with `apps` Django-like apps (web + worker, static, media, hooks) and four stacks. */
export function syntheticProject(apps: number, opts: SyntheticOptions = {}): { root: string; cleanup: () => void } {
  const root = opts.dir ?? mkdtempSync(join(tmpdir(), `fawkes-bench-${apps}-`));
  const names = Array.from({ length: apps }, (_, i) => `app${String(i + 1).padStart(2, "0")}`);
  const catalogue = {
    gunicorn: { gracefulTimeoutSeconds: opts.gracefulTimeoutSeconds ?? 30 },
    apps: names.map((name, i) =>
      opts.lean ? { name, source: `apps/${name}`, processes: i % 2 === 0 ? { web: { wsgi: `${name}.wsgi:application` } } : { jobs: { command: `python -m ${name}.jobs` } } } : {
      name,
      source: `apps/${name}`,
      processes: { web: { wsgi: `${name}.wsgi:application` }, jobs: { command: `python -m ${name}.jobs` } },
      static: { url: "/static/", dir: "staticfiles" },
      media: { url: "/media/", dir: "media" },
      shared: ["media", "db"],
      hooks: { release: ["python manage.py migrate --noinput", "python manage.py collectstatic --noinput"] },
      secrets: ["SECRET_KEY", "DATABASE_URL"],
      env: { DJANGO_SETTINGS_MODULE: `${name}.settings` },
    }),
  };
  writeFileSync(join(root, "Pulumi.yaml"), stringify({ name: "bench", runtime: "nodejs", stackConfigDir: "stacks", config: { catalogue: { value: catalogue } } }));
  mkdirSync(join(root, "image"), { recursive: true });
  // Each app's source dir exists (config checks it), with a file so that git keeps it.
  for (const name of names) {
    mkdirSync(join(root, "apps", name), { recursive: true });
    writeFileSync(join(root, "apps", name, "README"), `${name}: a synthetic app of the bench\n`);
  }
  cpSync(join(import.meta.dirname, "..", RECIPE_FILE), join(root, RECIPE_FILE));
  mkdirSync(join(root, "stacks"), { recursive: true });
  // Every stack pins an AMI: the one this repository's dev stack pins (same recipe).
  const image = (parse(readFileSync(join(import.meta.dirname, "..", "stacks", "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> }).config["fawkes:image"];
  BENCH_STACKS.forEach((stack, i) => {
    const config = {
      "bench:domain": `${stack}.bench.test`,
      "bench:image": image,
      "bench:instanceType": ["t3.small", "t3.small", "t3.medium", "m6i.xlarge"][i],
      "bench:fleet": { web: { min: 1 + i, max: 2 + 2 * i, desired: 1 + i }, worker: { min: 1, max: 2, desired: 1 } },
      "bench:releases": Object.fromEntries(names.map((n) => [n, "r1"])),
    };
    writeFileSync(join(root, "stacks", `Pulumi.${stack}.yaml`), stringify({ config }));
  });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
