// The catalogue's `health` (issue 19): the statuses that count healthy, in what the ALB's matcher
// takes and nothing more, and the method, GET everywhere or HEAD on the local target only. The bad
// values' messages are fixtures (test/fixtures/config/health-*): config-errors.test.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { albHealthProblems } from "../../src/check/aws-limits.ts";
import { checkAws } from "../../src/check/aws.ts";
import { checkProject } from "../../src/check/index.ts";
import { HealthSchema, statusAccepted } from "../../src/config/index.ts";
import { projectWith } from "./fixture-project.ts";

const statuses = (value: unknown) => HealthSchema.parse({ statuses: value }).statuses;

describe("health.statuses", () => {
  it("is 200-399 by default, with GET and the health path /healthz", () => {
    expect(HealthSchema.parse({})).toMatchObject({ path: "/healthz", statuses: "200-399", method: "GET" });
  });

  it("takes one code, a list of codes or one range, as a number, YAML list or the ALB's own text, and keeps it in the ALB's syntax", () => {
    expect(statuses(200)).toBe("200");
    expect(statuses("204")).toBe("204");
    expect(statuses("200,204")).toBe("200,204");
    expect(statuses("200, 204")).toBe("200,204");
    expect(statuses([204, 200])).toBe("200,204");
    expect(statuses([200, "301", 302])).toBe("200,301,302");
    expect(statuses("200-299")).toBe("200-299");
    expect(statuses(["300-308"])).toBe("300-308");
    expect(statuses("200-200")).toBe("200");
    expect(statuses("200-499")).toBe("200-499");
  });

  it("refuses what the ALB's matcher cannot say: codes outside 200-499, a range beside other codes", () => {
    const refused = (value: unknown) => HealthSchema.safeParse({ statuses: value }).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(refused(199)).toEqual(["statuses: 199 is outside 200-499, the codes an ALB health check can expect"]);
    expect(refused("200-500")).toEqual(["statuses: 500 is outside 200-499, the codes an ALB health check can expect"]);
    expect(refused(["200-299", "302"])?.[0]).toMatch(/^statuses: mixes a range with other codes or ranges \("200-299", "302"\): the ALB's matcher takes a list of codes/);
    expect(refused("200-299,300-399")?.[0]).toMatch(/^statuses: mixes a range/);
    expect(refused(200.5)).toEqual(["statuses: 200.5 is not a status code or a range; write a code as a number (204) and a range as \"200-399\""]);
    expect(refused(true)?.[0]).toMatch(/^statuses: must be HTTP status codes: /);
  });

  it("is read back as the ALB reads it: a code is healthy when it is one of the list or inside the range", () => {
    expect(statusAccepted("200-399", 302)).toBe(true);
    expect(statusAccepted("200-399", 399)).toBe(true);
    expect(statusAccepted("200-399", 400)).toBe(false);
    expect(statusAccepted("200", 302)).toBe(false);
    expect(statusAccepted("200,204", 204)).toBe(true);
    expect(statusAccepted("200,204", 202)).toBe(false);
    expect(statusAccepted("200-399", 0)).toBe(false);
  });
});

describe("health.method", () => {
  it("is GET or HEAD", () => {
    expect(HealthSchema.parse({ method: "HEAD" }).method).toBe("HEAD");
    expect(HealthSchema.safeParse({ method: "get" }).success).toBe(false);
  });

  it("HEAD is what the ALB cannot ask: a problem naming the app's key for AWS, none for GET", () => {
    const apps = [{ name: "shop", health: HealthSchema.parse({}) }, { name: "blog", health: HealthSchema.parse({ method: "HEAD" }) }];
    expect(albHealthProblems(apps)).toEqual([{
      file: "Pulumi.yaml",
      path: "config.catalogue.value.apps[1].health.method",
      message: "is HEAD, but the ALB's health check always sends GET (a target group has no method setting): app blog would be checked one way locally and another on AWS",
      hint: "use GET (the default) for a stack that runs on AWS; HEAD works on the local target only",
    }]);
    expect(albHealthProblems(apps.slice(0, 1))).toEqual([]);
  });

  it("HEAD: check warns that the stack runs locally only, check --target aws refuses it before asking AWS anything", async () => {
    const { root, cleanup } = projectWith();
    try {
      const file = join(root, "Pulumi.yaml");
      writeFileSync(file, `${readFileSync(file, "utf8").trimEnd()}\n          health: { path: /healthz/, method: HEAD }\n`);
      const report = checkProject(root);
      expect(report.problems).toEqual([]);
      expect(report.stacks[0]!.warnings).toContain(
        "config.catalogue.value.apps[1].health.method is HEAD, but the ALB's health check always sends GET (a target group has no method setting): app blog would be checked one way locally and another on AWS: this stack runs on the local target only (check --target aws and pulumi up refuse it)",
      );
      const unasked = new Proxy({}, { get: (_, name) => () => Promise.reject(new Error(`AWS asked ${String(name)}`)) });
      const aws = await checkAws({ root, stack: "dev", probe: unasked as never, resources: [] });
      expect(aws.problems.map((p) => `${p.file}: ${p.path}: ${p.message}`)).toEqual([
        "Pulumi.yaml: config.catalogue.value.apps[1].health.method: is HEAD, but the ALB's health check always sends GET (a target group has no method setting): app blog would be checked one way locally and another on AWS",
      ]);
    } finally {
      cleanup();
    }
  });
});
