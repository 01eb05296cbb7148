// A release is a pin change: on AWS it must reach hosts only through new launch-template versions
// (user-data), referenced explicitly by the ASGs, and a stack left alone must change nothing.
import { beforeAll, describe, expect, it } from "vitest";
import type { EnvironmentSpec } from "../../src/config/index.ts";
import { captureEnvironment, LATEST_VERSION, ofType, specOf, unwrapSecrets, type StackGraph } from "./harness.ts";

function withPin(spec: EnvironmentSpec, app: string, release: string): EnvironmentSpec {
  return { ...spec, knobs: { ...spec.knobs, releases: { ...spec.knobs.releases, [app]: release } } };
}

/** `type name` -> property -> JSON of its input, for every resource of a graph. */
function inputsByResource(g: StackGraph): Map<string, Map<string, string>> {
  return new Map(g.resources.map((r) => [`${r.type} ${r.name}`, new Map(Object.entries(r.inputs).map(([k, v]) => [k, JSON.stringify(unwrapSecrets(v))]))]));
}

/** Every `resource: property` whose input differs between two graphs. */
function changedInputs(a: StackGraph, b: StackGraph): string[] {
  const x = inputsByResource(a);
  const y = inputsByResource(b);
  const out: string[] = [];
  for (const key of new Set([...x.keys(), ...y.keys()])) {
    const p = x.get(key);
    const q = y.get(key);
    if (!p || !q) {
      out.push(`${key}: ${p ? "removed" : "added"}`);
      continue;
    }
    for (const prop of new Set([...p.keys(), ...q.keys()])) if (p.get(prop) !== q.get(prop)) out.push(`${key}: ${prop}`);
  }
  return out.sort();
}

const staging = specOf("staging");
let before: StackGraph;
let again: StackGraph;
let shopPinned: StackGraph;
let blogPinned: StackGraph;

beforeAll(async () => {
  before = await captureEnvironment(staging);
  again = await captureEnvironment(staging);
  shopPinned = await captureEnvironment(withPin(staging, "shop", "r0123456789ab"));
  blogPinned = await captureEnvironment(withPin(staging, "blog", "r0123456789ab"));
});

describe("releases on AWS are pin changes", () => {
  it("an unchanged stack gives every resource the same inputs: nothing to update or replace", () => {
    expect(again.resources.length).toBe(before.resources.length);
    expect(changedInputs(before, again)).toEqual([]);
  });

  it("a pin change changes the user-data of the launch templates of the roles running that app, and nothing else", () => {
    // shop runs on web (its wsgi process) and on worker (its mailer): both roles get a new version.
    expect(changedInputs(before, shopPinned)).toEqual([
      "aws:ec2/launchTemplate:LaunchTemplate fawkes-web-template: userData",
      "aws:ec2/launchTemplate:LaunchTemplate fawkes-worker-template: userData",
    ]);
    // blog runs on web only: the worker fleet is left alone.
    expect(changedInputs(before, blogPinned)).toEqual(["aws:ec2/launchTemplate:LaunchTemplate fawkes-web-template: userData"]);
    const ud = (g: StackGraph) => Buffer.from(ofType(g, "aws:ec2/launchTemplate:LaunchTemplate").find((r) => r.name === "fawkes-web-template")!.inputs.userData as string, "base64");
    expect(ud(shopPinned).equals(ud(before))).toBe(false);
  });

  it("every ASG runs its launch template's explicit latest version, never $Latest or $Default", () => {
    for (const g of [before, shopPinned]) {
      const templates = ofType(g, "aws:ec2/launchTemplate:LaunchTemplate");
      for (const asg of ofType(g, "aws:autoscaling/group:Group")) {
        const lt = asg.inputs.launchTemplate as { id: string; version: string };
        expect(lt.version).toBe(String(LATEST_VERSION));
        expect(["$Latest", "$Default"]).not.toContain(lt.version);
        expect(templates.map((t) => t.id)).toContain(lt.id);
        expect((asg.inputs.instanceRefresh as { strategy: string }).strategy).toBe("Rolling");
      }
    }
  });
});
