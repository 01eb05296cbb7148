// The project's name (issue 17, finding 9): it reached the bootstrap's bash and the cloud-config
// unchecked. The rule is what Pulumi allows for a project intersected with what a DNS label, an S3
// bucket name and a unix path allow; a name it accepts is safe bare in a shell word.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shellWord } from "../../src/render/templates.ts";
import { budgetName, PROJECT_NAME_MAX, projectNameProblem } from "../../src/names/index.ts";
import { s3BucketNameProblem } from "../../src/names/aws-rules.ts";

/** Pulumi's own rule (sdk/go/common/tokens: ValidateProjectName). */
const PULUMI_PROJECT = /^[A-Za-z0-9_.-]{1,100}$/;
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

describe("project names", () => {
  it("accepts ordinary names, up to a DNS label's length", () => {
    for (const n of ["acme", "fawkes", "a", "shop-2", "my-shop", "a".repeat(PROJECT_NAME_MAX)]) expect(projectNameProblem(n), n).toBeUndefined();
  });

  it("refuses what Pulumi allows but host and bucket names do not, saying what would be right", () => {
    expect(projectNameProblem("my_shop")).toContain('for example "my-shop"');
    expect(projectNameProblem("Acme")).toContain('for example "acme"');
    for (const n of ["my.shop", "1acme", "acme-", "-acme", "a".repeat(PROJECT_NAME_MAX + 1)]) {
      expect(PULUMI_PROJECT.test(n), n).toBe(true);
      expect(projectNameProblem(n), n).toContain("is not a project name fawkes can use: 1-63 characters of a-z, 0-9 and '-'");
    }
  });

  it("refuses the hostile ones, missing ones and ones that are not text", () => {
    for (const n of ["acme$(id)", "acme\nrm -rf /", "ac:me", "äcme", "ac me", "a'b", "../x", "acme;id"]) expect(projectNameProblem(n), n).toMatch(/is not a project name fawkes can use/);
    expect(projectNameProblem(undefined)).toBe('missing; the project needs a name, like "acme"');
    expect(projectNameProblem("")).toBe('missing; the project needs a name, like "acme"');
    expect(projectNameProblem(123)).toBe('must be text, like "acme", got number 123');
  });

  it("every name it accepts is a Pulumi project, a DNS label, a bare shell word, part of a bucket name and a budget name as is", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[a-z][a-z0-9-]{0,64}$/)), (name) => {
        if (projectNameProblem(name) !== undefined) return;
        expect(PULUMI_PROJECT.test(name)).toBe(true);
        expect(DNS_LABEL.test(name)).toBe(true);
        expect(shellWord(name)).toBe(name);
        // Prefixes S3 reserves are AWS's rule, reported by `check` (src/check/aws-limits.ts), not a name's.
        if (!/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) expect(s3BucketNameProblem(`${name}-dev-artifacts`.slice(0, 63).replace(/-+$/, ""))).toBeUndefined();
        if (!name.includes("--")) expect(budgetName("tag", name, "dev")).toBe(`${name}-dev`);
      }),
      { numRuns: 2000 },
    );
  });
});
