// A release is a pin change: on AWS it must reach hosts only through a new bundle and new
// launch-template versions (user-data naming the bundle by its sum), referenced explicitly by the
// ASGs, and a stack left alone must change nothing.
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeUserData } from "../../src/plan/host-files.ts";
import type { EnvironmentSpec } from "../../src/config/index.ts";
import { filesOfBundle } from "../../src/render/index.ts";
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

  it("a pin change changes the bundle of the roles running that app, and their launch templates' user-data by its sum, and nothing else", () => {
    const bundleChange = (role: string) => ["contentBase64", "key", "tags"].map((p) => `aws:s3/bucketObjectv2:BucketObjectv2 fawkes-${role}-bundle: ${p}`);
    const userDataChange = (role: string) => `aws:ec2/launchTemplate:LaunchTemplate fawkes-${role}-template: userData`;
    // shop runs on web (its wsgi process) and on worker (its mailer): both roles get a new bundle.
    expect(changedInputs(before, shopPinned)).toEqual([userDataChange("web"), userDataChange("worker"), ...bundleChange("web"), ...bundleChange("worker")].sort());
    // blog runs on web only: the worker fleet is left alone.
    expect(changedInputs(before, blogPinned)).toEqual([userDataChange("web"), ...bundleChange("web")].sort());
    // The user-data names the new bundle by its sum: a host of the new version boots the new pins.
    for (const g of [before, shopPinned, blogPinned]) {
      for (const role of ["web", "worker"]) {
        const userData = decodeUserData(ofType(g, "aws:ec2/launchTemplate:LaunchTemplate").find((r) => r.name === `fawkes-${role}-template`)!.inputs.userData as string);
        const bundle = ofType(g, "aws:s3/bucketObjectv2:BucketObjectv2").find((r) => r.name === `fawkes-${role}-bundle`)!;
        const sum = createHash("sha256").update(Buffer.from(bundle.inputs.contentBase64 as string, "base64")).digest("hex");
        expect(bundle.inputs.key).toBe(`_bundles/${sum}.tar.gz`);
        expect(userData).toContain(`readonly BUNDLE_OBJECT=_bundles/${sum}.tar.gz\n`);
        expect(userData).toContain(`readonly BUNDLE_SHA256=${sum}\n`);
      }
    }
    const shopOf = (g: StackGraph) => filesOfBundle(Buffer.from(ofType(g, "aws:s3/bucketObjectv2:BucketObjectv2").find((r) => r.name === "fawkes-web-bundle")!.inputs.contentBase64 as string, "base64"));
    expect(shopOf(shopPinned).find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content).toContain("RELEASE=r0123456789ab");
    expect(shopOf(before).find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content).not.toContain("RELEASE=r0123456789ab");
  });

  it("every ASG names its launch template by id with an explicit version, never $Latest or $Default, and starts no refresh itself", () => {
    for (const g of [before, shopPinned]) {
      const templates = ofType(g, "aws:ec2/launchTemplate:LaunchTemplate");
      for (const asg of ofType(g, "aws:autoscaling/group:Group")) {
        const lt = asg.inputs.launchTemplate as { id: string; version: string };
        expect(lt.version).toBe(String(LATEST_VERSION));
        expect(lt.version).toMatch(/^\d+$/);
        expect(templates.map((t) => t.id)).toContain(lt.id);
        // fawkes release starts the refresh with a pinned version (src/release/refresh.ts): a group
        // that refreshed on its own would roll back to the template's latest, the new, bad version.
        expect(asg.inputs.instanceRefresh).toBeUndefined();
      }
    }
  });
});
