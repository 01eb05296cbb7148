// Limits and names AWS refuses: each one `fawkes check` must refuse first, with the file, the key,
// what is wrong and what would be right.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkProject } from "../../src/check/index.ts";
import { ALB_LIMITS } from "../../src/config/aws-limits.ts";
import { KnobsSchema } from "../../src/config/knobs.ts";
import { listenerRules } from "../../src/model/index.ts";
import { budgetName } from "../../src/names/budget.ts";
import { s3BucketNameProblem, securityGroupNameProblem, ssmParameterNameProblem } from "../../src/names/aws-rules.ts";
import { projectWith } from "./fixture-project.ts";

const knobs = (extra: Record<string, unknown>) => KnobsSchema.safeParse({ domain: "dev.acme.test", ...extra });
const messages = (r: ReturnType<typeof knobs>) => (r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));

/** `fawkes check` of the fixture project with its Pulumi.yaml or dev stack file edited. */
function check(edit: { project?: (s: string) => string; stack?: (s: string) => string }) {
  const { root, cleanup } = projectWith();
  try {
    for (const [file, f] of [["Pulumi.yaml", edit.project], ["stacks/Pulumi.dev.yaml", edit.stack]] as const) {
      if (f) writeFileSync(join(root, file), f(readFileSync(join(root, file), "utf8")));
    }
    return checkProject(root);
  } finally {
    cleanup();
  }
}

describe("instance refresh healthy percentages", () => {
  it("refuses a max more than 100 above the min, as Auto Scaling does, and says which values would do", () => {
    expect(messages(knobs({ rollout: { minHealthyPercent: 50, maxHealthyPercent: 200 } }))).toEqual([
      "rollout.maxHealthyPercent: is 150 above minHealthyPercent 50; Auto Scaling refuses a difference over 100: set maxHealthyPercent to at most 150 or minHealthyPercent to at least 100",
    ]);
  });
  it("takes a spread of exactly 100 and the bounds 0-100 and 100-200", () => {
    expect(messages(knobs({ rollout: { minHealthyPercent: 90, maxHealthyPercent: 190 } }))).toEqual([]);
    expect(messages(knobs({ rollout: { minHealthyPercent: 0, maxHealthyPercent: 100 } }))).toEqual([]);
    expect(messages(knobs({ rollout: { minHealthyPercent: 100, maxHealthyPercent: 201 } })).join()).toMatch(/maxHealthyPercent/);
  });
});

describe("S3 bucket names", () => {
  it.each([
    ["ab", /2 characters/],
    ["a".repeat(64), /64 characters/],
    ["Acme-dev", /not 3-63 characters of a-z/],
    ["acme-dev-", /not 3-63 characters/],
    ["acme..dev", /two adjacent periods/],
    ["192.168.5.4", /IP address/],
    ["xn--acme-dev", /"xn--", a prefix S3 reserves/],
    ["sthree-acme", /"sthree-"/],
    ["acme-dev-s3alias", /"-s3alias", a suffix S3 reserves/],
    ["acme-dev--ol-s3", /"--ol-s3"/],
    ["acme--x-s3", /"--x-s3"/],
  ])("refuses %s", (name, why) => {
    expect(s3BucketNameProblem(name)).toMatch(why);
  });
  it("takes an ordinary name", () => {
    expect(s3BucketNameProblem("acme-dev-artifacts-123456789012-eu-west-1")).toBeUndefined();
  });
});

describe("security group and SSM parameter names", () => {
  it("refuses a security group named sg-… and takes another", () => {
    expect(securityGroupNameProblem("sg-shop-dev-web")).toMatch(/begins with "sg-", which EC2 refuses/);
    expect(securityGroupNameProblem("shop-dev-web")).toBeUndefined();
  });
  it("refuses parameters under /aws and /ssm in any case, with or without the slash", () => {
    for (const name of ["/aws/x", "/AWS/x", "awsome/x", "/ssm/x", "/Ssm-tools/dev/x", "ssm"]) expect(ssmParameterNameProblem(name), name).toMatch(/reserves/);
    expect(ssmParameterNameProblem("/acme/dev/shop/x")).toBeUndefined();
    expect(ssmParameterNameProblem("/acme/dev/sh op")).toMatch(/characters Parameter Store refuses/);
    expect(ssmParameterNameProblem(`/${Array.from({ length: 16 }, () => "a").join("/")}`)).toMatch(/16 levels; Parameter Store allows 15/);
  });
});

describe("accountId", () => {
  it("takes 12 digits, also as the number Pulumi's config reader makes of them", () => {
    expect(knobs({ accountId: "012345678901" }).data?.accountId).toBe("012345678901");
    expect(knobs({ accountId: 123456789012 }).data?.accountId).toBe("123456789012");
  });
  it("refuses anything else and shows the right form", () => {
    expect(messages(knobs({ accountId: "1234" }))).toEqual(['accountId: must be a 12-digit AWS account id in quotes, like "123456789012", got "1234"']);
  });
});

describe("listener rules", () => {
  const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i}.acme.test`);
  it("carry at most 5 host names each: 12 names are 3 rules, every name in one", () => {
    const rules = listenerRules([{ name: "shop", hostnames: hosts(12) }]);
    expect(rules.map((r) => r.hostnames.length)).toEqual([5, 5, 2]);
    expect(rules.flatMap((r) => r.hostnames)).toEqual(hosts(12));
    expect(rules.every((r) => r.hostnames.length <= ALB_LIMITS.conditionValuesPerRule)).toBe(true);
  });
  it("keep the first rule's key and priority, and never share a priority, maintenance included", () => {
    const rules = listenerRules([{ name: "shop", hostnames: hosts(12) }, { name: "blog", hostnames: hosts(1) }], ["shop"]);
    expect(rules.find((r) => r.key === "shop")?.priority).toBe(10);
    expect(rules.find((r) => r.key === "blog")?.priority).toBe(20);
    expect(new Set(rules.map((r) => r.priority)).size).toBe(rules.length);
    const first = Math.min(...rules.filter((r) => r.app === "shop" && r.kind === "forward").map((r) => r.priority));
    expect(rules.filter((r) => r.kind === "maintenance").every((r) => r.priority < first)).toBe(true);
    expect(new Set(rules.map((r) => r.key)).size).toBe(rules.length);
  });
});

describe("fawkes check", () => {
  it("names the artifact bucket with the account and the region, so it is unique across all of S3", () => {
    const r = check({ stack: (s) => `${s}  acme:accountId: "123456789012"\n  aws:region: eu-central-1\n` });
    expect(r.problems).toEqual([]);
    const plan = r.stacks[0]!.images[0]!;
    expect(JSON.stringify(plan)).toContain("acme-dev-artifacts-123456789012-eu-central-1");
  });
  it("warns when a stack names no account: its bucket's name could belong to any other account", () => {
    const without = check({});
    expect(without.problems).toEqual([]);
    expect(without.stacks[0]!.warnings).toContainEqual(expect.stringMatching(/^no accountId: the artifact bucket is named without the AWS account.* set acme:accountId/));
    const withIt = check({ stack: (s) => `${s}  acme:accountId: "123456789012"\n` });
    expect(withIt.stacks[0]!.warnings.filter((w) => w.includes("accountId"))).toEqual([]);
  });
  it("keeps a long stack's bucket name within S3's rules, still distinct per account and region", () => {
    const stack = "qa-a-very-long-branch-name-for-a-feature-nobody-finished";
    const bucket = (account: string, region: string) => budgetName("s3Bucket", "acme", stack, "artifacts", account, region);
    for (const name of [bucket("123456789012", "eu-west-1"), bucket("210987654321", "eu-west-1"), bucket("123456789012", "ap-southeast-2")]) {
      expect(name.length).toBeLessThanOrEqual(63);
      expect(s3BucketNameProblem(name)).toBeUndefined();
    }
    expect(new Set([bucket("123456789012", "eu-west-1"), bucket("210987654321", "eu-west-1"), bucket("123456789012", "ap-southeast-2")]).size).toBe(3);
  });
  it("refuses a project whose security groups would begin with sg- and whose parameters would be under /ssm", () => {
    const sg = check({ project: (s) => s.replace("name: acme", "name: sg-acme").replaceAll("acme:", "sg-acme:"), stack: (s) => s.replaceAll("acme:", "sg-acme:") });
    expect(sg.problems).toContainEqual({ file: "Pulumi.yaml", path: "name", message: expect.stringMatching(/security groups: security group name "sg-acme-dev-web" begins with "sg-"/) });
    const ssm = check({ project: (s) => s.replace("name: acme", "name: ssmacme").replaceAll("acme:", "ssmacme:"), stack: (s) => s.replaceAll("acme:", "ssmacme:") });
    expect(ssm.problems).toContainEqual({ file: "Pulumi.yaml", path: "name", message: expect.stringMatching(/parameters under \/ssmacme\/dev: .*begins with "\/ssm", which Parameter Store reserves/) });
  });
  it("refuses an app with more host names than its listener rules carry, naming the key", () => {
    const labels = Array.from({ length: 26 }, (_, i) => `s${i}`);
    const r = check({ project: (s) => s.replace('source: apps/shop\n', `source: apps/shop\n          domains: [${labels.join(", ")}]\n`) });
    expect(r.problems).toContainEqual(expect.objectContaining({
      file: "Pulumi.yaml",
      path: "config.catalogue.value.apps[0].domains",
      message: expect.stringMatching(/app shop has 26 host names: the load balancer routes at most 5 per rule .* so at most 25 host names/),
    }));
    const fits = check({ project: (s) => s.replace('source: apps/shop\n', `source: apps/shop\n          domains: [${labels.slice(0, 25).join(", ")}]\n`) });
    expect(fits.problems).toEqual([]);
  });
});
