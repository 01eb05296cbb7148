import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { budgetName, NAME_LIMITS, slug, type NameKind } from "../../src/names/index.ts";

const kinds = Object.keys(NAME_LIMITS) as NameKind[];
const hostile = fc.oneof(
  fc.string({ maxLength: 255 }),
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.constantFrom("feature/JIRA-123_Add.Stuff", "ÄÖÜ-ünïcödé", "../../etc", "a".repeat(255), "---", "", "UPPER/case.dots"),
);

describe("name budget", () => {
  it("keeps every name within its kind's limit, lowercase a-z0-9-, starting with a letter", () => {
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.array(hostile, { minLength: 1, maxLength: 4 }), (kind, parts) => {
        const name = budgetName(kind, ...parts);
        expect(name.length).toBeLessThanOrEqual(NAME_LIMITS[kind]);
        expect(name).toMatch(/^[a-z][a-z0-9-]*$/);
        expect(name).not.toMatch(/--|-$/);
      }),
      { numRuns: 500 },
    );
  });

  it("is deterministic", () => {
    fc.assert(fc.property(fc.array(hostile, { minLength: 1, maxLength: 3 }), (parts) => budgetName("alb", ...parts) === budgetName("alb", ...parts)));
  });

  it("keeps names distinct when they differ only past the limit", () => {
    const base = "fawkes-qa-feature-some-really-long-branch-name";
    const a = budgetName("targetGroup", base, "shop-one");
    const b = budgetName("targetGroup", base, "shop-two");
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(32);
    fc.assert(
      fc.property(fc.string({ minLength: 40, maxLength: 100 }), fc.string({ minLength: 1, maxLength: 5 }), fc.string({ minLength: 1, maxLength: 5 }), (head, x, y) => {
        fc.pre(x !== y);
        return budgetName("alb", head + x) !== budgetName("alb", head + y);
      }),
    );
  });

  it("leaves short names readable", () => {
    expect(budgetName("alb", "fawkes", "staging", "web")).toBe("fawkes-staging-web");
    expect(slug("Feature/Add_Thing")).toBe("feature-add-thing");
    expect(budgetName("alb", "feature/x")).not.toBe(budgetName("alb", "feature-x"));
  });
});
