import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { withRecipe } from "../helpers/recipe.ts";
import { parse } from "yaml";
import { ConfigError, loadStack, setReleasePin } from "../../src/config/index.ts";
import { FIXTURES } from "./fixture-project.ts";

const PROJECT = readFileSync(join(FIXTURES, "base/Pulumi.yaml"), "utf8");

const DEV = `# dev: the smallest fleet.
config:
  acme:domain:   dev.acme.test   # odd spacing stays
  acme:fleet:
    web: { min: 1,  max: 2, desired: 1 }
  # pins below are written by fawkes release
  acme:releases:
    shop: r1    # shop's pin
    blog: "r1"
  acme:backupRetentionDays: 1
`;

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function project(stacks: Record<string, string>, projectFile = PROJECT): string {
  const root = mkdtempSync(join(tmpdir(), "fawkes-pin-"));
  roots.push(root);
  writeFileSync(join(root, "Pulumi.yaml"), projectFile);
  withRecipe(root);
  for (const app of ["shop", "blog"]) mkdirSync(join(root, "apps", app), { recursive: true });
  mkdirSync(join(root, "stacks"));
  for (const [name, text] of Object.entries(stacks)) writeFileSync(join(root, "stacks", `Pulumi.${name}.yaml`), text);
  return root;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message.split("\n").slice(1).map((l) => l.trim());
  }
  throw new Error("expected a ConfigError");
}

describe("setReleasePin", () => {
  it("changes only the pinned value, byte for byte", () => {
    const root = project({ dev: DEV });
    const r = setReleasePin(root, "dev", "shop", "r2a3b4c5d6e7f");
    expect(r).toEqual({ file: join(root, "stacks/Pulumi.dev.yaml"), previous: "r1" });
    expect(readFileSync(r.file, "utf8")).toBe(DEV.replace("shop: r1    #", "shop: r2a3b4c5d6e7f    #"));
    expect(loadStack(root, "dev").knobs.releases).toEqual({ shop: "r2a3b4c5d6e7f", blog: "r1" });
  });

  it("keeps a quoted value quoted", () => {
    const root = project({ dev: DEV });
    setReleasePin(root, "dev", "blog", "r9");
    expect(readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8")).toBe(DEV.replace('blog: "r1"', 'blog: "r9"'));
  });

  it("quotes a release id that YAML would read as another type", () => {
    const root = project({ dev: DEV });
    setReleasePin(root, "dev", "shop", "1e5");
    expect(readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8")).toContain('shop: "1e5"    # shop\'s pin');
    expect(loadStack(root, "dev").knobs.releases.shop).toBe("1e5");
  });

  it("adds a pin for an app the file does not pin yet, at the map's indentation", () => {
    const root = project({ dev: DEV });
    const r = setReleasePin(root, "dev", "wiki", "r3");
    expect(r.previous).toBeUndefined();
    expect(readFileSync(r.file, "utf8")).toBe(DEV.replace('    blog: "r1"\n', '    blog: "r1"\n    wiki: r3\n'));
  });

  it("adds the releases map when the file has none", () => {
    const text = "config:\n  acme:domain: dev.acme.test # kept\n";
    const root = project({ dev: text });
    setReleasePin(root, "dev", "shop", "r4");
    expect(readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8")).toBe(`${text}  acme:releases:\n    shop: r4\n`);
  });

  it("edits a bare `releases:` key, which the loader reads as the project's", () => {
    const root = project({ dev: "config:\n  acme:domain: dev.acme.test\n  releases:\n    shop: r1\n    blog: r1\n" });
    expect(setReleasePin(root, "dev", "shop", "r5").previous).toBe("r1");
    expect(readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8")).toContain("  releases:\n    shop: r5\n");
  });

  it("keeps comments in a flow-style releases map it cannot splice", () => {
    const root = project({ dev: "# dev\nconfig:\n  acme:domain: dev.acme.test\n  acme:releases: { shop: r1, blog: r1 } # both\n" });
    setReleasePin(root, "dev", "wiki", "r6");
    const text = readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8");
    expect(text).toContain("# dev\n");
    expect(text).toContain("# both");
    expect(parse(text)).toEqual({ config: { "acme:domain": "dev.acme.test", "acme:releases": { shop: "r1", blog: "r1", wiki: "r6" } } });
  });

  it("keeps the file's mode and leaves no temporary file", () => {
    const root = project({ dev: DEV });
    const file = join(root, "stacks/Pulumi.dev.yaml");
    chmodSync(file, 0o640);
    setReleasePin(root, "dev", "shop", "r7");
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(join(root, "stacks"))).toEqual(["Pulumi.dev.yaml"]);
  });

  it("creates the file of a qa-* branch stack", () => {
    const root = project({ qa: DEV.replaceAll("dev", "qa") });
    const r = setReleasePin(root, "qa-login-form", "shop", "r8");
    expect(r).toEqual({ file: join(root, "stacks/Pulumi.qa-login-form.yaml") });
    const text = readFileSync(r.file, "utf8");
    expect(text).toMatch(/^# qa-login-form: created by fawkes \(release or qa up\)/);
    expect(text.split("\n").slice(1).join("\n")).toBe("config:\n  acme:releases:\n    shop: r8\n");
    expect(loadStack(root, "qa-login-form").knobs.releases).toEqual({ shop: "r8", blog: "r1" });
  });

  it("refuses to create the file of any other stack", () => {
    const root = project({ dev: DEV });
    expect(problemsOf(() => setReleasePin(root, "prod", "shop", "r1"))).toEqual([
      "stacks/Pulumi.prod.yaml: no such stack; stacks: dev; create the stack file first; `fawkes release` creates files only for qa-* branch stacks",
    ]);
    expect(existsSync(join(root, "stacks/Pulumi.prod.yaml"))).toBe(false);
  });

  it("uses the project's stackConfigDir", () => {
    const root = project({}, PROJECT.replace("stackConfigDir: stacks", "stackConfigDir: envs"));
    expect(setReleasePin(root, "qa-x", "shop", "r1").file).toBe(join(root, "envs/Pulumi.qa-x.yaml"));
  });

  it("leaves a file with a YAML error untouched", () => {
    const bad = "config:\n  acme:releases:\n    shop: r1\n   blog: [r1\n";
    const root = project({ dev: bad });
    const problems = problemsOf(() => setReleasePin(root, "dev", "shop", "r2"));
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).toMatch(/^stacks\/Pulumi\.dev\.yaml: .*YAML syntax error: .*; fix the file; the release pin was not written$/);
    expect(readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8")).toBe(bad);
  });

  it("rejects a releases value that is not a map", () => {
    const root = project({ dev: "config:\n  acme:releases: r1\n" });
    expect(problemsOf(() => setReleasePin(root, "dev", "shop", "r2"))).toEqual(["stacks/Pulumi.dev.yaml: config.acme:releases: must be a map of app: release-id"]);
  });

  it("rejects a bad release id with the schema's message", () => {
    const root = project({ dev: DEV });
    expect(problemsOf(() => setReleasePin(root, "dev", "shop", "-r1 x"))).toEqual([
      `stacks/Pulumi.dev.yaml: config.acme:releases.shop: must be a release id: 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-', got "-r1 x"`,
    ]);
    expect(readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8")).toBe(DEV);
  });

  it("does not check that the app is in the catalogue", () => {
    const root = project({ dev: DEV });
    expect(() => setReleasePin(root, "dev", "not-an-app", "r1")).not.toThrow();
  });
});
