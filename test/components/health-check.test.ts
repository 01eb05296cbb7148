// The ALB's health check of each app's target group under Pulumi's mocks (issue 19): the catalogue's
// path and statuses, the latter as the matcher's text (the ALB's syntax is what the catalogue
// keeps), and a catalogue asking HEAD, which no target group can send, refused before any resource.
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, HealthSchema, type EnvironmentSpec, type Health } from "../../src/config/index.ts";
import { captureEnvironment, one, specOf, type StackGraph } from "./harness.ts";

const TG = "aws:lb/targetGroup:TargetGroup";

/** Staging with some apps' health as a catalogue would write it. */
function stagingWith(health: Record<string, Record<string, unknown>>): EnvironmentSpec {
  const staging = specOf("staging");
  const apps = staging.catalogue.apps.map((a) => (health[a.name] ? { ...a, health: HealthSchema.parse({ ...health[a.name] }) as Health } : a));
  return { ...staging, catalogue: { ...staging.catalogue, apps } };
}

let g: StackGraph;
beforeAll(async () => {
  g = await captureEnvironment(stagingWith({ shop: { path: "/ready", statuses: 200 }, blog: { path: "/healthz/", statuses: [204, 200] } }));
});

describe("each app's target group", () => {
  it("expects the app's statuses, as the matcher's own syntax", () => {
    expect(one(g, TG, "fawkes-lb-shop").inputs.healthCheck).toMatchObject({ path: "/ready", matcher: "200", protocol: "HTTP", port: "traffic-port" });
    expect(one(g, TG, "fawkes-lb-blog").inputs.healthCheck).toMatchObject({ path: "/healthz/", matcher: "200,204" });
  });

  it("expects 200-399 without statuses in the catalogue, and a range as a range", async () => {
    const defaults = await captureEnvironment(specOf("staging"));
    expect(one(defaults, TG, "fawkes-lb-shop").inputs.healthCheck.matcher).toBe("200-399");
    const range = await captureEnvironment(stagingWith({ shop: { statuses: "200-299" } }));
    expect(one(range, TG, "fawkes-lb-shop").inputs.healthCheck.matcher).toBe("200-299");
  });

  it("is refused with HEAD, which the ALB's health check cannot send: the problem names the app's key", async () => {
    const error = await captureEnvironment(stagingWith({ blog: { path: "/healthz/", method: "HEAD" } })).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain("Pulumi.yaml: config.catalogue.value.apps[1].health.method: is HEAD, but the ALB's health check always sends GET");
  });
});
