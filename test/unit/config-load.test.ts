import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, loadAllStacks, loadEnvironment, loadFromPulumiConfig, loadStack, readProject, readRecipe } from "../../src/config/index.ts";
import { checkProject } from "../../src/check/index.ts";
import { projectWith } from "./fixture-project.ts";

const ROOT = join(import.meta.dirname, "../..");

describe("loading the repository's own stacks", () => {
  const specs = loadAllStacks(ROOT);

  it("has the four environments", () => {
    expect(specs.map((s) => s.stack)).toEqual(["dev", "production", "qa", "staging"]);
  });

  it("fills every default from the schema", () => {
    const dev = specs.find((s) => s.stack === "dev")!;
    expect(dev.knobs.qaTtl).toBe("3d");
    expect(dev.knobs.rollout.minHealthyPercent).toBe(100);
    const shop = dev.catalogue.apps.find((a) => a.name === "shop")!;
    expect(shop.health.path).toBe("/healthz");
    expect(shop.processes.web!.role).toBe("web");
    expect(shop.processes.mailer!.role).toBe("worker");
    expect(shop.domains).toEqual(["shop"]);
  });

  it("gives every stack the same catalogue", () => {
    const [first, ...rest] = specs.map((s) => JSON.stringify(s.catalogue));
    for (const c of rest) expect(c).toBe(first);
  });

  it("freezes the spec", () => {
    const dev = specs[0]!;
    expect(Object.isFrozen(dev)).toBe(true);
    expect(Object.isFrozen(dev.knobs.fleet.web)).toBe(true);
    expect(() => {
      (dev.knobs as { instanceType: string }).instanceType = "x1.large";
    }).toThrow();
  });

  it("derives uids from app names, not from their order", () => {
    const p = projectWith();
    try {
      const before = loadStack(p.root, "dev").catalogue.apps.map((a) => [a.name, a.uid]);
      const yaml = `name: acme\nruntime: nodejs\nstackConfigDir: stacks\nconfig:\n  catalogue:\n    value:\n      apps:\n        - { name: blog, source: apps/blog, processes: { web: { wsgi: "blog.wsgi:application" } } }\n        - { name: shop, source: apps/shop, processes: { web: { wsgi: "shop.app:app" } } }\n`;
      writeFileSync(join(p.root, "Pulumi.yaml"), yaml);
      const after = loadStack(p.root, "dev").catalogue.apps.map((a) => [a.name, a.uid]);
      expect(Object.fromEntries(after)).toEqual(Object.fromEntries(before));
    } finally {
      p.cleanup();
    }
  });
});

describe("layering", () => {
  it("a branch stack qa-<branch> layers its knobs over the qa template, objects merged key by key", () => {
    const p = projectWith();
    try {
      writeFileSync(join(p.root, "stacks/Pulumi.qa.yaml"), "config:\n  acme:domain: qa.acme.test\n  acme:instanceType: t3.medium\n  acme:fleet: { web: { min: 1, max: 3, desired: 2 } }\n  acme:releases: { shop: r1, blog: r1 }\n");
      writeFileSync(join(p.root, "stacks/Pulumi.qa-feature-x.yaml"), "config:\n  acme:releases: { shop: r7 }\n  acme:fleet: { web: { desired: 1 } }\n");
      const spec = loadStack(p.root, "qa-feature-x");
      expect(spec.template).toBe("qa");
      expect(spec.knobs.instanceType).toBe("t3.medium");
      expect(spec.knobs.releases).toEqual({ shop: "r7", blog: "r1" });
      expect(spec.knobs.fleet.web).toEqual({ min: 1, max: 3, desired: 1 });
    } finally {
      p.cleanup();
    }
  });

  it("a branch stack without a file of its own is the qa template", () => {
    const p = projectWith();
    try {
      writeFileSync(join(p.root, "stacks/Pulumi.qa.yaml"), "config:\n  acme:domain: qa.acme.test\n  acme:releases: { shop: r1, blog: r1 }\n");
      expect(loadStack(p.root, "qa-other").knobs.releases).toEqual({ shop: "r1", blog: "r1" });
    } finally {
      p.cleanup();
    }
  });

  it("a branch stack answers one label under the template's domain, unless it sets its own", () => {
    const p = projectWith();
    try {
      writeFileSync(join(p.root, "stacks/Pulumi.qa.yaml"), "config:\n  acme:domain: qa.acme.test\n  acme:releases: { shop: r1, blog: r1 }\n");
      writeFileSync(join(p.root, "stacks/Pulumi.qa-feature-x.yaml"), "config:\n  acme:releases: { shop: r7 }\n");
      writeFileSync(join(p.root, "stacks/Pulumi.qa-demo.yaml"), "config:\n  acme:domain: demo.acme.test\n");
      expect(loadStack(p.root, "qa-feature-x").knobs.domain).toBe("feature-x.qa.acme.test");
      expect(loadStack(p.root, "qa-other").knobs.domain).toBe("other.qa.acme.test");
      expect(loadStack(p.root, "qa-demo").knobs.domain).toBe("demo.acme.test");
      expect(loadStack(p.root, "qa").knobs.domain).toBe("qa.acme.test");
    } finally {
      p.cleanup();
    }
  });

  it("a problem in the template is reported against the template's file", () => {
    const p = projectWith();
    try {
      writeFileSync(join(p.root, "stacks/Pulumi.qa.yaml"), "config:\n  acme:domain: qa.acme.test\n  acme:releases: { shop: r1, blog: r1 }\n  acme:backupRetentionDays: 0\n");
      writeFileSync(join(p.root, "stacks/Pulumi.qa-b.yaml"), "config:\n  acme:releases: { shop: r2 }\n");
      expect(() => loadStack(p.root, "qa-b")).toThrow("stacks/Pulumi.qa.yaml: config.acme:backupRetentionDays: must be at least 1, got 0");
    } finally {
      p.cleanup();
    }
  });

  it("an unknown stack names the stacks there are", () => {
    const p = projectWith();
    try {
      expect(() => loadStack(p.root, "prod")).toThrow("stacks/Pulumi.prod.yaml: no such stack; stacks: dev");
    } finally {
      p.cleanup();
    }
  });

  it("loadAllStacks reports the problems of every stack at once", () => {
    const p = projectWith();
    try {
      mkdirSync(join(p.root, "stacks"), { recursive: true });
      writeFileSync(join(p.root, "stacks/Pulumi.dev.yaml"), "config:\n  acme:domain: bad_domain\n  acme:releases: { shop: r1, blog: r1 }\n");
      writeFileSync(join(p.root, "stacks/Pulumi.prod.yaml"), "config:\n  acme:domain: acme.test\n  acme:releases: { shop: r1, blog: r1 }\n  acme:fleet: { web: { min: 3, max: 2, desired: 2 } }\n");
      let err: ConfigError | undefined;
      try {
        loadAllStacks(p.root);
      } catch (e) {
        err = e as ConfigError;
      }
      expect(err?.problems.map((x) => `${x.file}: ${x.path}`)).toEqual([
        "stacks/Pulumi.dev.yaml: config.acme:domain",
        "stacks/Pulumi.prod.yaml: config.acme:fleet.web",
      ]);
    } finally {
      p.cleanup();
    }
  });
});

describe("the Pulumi program's way in", () => {
  it("gives the same spec from Pulumi's merged string config as from the files", () => {
    const fromFiles = loadStack(ROOT, "staging");
    const project = readProject(ROOT);
    const all: Record<string, string> = {};
    // Pulumi hands every value over as a string, objects and numbers JSON-encoded.
    for (const [k, v] of Object.entries(project.layer.values)) all[k] = JSON.stringify(v);
    const stackYaml = loadStackValues("staging");
    for (const [k, v] of Object.entries(stackYaml)) all[k] = typeof v === "string" ? v : JSON.stringify(v);
    expect(loadFromPulumiConfig(project.name, "staging", all, ROOT)).toEqual(fromFiles);
  });

  it("layers a branch stack over the qa template's file, as the CLI does", () => {
    const p = projectWith();
    try {
      // The program runs on AWS, where a QA stack needs its parent: this project's is dev.
      writeFileSync(join(p.root, "stacks/Pulumi.qa.yaml"), "config:\n  acme:domain: qa.acme.test\n  acme:instanceType: t3.medium\n  acme:releases: { shop: r1, blog: r1 }\n  acme:parent: dev\n");
      writeFileSync(join(p.root, "stacks/Pulumi.qa-feature-x.yaml"), "config:\n  acme:releases: { shop: r7 }\n");
      const project = readProject(p.root);
      const all: Record<string, string> = { "acme:catalogue": JSON.stringify(project.layer.values["acme:catalogue"]), "acme:releases": JSON.stringify({ shop: "r7" }) };
      const spec = loadFromPulumiConfig("acme", "qa-feature-x", all, p.root);
      expect(spec).toEqual(loadStack(p.root, "qa-feature-x"));
      expect(spec.knobs.domain).toBe("feature-x.qa.acme.test");
      expect(spec.knobs.instanceType).toBe("t3.medium");
    } finally {
      p.cleanup();
    }
  });

  it("reports a bad knob without a file to point at, naming the stack", () => {
    const project = readProject(ROOT);
    const all = { "fawkes:catalogue": JSON.stringify(project.layer.values["fawkes:catalogue"]), "fawkes:domain": "x", "fawkes:releases": "{}" };
    expect(() => loadFromPulumiConfig("fawkes", "dev", all, ROOT)).toThrow("stack config of dev: config.fawkes:domain: must be a lowercase DNS name");
  });
});

describe("a QA stack's parent: on AWS it runs in its parent's network", () => {
  const QA = "config:\n  acme:domain: qa.acme.test\n  acme:releases: { shop: r1, blog: r1 }\n";
  const messageOf = (work: () => unknown): string => {
    try {
      work();
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    return "loaded";
  };

  it("a project without the default parent (staging) loads for the local target, and gets a clear error, in the qa template's file, for AWS", () => {
    const p = projectWith();
    try {
      writeFileSync(join(p.root, "stacks/Pulumi.qa.yaml"), QA);
      writeFileSync(join(p.root, "stacks/Pulumi.qa-feature-x.yaml"), "config:\n  acme:releases: { shop: r7 }\n");
      expect(loadStack(p.root, "qa-feature-x").knobs.parent).toBe("staging");
      const expected =
        '1 configuration problem:\n  stacks/Pulumi.qa.yaml: config.acme:parent: "staging" (the default) is not a stack of this project (it has no stack file); on AWS a QA stack runs in its parent\'s network, so the parent is a stack with a network of its own: set parent to one of dev, or add the staging stack';
      expect(messageOf(() => loadStack(p.root, "qa-feature-x", { parentMustExist: true }))).toBe(expected);
      // The Pulumi program (AWS) checks the same, before its stack reference would fail.
      const project = readProject(p.root);
      const all = { "acme:catalogue": JSON.stringify(project.layer.values["acme:catalogue"]), "acme:releases": JSON.stringify({ shop: "r7" }) };
      expect(messageOf(() => loadFromPulumiConfig("acme", "qa-feature-x", all, p.root))).toBe(expected);
      // `fawkes check`, where the stacks are checked together, reports it once.
      expect(checkProject(p.root).problems.filter((q) => q.path === "config.acme:parent").map((q) => q.file)).toEqual(["stacks/Pulumi.qa.yaml"]);
    } finally {
      p.cleanup();
    }
  });

  it("a project with no stack that could be a parent is told to add one", () => {
    const p = projectWith();
    try {
      rmSync(join(p.root, "stacks/Pulumi.dev.yaml"));
      writeFileSync(join(p.root, "stacks/Pulumi.qa.yaml"), QA);
      expect(messageOf(() => loadStack(p.root, "qa", { parentMustExist: true }))).toContain(
        'config.acme:parent: "staging" (the default) is not a stack of this project (it has no stack file); on AWS a QA stack runs in its parent\'s network, so the parent is a stack with a network of its own: add the staging stack (or another stack that is not a QA stack) and deploy it first',
      );
    } finally {
      p.cleanup();
    }
  });

  it("a parent a stack file names is checked where it is named, with a did-you-mean", () => {
    const p = projectWith();
    try {
      writeFileSync(join(p.root, "stacks/Pulumi.qa.yaml"), QA);
      writeFileSync(join(p.root, "stacks/Pulumi.qa-feature-x.yaml"), "config:\n  acme:parent: dve\n");
      expect(messageOf(() => loadStack(p.root, "qa-feature-x", { parentMustExist: true }))).toBe(
        '1 configuration problem:\n  stacks/Pulumi.qa-feature-x.yaml: config.acme:parent: "dve" is not a stack of this project (it has no stack file); on AWS a QA stack runs in its parent\'s network, so the parent is a stack with a network of its own: set parent to one of dev, or add the dve stack; did you mean "dev"?',
      );
      writeFileSync(join(p.root, "stacks/Pulumi.qa-feature-x.yaml"), "config:\n  acme:parent: dev\n");
      expect(loadStack(p.root, "qa-feature-x", { parentMustExist: true }).knobs.parent).toBe("dev");
    } finally {
      p.cleanup();
    }
  });

  it("a QA stack is never a parent, on either target", () => {
    const p = projectWith();
    try {
      writeFileSync(join(p.root, "stacks/Pulumi.qa.yaml"), QA);
      writeFileSync(join(p.root, "stacks/Pulumi.qa-feature-x.yaml"), "config:\n  acme:parent: qa\n");
      expect(messageOf(() => loadStack(p.root, "qa-feature-x"))).toBe(
        '1 configuration problem:\n  stacks/Pulumi.qa-feature-x.yaml: config.acme:parent: "qa" is a QA stack, which has no network of its own to share; name a stack that has one, like "staging"',
      );
    } finally {
      p.cleanup();
    }
  });
});

describe("loadEnvironment with in-memory layers", () => {
  it("reports problems of the catalogue and of the knobs together", () => {
    expect(() =>
      loadEnvironment({
        project: "p",
        stack: "dev",
        projectLayer: { file: "Pulumi.yaml", values: { "p:catalogue": { apps: [{ name: "a", source: "a", processes: { web: { wsgi: "bad" } } }] } } },
        recipe: readRecipe(ROOT, []),
        stackLayers: [{ file: "stacks/Pulumi.dev.yaml", values: { "p:domain": "dev.p.test", "p:releases": { a: "r1" }, "p:qaTtl": "3 days" } }],
      }),
    ).toThrow(/2 configuration problems:\n.*apps\[0\]\.processes\.web\.wsgi: must be a WSGI entry point.*\n.*p:qaTtl: must be a duration/);
  });
});

function loadStackValues(stack: string): Record<string, unknown> {
  const text = readFileSync(join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8");
  return (parseYaml(text) as { config: Record<string, unknown> }).config;
}
