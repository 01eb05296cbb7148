import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { loadStack } from "../../src/config/index.ts";
import { storeOfHome, testArtifact, writeTestArtifacts } from "../helpers/release-sums.ts";
import { projectWith } from "./fixture-project.ts";

const ROOT = join(import.meta.dirname, "../..");

async function run(argv: string[], cwd = ROOT) {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd });
  return { code, out, err };
}

describe("fawkes check", () => {
  it("passes on the repository's own project and names every stack", async () => {
    const r = await run(["check"]);
    expect(r.code).toBe(0);
    for (const s of ["dev", "qa", "staging", "production"]) expect(r.out).toContain(`ok ${s}:`);
  });

  it("exits 1 with every problem, file and key, and no stack trace", async () => {
    const p = projectWith("several-problems.stack.yaml");
    try {
      const r = await run(["check"], p.root);
      expect(r.code).toBe(1);
      // Each problem a line of its own that starts with `error: `, as every command's errors do; then how many.
      const lines = r.err.trimEnd().split("\n");
      expect(lines).toHaveLength(4);
      expect(lines.slice(0, 3).every((l) => l.startsWith("error: "))).toBe(true);
      expect(lines[3]).toBe("3 configuration problems");
      expect(r.err).toMatch(/^error: stacks\/Pulumi\.dev\.yaml: config\.acme:alarmEmal: not a knob;.*did you mean "acme:alarmEmail"\?$/m);
      expect(r.err).not.toMatch(/\n\s+at /);
    } finally {
      p.cleanup();
    }
  });

  it("--json gives machines the same verdict", async () => {
    const r = await run(["check", "--json", "--stack", "dev"]);
    const json = JSON.parse(r.out);
    expect(json.ok).toBe(true);
    expect(json.stacks.map((s: { stack: string }) => s.stack)).toEqual(["dev"]);
    const p = projectWith("wrong-type.stack.yaml");
    try {
      const bad = await run(["check", "--json"], p.root);
      expect(bad.code).toBe(1);
      expect(JSON.parse(bad.out).problems[0]).toMatchObject({ file: "stacks/Pulumi.dev.yaml", path: "config.acme:fleet.web.min" });
    } finally {
      p.cleanup();
    }
  });
});

/** Runs `work` with FAWKES_HOME a scratch dir whose store holds the tests' artifacts of these stacks' pins (none when `stacks` is empty). */
async function withTestStore<T>(root: string, stacks: string[], work: () => Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), "fawkes-render-home-"));
  const saved = process.env.FAWKES_HOME;
  process.env.FAWKES_HOME = home;
  try {
    writeTestArtifacts(storeOfHome(home), ...stacks.map((s) => loadStack(root, s)));
    return await work();
  } finally {
    if (saved === undefined) delete process.env.FAWKES_HOME;
    else process.env.FAWKES_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  }
}

describe("fawkes render", () => {
  it("writes user-data, its bytes, the manifest and every file per role", () => withTestStore(ROOT, ["staging"], async () => {
    const out = mkdtempSync(join(tmpdir(), "fawkes-render-"));
    try {
      const r = await run(["render", "--stack", "staging", "--out", out]);
      expect(r.code).toBe(0);
      for (const role of ["web", "worker"]) {
        const dir = join(out, "staging", role);
        const text = readFileSync(join(dir, "user-data"), "utf8");
        expect(text.startsWith("#cloud-config\n")).toBe(true);
        const bin = readFileSync(join(dir, "user-data.bin"));
        const decoded = bin[0] === 0x1f && bin[1] === 0x8b ? gunzipSync(bin).toString("utf8") : bin.toString("utf8");
        expect(decoded).toBe(text);
        const manifest = JSON.parse(readFileSync(join(dir, "host.json"), "utf8"));
        expect(manifest).toMatchObject({ stack: "staging", role });
        // Each release's sum, read from this machine's store, pinned in the bundle.
        for (const a of manifest.apps as Array<{ name: string; release: string; sha256: string }>) {
          expect(a.sha256).toBe(testArtifact(a.name, a.release).sha256);
          expect(readFileSync(join(dir, "files/usr/local/sbin/fawkes-bootstrap"), "utf8")).toContain(`RELEASE_SHA256=${a.sha256}\n`);
        }
        // The bundle as the artifact store holds it, under the key and sum the user-data names.
        const sum = createHash("sha256").update(readFileSync(join(dir, "bundle.tar.gz"))).digest("hex");
        expect(text).toContain(`readonly BUNDLE_SHA256=${sum}\n`);
        for (const path of Object.keys(manifest.files)) expect(existsSync(join(dir, "files", path))).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }));

  it("refuses a stack whose releases this machine's store lacks, naming each and its build, and writes nothing", () => withTestStore(ROOT, [], async () => {
    const out = mkdtempSync(join(tmpdir(), "fawkes-render-"));
    try {
      const r = await run(["render", "--stack", "staging", "--out", out]);
      expect(r.code).toBe(1);
      const pins = loadStack(ROOT, "staging").knobs.releases;
      for (const [app, release] of Object.entries(pins)) {
        expect(r.err).toContain(`release ${release} of ${app} is not in`);
        expect(r.err).toContain(`build it with fawkes build ${app}`);
      }
      expect(existsSync(join(out, "staging"))).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }));

  it("requires --stack", async () => {
    const r = await run(["render"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("error: --stack S is required");
  });
});

describe("fawkes diff-stacks", () => {
  it("proves staging and production differ only in knobs and lists them", async () => {
    const r = await run(["diff-stacks", "staging", "production"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("catalogue: identical");
    expect(r.out).toContain('instanceType: "t3.medium" -> "m6i.large"');
    expect(r.out).toContain("fleet.web.desired: 2 -> 3");
    expect(r.out).toContain("0 not explained by knobs");
  });

  it("--json lists the knob paths", async () => {
    const r = await run(["diff-stacks", "dev", "qa", "--json"]);
    const json = JSON.parse(r.out);
    expect(json.onlyKnobs).toBe(true);
    // dev and the qa template share every knob but the domain and what a QA stack takes from its parent (staging).
    expect(json.knobs).toEqual([
      { path: "database.shareParentServer", a: false, b: true },
      { path: "domain", a: "dev.fawkes.test", b: "qa.fawkes.test" },
      { path: "parent", b: "staging" },
    ]);
  });

  it("reports a config problem in either stack with exit 1", async () => {
    const p = projectWith();
    try {
      writeFileSync(join(p.root, "stacks/Pulumi.prod.yaml"), "config:\n  acme:domain: acme.test\n  acme:releases: { shop: r1, blog: r1 }\n  acme:health: {}\n");
      const r = await run(["diff-stacks", "dev", "prod"], p.root);
      expect(r.code).toBe(1);
      expect(r.err).toContain('stacks/Pulumi.prod.yaml: config.acme:health: not a knob');
    } finally {
      p.cleanup();
    }
  });
});

describe("the CLI shell", () => {
  it("every command has --help with its exit codes", async () => {
    for (const c of ["check", "render", "diff-stacks"]) {
      const r = await run([c, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`usage: fawkes ${c}`);
      expect(r.out).toContain("Exit codes:");
    }
  });

  it("unknown commands and flags are usage errors (exit 2)", async () => {
    expect((await run(["deploy"])).code).toBe(2);
    const r = await run(["check", "--stak", "dev"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--stak");
  });

  it("outside a project it says what to do", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fawkes-empty-"));
    try {
      const r = await run(["check"], dir);
      expect(r.code).toBe(2);
      expect(r.err).toContain("no Pulumi.yaml");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("EC2's user-data limit", () => {
  it("fawkes check passes 20 apps on each role, with long hooks and env: they are in the bundle, not the user-data", async () => {
    const p = projectWith();
    try {
      const apps = Array.from({ length: 20 }, (_, i) => `        - { name: app${i}, source: apps/a${i}, processes: { web: { wsgi: "a${i}.wsgi:application" }, jobs: { command: "python -m a${i}.jobs" } }, hooks: { release: ["python manage.py migrate --noinput --database=db${i}"] }, env: { SETTING_${i}: "value-${i}-${"x".repeat(400)}" } }`);
      writeFileSync(join(p.root, "Pulumi.yaml"), `name: acme\nruntime: nodejs\nstackConfigDir: stacks\nconfig:\n  catalogue:\n    value:\n      apps:\n${apps.join("\n")}\n`);
      for (let i = 0; i < 20; i++) mkdirSync(join(p.root, `apps/a${i}`), { recursive: true });
      writeFileSync(join(p.root, "stacks/Pulumi.dev.yaml"), `config:\n  acme:domain: dev.acme.test\n  acme:releases: { ${apps.map((_, i) => `app${i}: r1`).join(", ")} }\n`);
      const r = await run(["check", "--json", "--stack", "dev"], p.root);
      expect(r.err).not.toMatch(/user-data/);
      expect(r.code, r.err).toBe(0);
      const rendered = await withTestStore(p.root, ["dev"], () => run(["render", "--stack", "dev", "--json", "--out", join(p.root, "out")], p.root));
      const roles = (JSON.parse(rendered.out) as { images: Array<{ role: string; userDataBytes: number }> }).images;
      expect(roles.map((w) => w.role).sort()).toEqual(["web", "worker"]);
      for (const w of roles) expect(w.userDataBytes, w.role).toBeLessThan(16384 / 2);
    } finally {
      p.cleanup();
    }
  });
});

describe("fawkes image list", () => {
  /** The base fixture with four stacks: two pin the current recipe's AMI, one an AMI of an older recipe, one none. */
  async function projectWithImages() {
    const p = projectWith();
    const pin = (ami: string, architecture: string, recipe: string, instanceType = "t3.small") =>
      `  acme:instanceType: ${instanceType}\n  acme:image: { ami: ${ami}, architecture: ${architecture}, recipe: "${recipe}" }\n`;
    const stackFile = (stack: string, extra = "") => writeFileSync(join(p.root, `stacks/Pulumi.${stack}.yaml`), `config:\n  acme:domain: ${stack}.acme.test\n  acme:releases: { shop: r1, blog: r1 }\n${extra}`);
    const { loadStack } = await import("../../src/config/index.ts");
    const { recipeHash } = await import("../../src/model/index.ts");
    const current = recipeHash(loadStack(p.root, "dev").catalogue.image);
    stackFile("dev", pin("ami-0123456789abcdef0", "x86_64", current));
    stackFile("production", pin("ami-0123456789abcdef0", "x86_64", current));
    stackFile("staging", pin("ami-0fedcba9876543210", "arm64", "0badc0de", "t4g.medium"));
    stackFile("qa");
    // Golden images: the current recipe's, an older one, and one whose build never finished.
    const home = mkdtempSync(join(tmpdir(), "fawkes-images-"));
    const image = (hash: string, packages: string[] | undefined) => {
      const dir = join(home, "images", hash, "rootfs/etc/fawkes");
      mkdirSync(dir, { recursive: true });
      if (packages) writeFileSync(join(dir, "image.json"), JSON.stringify({ hash, distribution: "debian-13", packages }));
    };
    image(current, ["cloud-init", "nginx-light"]);
    image("0badc0de", ["cloud-init"]);
    image("deadbeef", undefined);
    const saved = process.env.FAWKES_HOME;
    process.env.FAWKES_HOME = home;
    return {
      root: p.root,
      current,
      cleanup: () => {
        if (saved === undefined) delete process.env.FAWKES_HOME;
        else process.env.FAWKES_HOME = saved;
        rmSync(home, { recursive: true, force: true });
        p.cleanup();
      },
    };
  }

  it("lists each pinned AMI once with its stacks and whether its recipe is current, and marks the current local image", async () => {
    const p = await projectWithImages();
    try {
      const r = await run(["image", "list"], p.root);
      expect(r.code).toBe(0);
      expect(r.err).toBe("");
      const lines = r.out.split("\n");
      expect(lines[0]).toMatch(new RegExp(`^current recipe ${p.current} \\(image/recipe\\.yaml: debian-13, \\d+ packages, \\d+ steps?\\)$`));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^  ${p.current}  current  debian-13, 2 packages, built `)));
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}0badc0de {11}debian-13, 1 packages, built /));
      expect(lines).toContain("  deadbeef           incomplete");
      expect(lines).toContain(`  ami-0123456789abcdef0  x86_64  recipe ${p.current}  current  dev, production`);
      expect(lines).toContain("  ami-0fedcba9876543210  arm64   recipe 0badc0de  stale    staging");
      expect(lines).toContain("  no AMI pinned: qa (local target only)");
    } finally {
      p.cleanup();
    }
  });

  it("--json gives machines the same inventory", async () => {
    const p = await projectWithImages();
    try {
      const r = await run(["image", "list", "--json"], p.root);
      expect(r.code).toBe(0);
      const inv = JSON.parse(r.out);
      expect(inv.recipe).toMatchObject({ hash: p.current, file: "image/recipe.yaml", distribution: "debian-13" });
      expect(inv.local.map((i: { hash: string; current: boolean; built: boolean }) => [i.hash, i.built, i.current])).toEqual([
        ["0badc0de", true, false],
        [p.current, true, true],
        ["deadbeef", false, false],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
      expect(inv.amis).toEqual([
        { ami: "ami-0123456789abcdef0", architecture: "x86_64", recipe: p.current, stacks: ["dev", "production"], current: true },
        { ami: "ami-0fedcba9876543210", architecture: "arm64", recipe: "0badc0de", stacks: ["staging"], current: false },
      ]);
      expect(inv.unpinned).toEqual(["qa"]);
      expect(inv.problems).toEqual([]);
    } finally {
      p.cleanup();
    }
  });

  it("says which stack it could not read, and still lists the others", async () => {
    const p = await projectWithImages();
    try {
      writeFileSync(join(p.root, "stacks/Pulumi.staging.yaml"), "config:\n  acme:domain: Not_A_Domain\n");
      const r = await run(["image", "list", "--json"], p.root);
      expect(r.code).toBe(0);
      expect(r.err).toContain("warning: stacks/Pulumi.staging.yaml: could not be read (");
      expect(r.err).toContain("fawkes check --stack staging");
      expect(JSON.parse(r.out).amis.map((a: { ami: string }) => a.ami)).toEqual(["ami-0123456789abcdef0"]);
    } finally {
      p.cleanup();
    }
  });

  it("outside a project lists the local images only", async () => {
    const p = await projectWithImages();
    const dir = mkdtempSync(join(tmpdir(), "fawkes-empty-"));
    try {
      const r = await run(["image", "list", "--json"], dir);
      expect(r.code).toBe(0);
      const inv = JSON.parse(r.out);
      expect(inv.recipe).toBeUndefined();
      expect(inv.local).toHaveLength(3);
      expect(inv.local.every((i: { current: boolean }) => !i.current)).toBe(true);
      expect(inv.amis).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      p.cleanup();
    }
  });

  it("fawkes check warns of a stack whose AMI was built from another recipe, and of one that pins none", async () => {
    const p = await projectWithImages();
    try {
      const r = await run(["check"], p.root);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`ok staging:`);
      // A line of its own that starts with `warning: ` and names the stack.
      expect(r.out).toContain(`\nwarning: staging: image ami-0fedcba9876543210 was built from recipe 0badc0de, not from the current image/recipe.yaml (${p.current}): AWS hosts would boot the old packages and steps`);
      expect(r.out).toContain("\nwarning: qa: no image pinned: AWS hosts boot only a pinned AMI");
      expect(r.out.match(/warning: \S+: image /g)).toHaveLength(1);
    } finally {
      p.cleanup();
    }
  });
});
