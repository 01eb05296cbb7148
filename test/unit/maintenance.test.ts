// `fawkes maintenance`: the knob (schema, cross-check, text-preserving editor) and the command on
// both targets where it needs no root: AWS through a recording double of `pulumi up` (and the
// real runner with no pulumi on PATH), and a local stack that is not up.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoProjectCopy } from "../helpers/recipe.ts";
import { parse } from "yaml";
import { main } from "../../src/cli/main.ts";
import { maintenanceDeps } from "../../src/cli/commands/maintenance.ts";
import { ConfigError, loadStack } from "../../src/config/index.ts";
import { flowList, setMaintenanceKnob } from "../../src/maintenance/index.ts";
import { DEPLOY_LOCK_ITEM, LOCK_KEY, storesOf } from "../../src/model/index.ts";
import { acquireDeployLock, previousRelease, readHistory } from "../../src/release/index.ts";
import { lockTable } from "../helpers/lock-table.ts";

let home = "";
let savedHome: string | undefined;
const roots: string[] = [];

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-maint-home-"));
  savedHome = process.env.FAWKES_HOME;
  process.env.FAWKES_HOME = home;
});

afterAll(() => {
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** This repository's catalogue and stacks in a throw-away dir. */
function project(): string {
  const root = repoProjectCopy("fawkes-maint-");
  roots.push(root);
  return root;
}

async function fawkes(root: string, ...argv: string[]) {
  let out = "";
  let err = "";
  const code = await main([...argv, "--project", root], { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
  return { code, out, err };
}

const stackText = (root: string, stack: string) => readFileSync(join(root, "stacks", `Pulumi.${stack}.yaml`), "utf8");

describe("the maintenance knob", () => {
  it("defaults to no app, and must name apps of the catalogue once each", () => {
    const root = project();
    expect(loadStack(root, "dev").knobs.maintenance).toEqual([]);
    writeFileSync(join(root, "stacks/Pulumi.dev.yaml"), `${stackText(root, "dev")}  fawkes:maintenance: [shpo, blog, blog]\n`);
    let message = "";
    try {
      loadStack(root, "dev");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toContain('stacks/Pulumi.dev.yaml: config.fawkes:maintenance[0]: puts "shpo" in maintenance, which is not an app of the catalogue (apps: shop, blog); did you mean "shop"?');
    expect(message).toContain('config.fawkes:maintenance: lists "blog" more than once');
  });

  it("is written keeping every other byte, and removed again by an empty list", () => {
    const root = project();
    const before = stackText(root, "staging");
    setMaintenanceKnob(root, "staging", ["shop"]);
    expect(stackText(root, "staging")).toBe(`${before}  fawkes:maintenance: [shop]\n`);
    setMaintenanceKnob(root, "staging", ["shop", "blog"]);
    expect(stackText(root, "staging")).toBe(`${before}  fawkes:maintenance: [shop, blog]\n`);
    expect(loadStack(root, "staging").knobs.maintenance).toEqual(["shop", "blog"]);
    setMaintenanceKnob(root, "staging", []);
    expect(stackText(root, "staging")).toBe(before);
  });

  it("edits a block list and a bare key where the file has them, comments kept", () => {
    const root = project();
    const dev = stackText(root, "dev");
    writeFileSync(join(root, "stacks/Pulumi.dev.yaml"), dev.replace("config:\n", "config:\n  maintenance:   # by hand\n    - blog\n"));
    setMaintenanceKnob(root, "dev", ["shop", "blog"]);
    const text = stackText(root, "dev");
    expect(text).toContain("  maintenance:   # by hand\n    [shop, blog]\n");
    expect((parse(text) as { config: Record<string, unknown> }).config.maintenance).toEqual(["shop", "blog"]);
    setMaintenanceKnob(root, "dev", []);
    expect(stackText(root, "dev")).toBe(dev);
  });

  it("gives a branch stack its own file, and [] there (not the template's list)", () => {
    const root = project();
    setMaintenanceKnob(root, "qa-feature-x", ["blog"]);
    expect(stackText(root, "qa-feature-x")).toContain("  fawkes:maintenance: [blog]\n");
    setMaintenanceKnob(root, "qa-feature-x", []);
    expect(stackText(root, "qa-feature-x")).toContain("  fawkes:maintenance: []\n");
    expect(flowList(["null", "shop"])).toBe('["null", shop]');
  });
});

describe("fawkes maintenance on AWS (a recording double of pulumi up, the stack's lock table in memory)", () => {
  const calls: Array<{ argv: readonly string[]; cwd: string; knob: unknown; lock?: string }> = [];
  let exitCode = 0;
  let root = "";
  let locks: ReturnType<typeof lockTable>;
  beforeAll(() => {
    root = project();
    locks = lockTable(storesOf(loadStack(root, "staging")).lockTable, LOCK_KEY);
    locks.install();
    maintenanceDeps.pulumi = async (argv, cwd, line) => {
      // What pulumi would read: the stack file as written before it runs; and who holds the stack.
      calls.push({ argv, cwd, knob: (parse(stackText(root, "staging")) as { config: Record<string, unknown> }).config["fawkes:maintenance"], lock: locks.items.get(DEPLOY_LOCK_ITEM)?.Command?.S });
      line("Updating (staging)");
      return { exitCode };
    };
  });
  afterAll(() => {
    delete maintenanceDeps.pulumi;
    locks.restore();
  });

  it("on: writes the knob, runs pulumi up on the stack, records it", async () => {
    const r = await fawkes(root, "maintenance", "on", "shop", "--stack", "staging", "--target", "aws", "--json");
    expect(r.code).toBe(0);
    expect(calls).toEqual([{ argv: ["pulumi", "up", "--stack", "staging", "--yes", "--non-interactive", "--diff"], cwd: root, knob: ["shop"], lock: "fawkes maintenance on shop --stack staging --target aws" }]);
    expect(locks.items.size).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ stack: "staging", app: "shop", on: true, target: "aws", changed: true, applied: "pulumi-up", maintenance: ["shop"] });
    expect(loadStack(root, "staging").knobs.maintenance).toEqual(["shop"]);
    expect(readHistory("staging").at(-1)).toMatchObject({ kind: "maintenance", target: "aws", app: "shop", command: "fawkes maintenance on shop --stack staging --target aws", result: "succeeded", hostsReplaced: [] });
  });

  it("on again: says so, exit 0, no pulumi up, nothing recorded", async () => {
    const entries = readHistory("staging").length;
    const r = await fawkes(root, "maintenance", "on", "shop", "--stack", "staging", "--target", "aws");
    expect(r.code).toBe(0);
    expect(r.out).toContain("staging: shop already is in maintenance");
    expect(calls).toHaveLength(1);
    expect(readHistory("staging")).toHaveLength(entries);
  });

  it("off with a failing pulumi up: exit 1, the knob restored, the failure recorded", async () => {
    exitCode = 255;
    const before = stackText(root, "staging");
    const r = await fawkes(root, "maintenance", "off", "shop", "--stack", "staging", "--target", "aws");
    exitCode = 0;
    expect(r.code).toBe(1);
    expect(calls.at(-1)?.knob).toBeUndefined();
    expect(r.out).toContain("pulumi up exited 255. The stack file is restored");
    expect(stackText(root, "staging")).toBe(before);
    expect(readHistory("staging").at(-1)).toMatchObject({ kind: "maintenance", command: "fawkes maintenance off shop --stack staging --target aws", result: "failed" });
  });

  it("with no pulumi on PATH (the real runner): says to install it, restores the knob", async () => {
    delete maintenanceDeps.pulumi;
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), "fawkes-nopath-"));
    roots.push(process.env.PATH);
    try {
      const before = stackText(root, "staging");
      const r = await fawkes(root, "maintenance", "off", "shop", "--stack", "staging", "--target", "aws");
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/could not run pulumi \(.*\); install the Pulumi CLI/);
      expect(stackText(root, "staging")).toBe(before);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe("fawkes maintenance, refusals and the local target without a running stack", () => {
  it("an unknown app: exit 1 with the closest name, nothing written", async () => {
    const root = project();
    const before = stackText(root, "dev");
    const r = await fawkes(root, "maintenance", "on", "shpo", "--stack", "dev");
    expect(r.code).toBe(1);
    expect(r.err).toBe('error: no app "shpo" in the catalogue (apps: shop, blog); did you mean "shop"?\n');
    expect(stackText(root, "dev")).toBe(before);
  });

  it("usage: --stack is required, the target is local or aws", async () => {
    const root = project();
    expect((await fawkes(root, "maintenance", "on", "shop")).code).toBe(2);
    expect((await fawkes(root, "maintenance", "on", "shop", "--stack", "dev", "--target", "gcp")).code).toBe(2);
  });

  it("a stack locked by a rollout: exit 3, nothing written", async () => {
    const root = project();
    const before = stackText(root, "dev");
    const held = acquireDeployLock("dev", "fawkes release shop r1 --stack dev", home);
    try {
      const r = await fawkes(root, "maintenance", "on", "shop", "--stack", "dev");
      expect(r.code).toBe(3);
      expect(r.err).toContain("stack dev is locked by another rollout");
      expect(stackText(root, "dev")).toBe(before);
    } finally {
      held.release();
    }
  });

  it("a stack not up locally: the knob is written and recorded, applied by the next local up", async () => {
    const root = project();
    const r = await fawkes(root, "maintenance", "on", "blog", "--stack", "dev");
    expect(r.code).toBe(0);
    expect(r.out).toContain("dev: blog is in maintenance, recorded in");
    expect(r.out).toContain("dev is not up locally: the next fawkes local up --stack dev applies it");
    expect(loadStack(root, "dev").knobs.maintenance).toEqual(["blog"]);
    expect(readHistory("dev").at(-1)).toMatchObject({ kind: "maintenance", target: "local", app: "blog", result: "succeeded" });
    const s = await fawkes(root, "maintenance", "status", "--stack", "dev", "--json");
    expect(JSON.parse(s.out)).toEqual({ stack: "dev", apps: ["blog"], local: { up: false } });
    const off = await fawkes(root, "maintenance", "off", "blog", "--stack", "dev");
    expect(off.code).toBe(0);
    expect(loadStack(root, "dev").knobs.maintenance).toEqual([]);
    expect((await fawkes(root, "maintenance", "off", "blog", "--stack", "dev")).out).toBe("dev: blog already is out of maintenance\n");
  });

  it("a history of toggles reads off -> on and leaves rollbacks alone", () => {
    const toggles = readHistory("dev").filter((x) => x.kind === "maintenance");
    expect(toggles.map((e) => [e.from, e.to])).toEqual([["off", "on"], ["on", "off"]]);
    const release = { ...toggles[0]!, kind: "release" as const, app: "blog", from: "r1", to: "r2" };
    expect(previousRelease([release, ...toggles], "blog", "r2")).toBe("r1");
  });
});
