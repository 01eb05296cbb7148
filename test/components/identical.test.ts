// Identical by construction, on the AWS resource graphs: any two stacks differ only where a knob
// says so, and a stack that sneaks in a catalogue change is caught.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadEnvironment, readProject, readRecipe, stackFile, type EnvironmentSpec } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";
import { compareGraphs, KNOB_DERIVED } from "../../src/plan/stack-graph.ts";
import { captureEnvironment, captureEveryStack, ofType, ROOT, type StackGraph } from "./harness.ts";

/** Each role's launch-template user-data of a graph, decoded from base64. */
function userDataOf(g: StackGraph): Map<string, Buffer> {
  return new Map(ofType(g, "aws:ec2/launchTemplate:LaunchTemplate").map((lt) => [lt.name, Buffer.from(lt.inputs.userData as string, "base64")]));
}

/**
 * The user-data B would boot if it had A's catalogue: A's spec with B's stack name, domain, pins
 * and other knobs, rendered. Equal to B's own means B's user-data differs from A's only by knobs.
 * (Swapping the stack name in the text instead would also rewrite `/dev/...` paths.)
 */
function explainedUserData(a: EnvironmentSpec, b: EnvironmentSpec): Map<string, Buffer> {
  const aWithBKnobs: EnvironmentSpec = { ...a, stack: b.stack, template: b.template, knobs: b.knobs };
  return new Map(renderWithTestArtifacts(planEnvironment(aWithBKnobs)).map((i) => [`fawkes-${i.role}-template`, Buffer.from(i.userDataBytes)]));
}

function sameBytes(x: Map<string, Buffer>, y: Map<string, Buffer>): boolean {
  return x.size === y.size && [...x].every(([k, v]) => y.get(k)?.equals(v) === true);
}

/** A stack loaded from its real file, over a catalogue changed in memory. */
function withCatalogue(stack: string, change: (catalogue: Record<string, unknown>) => void): EnvironmentSpec {
  const project = readProject(ROOT);
  const key = `${project.name}:catalogue`;
  const catalogue = structuredClone(project.layer.values[key]) as Record<string, unknown>;
  change(catalogue);
  const file = stackFile(project, stack);
  const values = (parseYaml(readFileSync(join(ROOT, file), "utf8")) as { config: Record<string, unknown> }).config;
  return loadEnvironment({ project: project.name, stack, projectLayer: { file: "Pulumi.yaml (changed in memory)", values: { [key]: catalogue } }, recipe: readRecipe(ROOT, []), stackLayers: [{ file, values }] });
}

let graphs: StackGraph[];
beforeAll(async () => {
  graphs = await captureEveryStack();
});

const pairs = (n: number) => Array.from({ length: n }, (_, i) => Array.from({ length: n - i - 1 }, (_, j) => [i, i + j + 1] as const)).flat();

describe("every pair of stacks", () => {
  it("differs only in knob-derived properties", () => {
    expect(graphs.length).toBeGreaterThanOrEqual(4);
    for (const [i, j] of pairs(graphs.length)) {
      const c = compareGraphs(graphs[i]!, graphs[j]!);
      expect(c.unexplained, `${c.a} vs ${c.b}`).toEqual([]);
    }
  });

  it("needs every entry of the allow-list: none is wider than the stacks' knobs require", async () => {
    const used = new Set(pairs(graphs.length).flatMap(([i, j]) => compareGraphs(graphs[i]!, graphs[j]!).differences.map((d) => d.knob)));
    // No stack of the repository has an app in maintenance: dev with shop in it stands for one.
    const dev = graphs.find((g) => g.spec.stack === "dev")!;
    const inMaintenance = compareGraphs(dev, await captureEnvironment({ ...dev.spec, knobs: { ...dev.spec.knobs, maintenance: ["shop"] } }));
    expect(inMaintenance.unexplained).toEqual([]);
    for (const d of inMaintenance.differences) used.add(d.knob);
    // Every stack pins the same AMI in one region: dev on Graviton, in another region, on its own AMI stands for the others.
    const elsewhere = compareGraphs(dev, await captureEnvironment({ ...dev.spec, knobs: { ...dev.spec.knobs, region: "eu-central-1", instanceType: "t4g.small", image: { ...dev.spec.knobs.image!, ami: "ami-0fedcba9876543210", architecture: "arm64" } } }));
    expect(elsewhere.unexplained).toEqual([]);
    for (const d of elsewhere.differences) used.add(d.knob);
    // No stack of the repository keeps replaced artifact versions longer than the default: dev keeping them 90 days stands for one.
    const longer = compareGraphs(dev, await captureEnvironment({ ...dev.spec, knobs: { ...dev.spec.knobs, artifacts: { noncurrentDays: 90 } } }));
    expect(longer.unexplained).toEqual([]);
    for (const d of longer.differences) used.add(d.knob);
    expect([...used].sort()).toEqual([...new Set(KNOB_DERIVED.map((k) => k.knob))].sort());
  });

  it("boots user-data that A's catalogue with B's knobs renders byte for byte", () => {
    for (const [i, j] of pairs(graphs.length)) {
      for (const [a, b] of [[graphs[i]!, graphs[j]!], [graphs[j]!, graphs[i]!]] as const) {
        expect(sameBytes(userDataOf(b), explainedUserData(a.spec, b.spec)), `${a.spec.stack} -> ${b.spec.stack}`).toBe(true);
      }
    }
  });
});

describe("a stack that changes the catalogue", () => {
  let dev: StackGraph;
  let drifted: StackGraph;
  beforeAll(async () => {
    dev = graphs.find((g) => g.spec.stack === "dev")!;
    drifted = await captureEnvironment(
      withCatalogue("production", (c) => {
        const shop = (c.apps as Array<{ name: string; health?: { path: string } }>).find((a) => a.name === "shop")!;
        shop.health = { path: "/ready" };
      }),
    );
  });

  it("is reported: the health path is no knob", () => {
    const c = compareGraphs(dev, drifted);
    expect(c.unexplained).toEqual([{ resource: "aws:lb/targetGroup:TargetGroup::fawkes-lb-shop", path: "healthCheck.path", a: "/healthz", b: "/ready" }]);
  });

  it("boots user-data that dev's catalogue with production's knobs does not explain", () => {
    expect(sameBytes(userDataOf(drifted), explainedUserData(dev.spec, drifted.spec))).toBe(false);
    const production = graphs.find((g) => g.spec.stack === "production")!;
    expect(sameBytes(userDataOf(production), explainedUserData(dev.spec, production.spec))).toBe(true);
  });

  it("is still accepted when only a knob moves", async () => {
    const bigger = await captureEnvironment({ ...dev.spec, knobs: { ...dev.spec.knobs, instanceType: "c7i.2xlarge" } });
    const c = compareGraphs(dev, bigger);
    expect(c.unexplained).toEqual([]);
    expect(c.differences.map((d) => [d.path, d.knob])).toContainEqual(["instanceType", "instanceType"]);
  });
});
