// Projects for the render fuzz test (test/validators/fuzz-render.test.ts): a two-app project like
// the repository's, every knob and name of it settable to any string, written as files and loaded
// the way the CLI loads a stack, so a hostile value meets every check the config has.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { ConfigError, loadEnvironment, loadStack, type EnvironmentSpec } from "../../src/config/index.ts";
import { planEnvironment, type EnvironmentPlan } from "../../src/model/index.ts";
import { renderDatabaseHost, type DatabaseHostImage, type HostImage } from "../../src/render/index.ts";
import { renderWithTestArtifacts } from "./release-sums.ts";
import { ROOT } from "./rendered-hosts.ts";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface FuzzProject {
  project: string;
  stack: string;
  catalogue: Json;
  knobs: Json;
  recipe: Json;
}

const RECIPE = parse(readFileSync(join(ROOT, "image/recipe.yaml"), "utf8")) as Json;

export function baseProject(): FuzzProject {
  const shop = {
    name: "shop",
    source: "apps/shop",
    processes: { web: { wsgi: "shop.app:app" }, mailer: { command: "python -m shop.worker" } },
    health: { path: "/healthz" },
    static: { url: "/static/", dir: "static" },
    shared: ["data"],
    secrets: ["SHOP_SECRET_KEY"],
    queues: ["orders"],
    env: { SHOP_DATA_DIR: "data" },
    domains: ["shop"],
  };
  const blog = {
    name: "blog",
    source: "apps/blog",
    processes: { web: { wsgi: "blog.wsgi:application" } },
    media: { url: "/media/", dir: "media" },
    shared: ["media"],
    database: true,
    hooks: { build: ["python manage.py collectstatic --noinput"], release: ["python manage.py migrate --noinput"] },
    secrets: ["DJANGO_SECRET_KEY"],
    env: { DJANGO_SETTINGS_MODULE: "blog.settings" },
  };
  return { project: "acme", stack: "dev", catalogue: { apps: [shop, blog] }, knobs: { domain: "dev.acme.test", releases: { shop: "r1", blog: "r1" } }, recipe: structuredClone(RECIPE) };
}

/** The shop's worker process, whatever it is named. */
const worker = (p: FuzzProject): Json => Object.entries(p.catalogue.apps[0].processes).find(([name]) => name !== "web")![1] as Json;

/** Every knob and name a project has, each as where a value goes: the shop app is apps[0], the blog apps[1]. */
export const FIELDS: Record<string, (p: FuzzProject, v: string) => void> = {
  "project name": (p, v) => void (p.project = v),
  "stack name": (p, v) => void (p.stack = v),
  "app name": (p, v) => {
    const pin = p.knobs.releases[p.catalogue.apps[0].name];
    p.catalogue.apps[0].name = v;
    p.knobs.releases = { [v]: pin, blog: p.knobs.releases.blog };
  },
  "process name": (p, v) => void (p.catalogue.apps[0].processes = { web: p.catalogue.apps[0].processes.web, [v]: worker(p) }),
  "wsgi entry point": (p, v) => void (p.catalogue.apps[0].processes.web.wsgi = v),
  "process command": (p, v) => void (worker(p).command = v),
  "release hook": (p, v) => void (p.catalogue.apps[1].hooks.release = [v]),
  "build hook": (p, v) => void (p.catalogue.apps[1].hooks.build = [v]),
  "env name": (p, v) => void (p.catalogue.apps[0].env = { SHOP_DATA_DIR: "data", [v]: "x" }),
  "env value": (p, v) => void (p.catalogue.apps[0].env.SHOP_DATA_DIR = v),
  "secret name": (p, v) => void (p.catalogue.apps[0].secrets = [v]),
  "queue name": (p, v) => void (p.catalogue.apps[0].queues = [v]),
  "shared dir": (p, v) => void (p.catalogue.apps[0].shared = ["data", v]),
  "static url": (p, v) => void (p.catalogue.apps[0].static.url = v),
  "static dir": (p, v) => void (p.catalogue.apps[0].static.dir = v),
  "media url": (p, v) => void (p.catalogue.apps[1].media.url = v),
  "media dir": (p, v) => {
    p.catalogue.apps[1].media.dir = v;
    p.catalogue.apps[1].shared = [v];
  },
  "health path": (p, v) => void (p.catalogue.apps[0].health.path = v),
  "domain label": (p, v) => void (p.catalogue.apps[0].domains = [v]),
  "max body size": (p, v) => void (p.catalogue.apps[0].maxBodySize = v),
  "github repository": (p, v) => void (p.catalogue.github = { repository: v }),
  domain: (p, v) => void (p.knobs.domain = v),
  "release pin": (p, v) => void (p.knobs.releases[p.catalogue.apps[0].name] = v),
  region: (p, v) => void (p.knobs.region = v),
  "account id": (p, v) => void (p.knobs.accountId = v),
  "instance type": (p, v) => void (p.knobs.instanceType = v),
  "image package": (p, v) => void p.recipe.packages.push(v),
  "image step name": (p, v) => void (p.recipe.steps[0].name = v),
};

/** Pieces of hostile text: shell, YAML, nginx, supervisord, Python and PostgreSQL syntax, line breaks, odd Unicode. */
const FRAGMENTS = [
  "'", '"', "`id`", "$(id)", "${HOME}", "$HOME", "$", "\\", "\\n", "'\\''", "\n", "\r", "\t", " ", "  ", ";", "&", "&&", "|", "#", " #x", " ;x",
  "{", "}", "[", "]", "(", ")", "<", ">", "*", "?", "~", "!", "%", "%%", "%(ENV_HOME)s", "%(here)s", ": ", "- ", "? ", "&a", "*a", "!tag", "!!str", "%YAML",
  "---", "...", "=", ",", "/", "..", "-", "_", ".", "@", "+", "a", "Z", "0", "9", "x-y", "\u00a0", "\u0085", "\u2028", "\u2029", "\ufeff", "\u200b",
  "\u001b", "\u007f", "\u0090", "\uFFFE", "\uD800", "é", "ß", "😀", "EOF", "SQL", "PY", "FAWKES_IMAGE_JSON", "# coding: latin-1", "\\\\", "\\\"",
];

/**
 * Names bash gives a meaning, so that `NAME=value` in an env file sourced under `set -u` fails (read
 * only; arithmetic) or reads back another value (dynamic). Measured with bash 5.2.
 */
export const BASH_SPECIAL_NAMES = [
  ...["UID", "EUID", "PPID", "SHELLOPTS", "BASHOPTS", "BASH_VERSINFO"],
  ...["RANDOM", "SRANDOM", "HISTCMD", "OPTIND"],
  ...["SECONDS", "LINENO", "EPOCHSECONDS", "EPOCHREALTIME", "BASHPID", "GROUPS", "FUNCNAME", "BASH_SUBSHELL", "BASH_COMMAND", "BASH_LINENO", "BASH_SOURCE", "BASH_ARGC", "BASH_ARGV", "PIPESTATUS", "DIRSTACK"],
  ...["BASH_XTRACEFD", "BASH_COMPAT"],
];

/** Names bash reads, that an env file may still set and read back: generated too, never a gap. */
const BASH_READ_NAMES = ["IFS", "PATH", "HOME", "BASH_ENV", "POSIXLY_CORRECT", "PS4"];

/** Any text but NUL: hostile pieces run together, arbitrary code points, or plausible names. */
export const hostileString: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 5, arbitrary: fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 8 }).map((a) => a.join("")) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 16 }) },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9/][A-Za-z0-9_./-]{0,12}$/) },
    { weight: 1, arbitrary: fc.constantFrom(...BASH_SPECIAL_NAMES, ...BASH_READ_NAMES, "", " ", "a".repeat(300)) },
  )
  .filter((s) => !s.includes("\u0000"));

export type Outcome =
  | { kind: "refused"; message: string }
  | { kind: "broken"; stage: string; error: string }
  | { kind: "rendered"; spec: EnvironmentSpec; env: EnvironmentPlan; images: HostImage[]; db?: DatabaseHostImage };

/** A stack file's name the file system can hold: other names are left to loadStack to refuse. */
const writableStack = (stack: string) => stack !== "." && stack !== ".." && !stack.includes("/") && !stack.includes("\u0000") && Buffer.byteLength(stack) <= 200;

/** Writes the project as files, loads its stack as the CLI does, plans and renders it. */
export function loadAndRender(p: FuzzProject): Outcome {
  const root = mkdtempSync(join(tmpdir(), "fawkes-fuzz-project-"));
  try {
    for (const dir of ["apps/shop", "apps/blog", "image", "stacks"]) mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, "Pulumi.yaml"), stringify({ name: p.project, runtime: "nodejs", stackConfigDir: "stacks", config: { catalogue: { value: p.catalogue } } }));
    // Bare keys: the loader puts them under the project's name, whatever it is.
    if (writableStack(p.stack)) writeFileSync(join(root, "stacks", `Pulumi.${p.stack}.yaml`), stringify({ config: p.knobs }));
    writeFileSync(join(root, "image/recipe.yaml"), stringify(p.recipe));
    return planAndRender(() => loadStack(root, p.stack), "loadStack");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The project straight into loadEnvironment, from objects: it checks neither the project's name
 * (readProject does) nor the stack's (loadStack does), so a hostile one reaches the renderer,
 * which must hold on its own.
 */
export function loadInMemoryAndRender(p: FuzzProject): Outcome {
  const ns = (values: Json) => Object.fromEntries(Object.entries(values).map(([k, v]) => [`${p.project}:${k}`, v]));
  const input = {
    project: p.project,
    stack: p.stack,
    projectLayer: { file: "Pulumi.yaml", values: ns({ catalogue: p.catalogue }) },
    stackLayers: [{ file: "stack", values: ns(p.knobs) }],
    recipe: { file: "image/recipe.yaml", values: p.recipe },
  };
  return planAndRender(() => loadEnvironment(input), "loadEnvironment");
}

function planAndRender(load: () => EnvironmentSpec, loader: string): Outcome {
  let spec: EnvironmentSpec;
  try {
    spec = load();
  } catch (e) {
    if (e instanceof ConfigError) return { kind: "refused", message: e.message };
    return { kind: "broken", stage: `${loader} threw something other than a ConfigError`, error: String((e as Error)?.stack ?? e) };
  }
  try {
    const env = planEnvironment(spec);
    const images = renderWithTestArtifacts(env);
    const db = env.database ? renderDatabaseHost(env.database, env.hosts[0]!.image) : undefined;
    return { kind: "rendered", spec, env, images, ...(db ? { db } : {}) };
  } catch (e) {
    return { kind: "broken", stage: "accepted by the config, then planning or rendering threw", error: String((e as Error)?.stack ?? e) };
  }
}

/** How a failing input is shown: JSON, so every control character and quote is visible. */
export const shown = (v: unknown): string => JSON.stringify(v);
