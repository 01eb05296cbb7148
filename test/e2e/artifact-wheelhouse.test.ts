// scripts/build-wheelhouse.py, run for real with the golden image's Debian python3 (where fawkes
// build runs it) on the sample apps' requirements: reproducible pure wheels with Debian's stripped
// dependencies restored, the repository's library in the version each app pins, platform wheels for
// compiled distributions (PyYAML, psycopg2) that install offline into a fresh venv and import, and
// clear refusals. Root builds the golden image (the venv at the hosts' path is artifact.test.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WHEELHOUSE_SCRIPT, type WheelEntry } from "../../src/artifact/index.ts";
import type { GoldenImage } from "../../src/local/index.ts";
import { goldenImage, inImageRoot, requireImageTools } from "../helpers/image-root.ts";
import { ROOT } from "../helpers/rendered-hosts.ts";
import { TOOLS } from "../helpers/tools.ts";

const tmp = mkdtempSync(join(tmpdir(), "fawkes-wheelhouse-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const LIBS = ["--lib", join(ROOT, "examples/libs/fawkes-greeting-1"), "--lib", join(ROOT, "examples/libs/fawkes-greeting-2")];
let image: GoldenImage;
let runs = 0;

/** Runs argv in the golden image (the repository and this test's dir bound at their paths); never throws for its exit. */
function inImage(argv: string[], opts: { env?: Record<string, string>; timeout?: number } = {}) {
  const [file, ...args] = inImageRoot(image, join(tmp, `image-${++runs}`), [ROOT, tmp], ["/usr/bin/env", "-i", ...Object.entries(opts.env ?? { PATH: "/usr/bin:/bin", LC_ALL: "C.UTF-8" }).map(([k, v]) => `${k}=${v}`), ...argv]);
  return execa(file!, args, { reject: false, all: true, timeout: opts.timeout ?? 60_000 });
}

async function wheelhouse(requirements: string, name: string) {
  const req = join(tmp, `${name}.txt`);
  writeFileSync(req, requirements);
  const out = join(tmp, name);
  const r = await inImage([TOOLS.python3.path, "-B", WHEELHOUSE_SCRIPT, "--requirements", req, "--out", out, ...LIBS]);
  const wheels = r.exitCode === 0 ? (JSON.parse(r.stdout) as { wheels: WheelEntry[] }).wheels : [];
  return { ...r, out, wheels };
}

/** Every wheel opened by Python's zipfile: entries, RECORD checked against the bytes, WHEEL and METADATA. */
const INSPECT = `
import base64, hashlib, json, sys, zipfile
out = {}
for path in sys.argv[1:]:
    z = zipfile.ZipFile(path)
    names = [i.filename for i in z.infolist()]
    info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/WHEEL"))
    record = {l.split(",")[0]: l.split(",")[1] for l in z.read(info + "/RECORD").decode().splitlines()}
    bad = [n for n in names if not n.endswith("/RECORD") and record.get(n) != "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(z.read(n)).digest()).rstrip(b"=").decode()]
    out[path.split("/")[-1]] = {"names": names, "times": sorted({i.date_time for i in z.infolist()}), "badRecord": bad,
        "wheel": z.read(info + "/WHEEL").decode(), "metadata": z.read(info + "/METADATA").decode(), "entryPoints": info + "/entry_points.txt" in names}
print(json.dumps(out))
`;

async function inspect(dir: string): Promise<Record<string, { names: string[]; times: number[][]; badRecord: string[]; wheel: string; metadata: string; entryPoints: boolean }>> {
  const files = readdirSync(dir).sort().map((f) => join(dir, f));
  return JSON.parse((await inImage([TOOLS.python3.path, "-c", INSPECT, ...files])).stdout);
}

/** A fresh venv of the image's python3 with `requirements` installed from `wheelhouse` only; returns its python. */
async function venvWith(wheelhouse: string, requirements: string, name: string): Promise<string> {
  const venv = join(tmp, `venv-${name}`);
  const env = { PATH: "/usr/bin:/bin", LC_ALL: "C.UTF-8", HOME: tmp, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_CACHE_DIR: "1" };
  const steps = [
    [TOOLS.python3.path, "-m", "venv", venv],
    [join(venv, "bin/pip"), "install", "--no-index", "--find-links", wheelhouse, "-r", requirements],
  ];
  for (const [file, ...args] of steps) {
    const r = await inImage([file!, ...args], { env, timeout: 120_000 });
    expect(r.exitCode, `${r.command}\n${r.all}`).toBe(0);
  }
  return join(venv, "bin/python");
}

/** The interpreter's wheel tag for its plain platform, derived here apart from the script: cp313-cp313-linux_x86_64. */
async function interpreterTag(): Promise<string> {
  const script = "import sys, sysconfig; v = '%d%d' % sys.version_info[:2]; print(f\"cp{v}-cp{v}-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}\")";
  return (await inImage([TOOLS.python3.path, "-c", script])).stdout.trim();
}

let shop: Awaited<ReturnType<typeof wheelhouse>>;
let blog: Awaited<ReturnType<typeof wheelhouse>>;
let tag: string;
beforeAll(async () => {
  image = await goldenImage();
  requireImageTools(image, TOOLS.python3);
  tag = await interpreterTag();
  shop = await wheelhouse(`${readFileSync(join(ROOT, "examples/flask-shop/requirements.txt"), "utf8")}gunicorn\n`, "shop");
  blog = await wheelhouse(`${readFileSync(join(ROOT, "examples/django-blog/requirements.txt"), "utf8")}gunicorn\n`, "blog");
  expect(shop.exitCode, shop.stderr).toBe(0);
  expect(blog.exitCode, blog.stderr).toBe(0);
});

describe("wheelhouses of the sample apps", () => {
  it("hold each app's requirements, their dependencies and gunicorn, each app its own library version", () => {
    const files = (w: typeof shop) => w.wheels.map((x) => x.file);
    expect(files(shop)).toEqual(expect.arrayContaining([
      "flask-3.1.1-py3-none-any.whl", "werkzeug-3.1.3-py3-none-any.whl", "jinja2-3.1.6-py3-none-any.whl", "markupsafe-2.1.5-py3-none-any.whl",
      "itsdangerous-2.2.0-py3-none-any.whl", "click-8.1.8-py3-none-any.whl", "blinker-1.9.0-py3-none-any.whl", "gunicorn-23.0.0-py3-none-any.whl",
      "packaging-25.0-py3-none-any.whl",
    ]));
    expect(files(blog)).toEqual(expect.arrayContaining([
      "django-4.2.28-py3-none-any.whl", "asgiref-3.8.1-py3-none-any.whl", "sqlparse-0.5.3-py3-none-any.whl", `psycopg2-2.9.10-${tag}.whl`,
    ]));
    expect(shop.wheels.find((w) => w.name === "fawkes-greeting")).toMatchObject({ version: "1.4.0", source: "repository" });
    expect(blog.wheels.find((w) => w.name === "fawkes-greeting")).toMatchObject({ version: "2.1.0", source: "repository" });
    expect(shop.wheels.find((w) => w.name === "Flask")).toMatchObject({ source: "debian", debianPackage: "python3-flask" });
    expect(readdirSync(shop.out).sort()).toEqual(shop.wheels.map((w) => w.file).sort());
  });

  it("are pure, well-formed wheels: RECORD matches, 1980 timestamps, Debian's dependencies restored in METADATA", async () => {
    const wheels = await inspect(shop.out);
    for (const [file, w] of Object.entries(wheels)) {
      expect(w.badRecord, file).toEqual([]);
      expect(w.names.filter((n) => /\.(so|pyd)$|__pycache__|\.pyc$/.test(n)), file).toEqual([]);
      if (file.startsWith("setuptools-")) continue; // Debian's own wheel, copied as it is
      expect(w.times, file).toEqual([[1980, 1, 1, 0, 0, 0]]);
      expect(w.wheel, file).toContain("Root-Is-Purelib: true\nTag: py3-none-any\n");
      const body = w.names.filter((n) => !n.includes(".dist-info/"));
      expect(body, file).toEqual([...body].sort());
    }
    const flask = wheels["flask-3.1.1-py3-none-any.whl"]!.metadata;
    for (const dep of ["Werkzeug", "Jinja2", "itsdangerous", "click", "blinker"]) expect(flask).toContain(`\nRequires-Dist: ${dep}\n`);
    expect(flask).toMatch(/\nRequires-Dist: asgiref>=3\.2 ?; extra == "async"\n/);
    expect(wheels["jinja2-3.1.6-py3-none-any.whl"]!.metadata).toContain("\nRequires-Dist: MarkupSafe\n");
    expect(wheels["gunicorn-23.0.0-py3-none-any.whl"]!.entryPoints).toBe(true);
    expect(wheels["gunicorn-23.0.0-py3-none-any.whl"]!.metadata).toContain("\nRequires-Dist: packaging\n");
    // Debian's Django declares none of its dependencies; its package Depends on them.
    const django = (await inspect(blog.out))["django-4.2.28-py3-none-any.whl"]!.metadata;
    for (const dep of ["asgiref", "sqlparse"]) expect(django).toContain(`\nRequires-Dist: ${dep}\n`);
  });

  it("take pip's own tools from the wheels Debian ships (/usr/share/python-wheels)", async () => {
    const tools = await wheelhouse("setuptools\n", "python-wheels");
    expect(tools.exitCode, tools.stderr).toBe(0);
    expect(tools.wheels).toEqual([expect.objectContaining({ name: "setuptools", source: "python-wheels", file: "setuptools-78.1.1-py3-none-any.whl" })]);
  });

  it("leave out MarkupSafe's optional compiled speedups, and say so", () => {
    expect(shop.wheels.find((w) => w.name === "MarkupSafe")?.dropped).toEqual([expect.stringMatching(/^markupsafe\/_speedups\..*\.so$/)]);
  });

  it("are byte-for-byte the same when built again", async () => {
    const again = await wheelhouse(`${readFileSync(join(ROOT, "examples/flask-shop/requirements.txt"), "utf8")}gunicorn\n`, "shop-again");
    expect(again.wheels.map((w) => [w.file, w.sha256])).toEqual(shop.wheels.map((w) => [w.file, w.sha256]));
  });
});

describe("compiled distributions", () => {
  let yaml: Awaited<ReturnType<typeof wheelhouse>>;
  beforeAll(async () => {
    yaml = await wheelhouse("PyYAML\n", "compiled");
    expect(yaml.exitCode, yaml.stderr).toBe(0);
  });

  it("become platform wheels for this interpreter, with their .so files and Root-Is-Purelib: false", async () => {
    expect(yaml.wheels).toEqual([expect.objectContaining({
      name: "PyYAML", file: `pyyaml-6.0.2-${tag}.whl`, source: "debian", debianPackage: "python3-yaml", tag,
      compiled: [expect.stringMatching(/^yaml\/_yaml\.cpython-.*\.so$/)], needsDebianPackages: expect.arrayContaining(["libyaml-0-2"]),
    })]);
    const w = (await inspect(yaml.out))[`pyyaml-6.0.2-${tag}.whl`]!;
    expect(w.badRecord).toEqual([]);
    expect(w.times).toEqual([[1980, 1, 1, 0, 0, 0]]);
    expect(w.wheel).toContain(`Root-Is-Purelib: false\nTag: ${tag}\n`);
    expect(w.names).toEqual(expect.arrayContaining(["yaml/__init__.py", expect.stringMatching(/^yaml\/_yaml\.cpython-.*\.so$/)]));
    const blogPsycopg = blog.wheels.find((x) => x.name === "psycopg2");
    expect(blogPsycopg).toMatchObject({ file: `psycopg2-2.9.10-${tag}.whl`, debianPackage: "python3-psycopg2", needsDebianPackages: expect.arrayContaining(["libpq5"]) });
    const psycopg = (await inspect(blog.out))[`psycopg2-2.9.10-${tag}.whl`]!;
    expect(psycopg.badRecord).toEqual([]);
    expect(psycopg.wheel).toContain(`Root-Is-Purelib: false\nTag: ${tag}\n`);
    expect(psycopg.names).toContainEqual(expect.stringMatching(/^psycopg2\/_psycopg\.cpython-.*\.so$/));
  });

  it("are byte-for-byte the same when built again", async () => {
    const again = await wheelhouse("PyYAML\n", "compiled-again");
    expect(again.wheels.map((w) => [w.file, w.sha256])).toEqual(yaml.wheels.map((w) => [w.file, w.sha256]));
  });

  it("install offline into a fresh venv and import their compiled modules: PyYAML with libyaml", async () => {
    const python = await venvWith(yaml.out, join(tmp, "compiled.txt"), "yaml");
    const r = await inImage([python, "-c", "import yaml; from yaml import CLoader; assert yaml.__with_libyaml__; print(yaml.load('a: [1, 2]', Loader=CLoader), yaml.__file__)"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^\\{'a': \\[1, 2\\]\\} ${tmp}/venv-yaml/lib/python3\\.\\d+/site-packages/yaml/__init__\\.py$`));
  });

  it("install offline into a fresh venv and import their compiled modules: the blog's requirements with psycopg2", async () => {
    const python = await venvWith(blog.out, join(tmp, "blog.txt"), "blog");
    const r = await inImage([python, "-c", "import django, psycopg2, psycopg2.extensions as e; print(psycopg2.__version__.split()[0], e.libpq_version() > 0, psycopg2.__file__)"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^2\\.9\\.10 True ${tmp}/venv-blog/lib/python3\\.\\d+/site-packages/psycopg2/__init__\\.py$`));
  });
});

describe("refusals", () => {
  it("a library version the repository does not have", async () => {
    const r = await wheelhouse("fawkes-greeting>=3\n", "nolib");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("requires fawkes-greeting>=3; the repository's fawkes-greeting libraries are 1.4.0 (");
  });

  it("a distribution no route has, with no package index configured", async () => {
    const r = await wheelhouse("surely-not-installed-dist\n", "missing");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      "requires surely-not-installed-dist: no route has it: no repository library, nothing in the app's wheels/, no Debian package in the image (apt-cache search python3-surely-not-installed-dist; add it to image/recipe.yaml), and no package index is configured",
    );
  });

  it("a Debian version outside the requirement's range", async () => {
    const r = await wheelhouse("Flask>=99\n", "tooold");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/requires Flask>=99; Debian has Flask 3\.1\.1 \(python3-flask\), which does not fit/);
  });

  it("pip options in requirements.txt", async () => {
    const r = await wheelhouse("--index-url http://localhost/simple\nFlask\n", "options");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("options (-r, -e, --index-url, ...) are not supported");
  });
});
