import { rmSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { repoProjectCopy } from "../helpers/recipe.ts";
import { nameOf, type NameParts } from "../../components/tags.ts";
import { loadStack, setReleasePin } from "../../src/config/index.ts";
import { DnsLabel } from "../../src/config/primitives.ts";
import { planEnvironment, ROLES, type HostPlan } from "../../src/model/index.ts";
import { envLayout, hostSlots } from "../../src/local/layout.ts";
import { isQaStack, NAME_LIMITS, QA_STACK_MAX, qaStackName, type NameKind } from "../../src/names/index.ts";

const ROOT = join(import.meta.dirname, "../..");
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** The branch the way git means it: `refs/heads/x` is the branch `x`. */
const bare = (branch: string) => (branch.startsWith("refs/heads/") ? branch.slice("refs/heads/".length) : branch);
const usable = (branch: string) => {
  try {
    qaStackName(branch);
    return true;
  } catch {
    return false;
  }
};

const segment = fc.string({ unit: fc.constantFrom(..."abcXYZ019-_.éÜß日"), minLength: 1, maxLength: 30 });
const hostile = fc.oneof(
  fc.string({ maxLength: 255 }),
  fc.string({ unit: "grapheme", maxLength: 255 }),
  fc.string({ unit: "binary", maxLength: 255 }),
  fc.array(segment, { minLength: 1, maxLength: 12 }).map((s) => s.join("/").slice(0, 255)),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `refs/heads/${s.join("/")}`),
  fc.constantFrom("feature/JIRA-123_Add.Stuff", "ÄÖÜ-ünïcödé", "../../etc", "a".repeat(255), "-lead", "trail-", "a--b", "fix-deadbeef", "İ", "ﬁ/ﬂ"),
);
const branch = hostile.filter(usable);

/** Every name the components and the model give an environment's AWS resources (components/*.ts, src/model/plan.ts). */
function resourceNames(stack: string): Array<[NameKind, string]> {
  const spec = loadStack(ROOT, stack);
  const parts: NameParts = [spec.project, spec.stack];
  const stores = planEnvironment(spec).hosts[0]!.stores;
  const names: Array<[NameKind, ...string[]]> = [
    ["alb"],
    ...spec.catalogue.apps.map((a): [NameKind, ...string[]] => ["targetGroup", a.name]),
    ...ROLES.flatMap((r): Array<[NameKind, ...string[]]> => [["launchTemplate", r], ["autoScalingGroup", r], ["iamRole", r], ["iamInstanceProfile", r]]),
    ...["alb", "hosts", "efs"].map((t): [NameKind, ...string[]] => ["securityGroup", t]),
    ...["vpc", "igw", "nat", "public", "private", "alb", "hosts", "shared", "public 0", "public 1", "private 0", "private 1"].map((t): [NameKind, ...string[]] => ["tag", ...t.split(" ")]),
    ...spec.catalogue.apps.map((a): [NameKind, ...string[]] => ["tag", "shared", a.name]),
  ];
  return [...names.map(([kind, ...rest]): [NameKind, string] => [kind, nameOf(kind, parts, ...rest)]), ["s3Bucket", stores.artifactBucket], ["autoScalingGroup", stores.lockTable]];
}

/** Local host names of the largest fleet the local target runs (a slot number of two digits). */
function largestLocalHostNames(stack: string): string[] {
  const spec = loadStack(ROOT, stack);
  const plan = planEnvironment(spec);
  const rollout = { ...spec.knobs.rollout, maxHealthyPercent: 101 };
  for (let desired = 99; desired > 0; desired--) {
    const hosts: HostPlan[] = plan.hosts.map((h) => ({ ...h, fleet: { ...h.fleet, max: desired, desired } }));
    try {
      return hostSlots(envLayout(stack, "/var/lib/fawkes"), "10.231.7.0/24", hosts, rollout).map((s) => s.name);
    } catch {
      // more hosts than the local target has slots: try fewer
    }
  }
  throw new Error("no fleet size fits the local target");
}

describe("QA stack names from branch names", () => {
  it("gives any usable branch a stack `qa-…` that is a DNS label of at most QA_STACK_MAX characters, every time the same", () => {
    fc.assert(
      fc.property(branch, (b) => {
        const stack = qaStackName(b);
        expect(stack).toMatch(DNS_LABEL);
        expect(stack).toMatch(/^qa-[a-z0-9]+(-[a-z0-9]+)*$/);
        expect(stack.length).toBeLessThanOrEqual(QA_STACK_MAX);
        expect(DnsLabel.safeParse(stack).success).toBe(true);
        expect(isQaStack(stack)).toBe(true);
        expect(qaStackName(b)).toBe(stack);
        expect(`shop.${stack}.localhost`.length).toBeLessThanOrEqual(253);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses a branch with nothing to name a stack after, naming the branch", () => {
    for (const b of ["", "///", "-._-", "refs/heads/", "日本語", "  "]) {
      expect(() => qaStackName(b)).toThrow(`branch ${JSON.stringify(b)} has no letter or digit`);
    }
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(..."/-._ ~^日€"), maxLength: 40 }), (b) => !usable(b)));
  });

  it("gives distinct branches distinct stacks", () => {
    fc.assert(
      fc.property(branch, branch, (a, b) => {
        fc.pre(bare(a) !== bare(b));
        expect(qaStackName(a)).not.toBe(qaStackName(b));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uniqueArray(branch, { minLength: 50, maxLength: 300, selector: bare }), (bs) => {
        expect(new Set(bs.map(qaStackName)).size).toBe(bs.length);
      }),
      { numRuns: 20 },
    );
  });

  it("keeps apart branches that differ only past the limit, in case, or in '/' vs '-'", () => {
    const tail = fc.string({ minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."abc/-"), minLength: 60, maxLength: 240 }).filter(usable), tail, tail, (head, x, y) => {
        fc.pre(x !== y);
        expect(qaStackName(head + x)).not.toBe(qaStackName(head + y));
      }),
    );
    fc.assert(
      fc.property(branch, (b) => {
        const variants = new Set([b, b.toUpperCase(), b.toLowerCase(), b.replaceAll("/", "-"), b.replaceAll("-", "/"), b.replaceAll(".", "-")].map(bare));
        expect(new Set([...variants].map(qaStackName)).size).toBe(variants.size);
      }),
      { numRuns: 500 },
    );
    expect(new Set(["feature/a", "feature-a", "Feature/A", "feature.a", "feature_a", "FEATURE-A"].map(qaStackName)).size).toBe(6);
    expect(qaStackName(`${"x".repeat(200)}-one`)).not.toBe(qaStackName(`${"x".repeat(200)}-two`));
  });

  it("keeps a branch that looks like a hashed stack apart from the branch whose hash it copies", () => {
    const hashed = qaStackName("feature/login");
    const lookalike = hashed.slice("qa-".length);
    expect(qaStackName(lookalike)).not.toBe(hashed);
    fc.assert(fc.property(branch, (b) => qaStackName(qaStackName(b).slice(3)) !== qaStackName(b) || qaStackName(b).slice(3) === bare(b)));
  });

  it("keeps every AWS resource name the budget makes for the stack within its limit", () => {
    fc.assert(
      fc.property(branch, (b) => {
        for (const [kind, name] of resourceNames(qaStackName(b))) {
          expect(name.length, `${kind} ${name}`).toBeLessThanOrEqual(NAME_LIMITS[kind]);
          expect(name).toMatch(/^[a-z][a-z0-9-]*$/);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("keeps the AWS names of distinct branches distinct, even the 32-character ones", () => {
    fc.assert(
      fc.property(branch, branch, (a, b) => {
        fc.pre(bare(a) !== bare(b));
        const [na, nb] = [resourceNames(qaStackName(a)), resourceNames(qaStackName(b))];
        na.forEach(([kind, name], i) => expect(name, kind).not.toBe(nb[i]![1]));
      }),
      { numRuns: 100 },
    );
  });

  it("keeps the local target's host names `<stack>-<role>-<slot>` valid DNS labels, up to its largest fleet", () => {
    const longest = qaStackName("x".repeat(255));
    expect(longest.length).toBe(QA_STACK_MAX);
    const names = largestLocalHostNames(longest);
    expect(names).toContain(`${longest}-worker-89`);
    for (const n of names) expect(n).toMatch(DNS_LABEL);
    fc.assert(fc.property(branch, (b) => largestLocalHostNames(qaStackName(b)).every((n) => DNS_LABEL.test(n))), { numRuns: 50 });
  });

  it("names realistic branches readably", () => {
    expect(qaStackName("main")).toBe("qa-main");
    expect(qaStackName("refs/heads/main")).toBe("qa-main");
    expect(qaStackName("fix-login")).toBe("qa-fix-login");
    expect(qaStackName("feature/login")).toBe("qa-feature-login-28ac1333");
    expect(qaStackName("JIRA-123_fix-Thing")).toBe("qa-jira-123-fix-thing-0b80db61");
    expect(qaStackName("ünïcödé")).toBe("qa-unicode-9ce66296");
    expect(qaStackName("a".repeat(255))).toBe(`qa-${"a".repeat(41)}-d2fda126`);
  });

  it("tells QA stacks from the others", () => {
    for (const s of ["qa-main", "qa-feature-login-28ac1333", "qa-1"]) expect(isQaStack(s)).toBe(true);
    for (const s of ["qa", "qa-", "staging", "production", "dev", "qa-Main", "qa--x", "qa-x-", `qa-${"a".repeat(QA_STACK_MAX)}`, "xqa-main"]) expect(isQaStack(s)).toBe(false);
  });

  it("makes stack names the config accepts: loaded over the `qa` template, and pinned by `fawkes release`", () => {
    const root = repoProjectCopy("fawkes-branch-");
    try {
      for (const b of ["feature/login", "JIRA-123_fix-Thing", "refs/heads/main", "x".repeat(255), "Ünïcode/ÄÖÜ.test"]) {
        const stack = qaStackName(b);
        expect(loadStack(root, stack)).toMatchObject({ stack, template: "qa" });
        setReleasePin(root, stack, "shop", "r0123456789a");
        expect(loadStack(root, stack).knobs.releases.shop).toBe("r0123456789a");
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
