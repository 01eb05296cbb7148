// `fawkes check --target aws --stack S`: what a first `pulumi up` and every release need from the
// account, asked of an account in memory behind aws-sdk-client-mock (test/helpers/aws-account.ts).
// For each check one case that passes and one that fails with the file, key and fix: credentials,
// account, artifacts (S3 HeadObject), secrets (SSM metadata only), certificate (exists, ISSUED,
// covers with ACM's one-label wildcard), AMI, quotas (a QA stack in its parent's network adds
// none), the GitHub OIDC provider, and the sample stacks' placeholders.
import { join } from "node:path";
import { GetParameterCommand, GetParametersByPathCommand, GetParametersCommand } from "@aws-sdk/client-ssm";
import { GetServiceQuotaCommand } from "@aws-sdk/client-service-quotas";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { covers } from "../../src/check/aws-needs.ts";
import { checkAws, type AwsCheckReport } from "../../src/check/aws.ts";
import { main } from "../../src/cli/main.ts";
import { loadStack } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { ACCOUNT, AMI, awsProject, CERTIFICATE, emptyAccount, mockAccount, offlineAwsEnv, type AccountState, type AwsProject } from "../helpers/aws-account.ts";

const REPO = join(import.meta.dirname, "../..");
const GITHUB = "token.actions.githubusercontent.com";

let project: AwsProject;
let state: AccountState;
let restoreEnv: () => void;
const aws = mockAccount(() => state);

/** The account after a correct first contact for `stack`: every check passes. */
function readyFor(stack: string): AccountState {
  const spec = loadStack(project.root, stack);
  const stores = planEnvironment(spec).hosts[0]!.stores;
  const s = emptyAccount();
  s.buckets.add(stores.artifactBucket);
  for (const [app, release] of Object.entries(spec.knobs.releases)) s.objects.add(`${stores.artifactBucket}/${app}/${release}.sha256`);
  for (const app of spec.catalogue.apps) for (const name of app.secrets) s.parameters.set(`${stores.parameterPrefix}/${app.name}/${name}`, "SecureString");
  s.certificates.set(CERTIFICATE, { status: "ISSUED", names: [`*.${spec.knobs.domain}`] });
  s.images.set(AMI, { state: "available", architecture: "x86_64" });
  s.vpcs = 1;
  s.addresses = 1;
  s.oidcHosts = [GITHUB];
  return s;
}

async function check(stack = "staging", root = project.root): Promise<AwsCheckReport> {
  return checkAws({ root, stack });
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main([...argv, "--project", project.root], { out: (t) => (out += t), err: (t) => (err += t), cwd: project.root });
  return { code, out, err };
}

/** The one problem at `path`, whatever else the report holds. */
function problemAt(r: AwsCheckReport, path: string) {
  const found = r.problems.filter((p) => p.path === path);
  expect(found, `problems at ${path}: ${JSON.stringify(r.problems, null, 1)}`).toHaveLength(1);
  return found[0]!;
}

beforeAll(() => {
  restoreEnv = offlineAwsEnv();
  project = awsProject();
});
afterAll(() => {
  aws.restore();
  restoreEnv();
  project.remove();
});
beforeEach(() => {
  aws.install();
  state = readyFor("staging");
});

describe("fawkes check --target aws", () => {
  it("a stack ready on AWS: exit 0, each check named on stdout", async () => {
    const r = await cli("check", "--target", "aws", "--stack", "staging");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const spec = loadStack(project.root, "staging");
    const bucket = planEnvironment(spec).hosts[0]!.stores.artifactBucket;
    expect(r.out).toContain(`staging on AWS (account ${ACCOUNT}, eu-west-1):`);
    expect(r.out).toContain(`ok credentials: arn:aws:iam::${ACCOUNT}:user/ci`);
    expect(r.out).toContain(`ok artifact blog ${spec.knobs.releases.blog}: s3://${bucket}/blog/${spec.knobs.releases.blog}.sha256`);
    expect(r.out).toContain("ok secret blog DATABASE_PASSWORD: /fawkes/staging/blog/DATABASE_PASSWORD (SecureString)");
    expect(r.out).toContain(`ok certificate ${CERTIFICATE}: ISSUED, covers blog.staging.fawkes.test, shop.staging.fawkes.test, www.staging.fawkes.test`);
    expect(r.out).toContain(`ok image ${AMI}: available, x86_64`);
    expect(r.out).toMatch(/ok quota VPCs per Region \(L-F678F1CE\): 1 in use in eu-west-1, 2 after pulumi up, quota 5/);
    expect(r.out).toMatch(/ok quota EC2-VPC Elastic IPs \(L-0263D0A3\): 1 in use/);
    expect(r.out).toContain(`ok OIDC provider ${GITHUB}`);
  });

  it("a problem: exit 1, each on stderr with file, key and fix", async () => {
    state.objects.clear();
    const r = await cli("check", "--target", "aws", "--stack", "staging");
    expect(r.code).toBe(1);
    // Each problem one line that starts with `error: `, as every command's errors do; then how many.
    expect(r.err).toMatch(/^(error: .*\n){2}2 problems on AWS for staging\n$/);
    expect(r.err).toMatch(/^error: stacks\/Pulumi\.staging\.yaml: config\.fawkes:releases\.shop: release r[0-9a-f]{12} of shop is not in s3:\/\/.*; fix: build and push it .*fawkes build shop --ref <that commit> --push --stack staging$/m);
  });

  it("--json: ok, the checks passed and the problems as data", async () => {
    state.parameters.clear();
    const r = await cli("check", "--target", "aws", "--stack", "staging", "--json");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { ok: boolean; account: string; passed: string[]; problems: Array<{ file: string; path: string; hint: string }> };
    expect(j.ok).toBe(false);
    expect(j.account).toBe(ACCOUNT);
    expect(j.passed.some((l) => l.startsWith("credentials:"))).toBe(true);
    expect(j.problems.map((p) => p.path)).toEqual(["config.catalogue.value.apps[0].secrets", "config.catalogue.value.apps[1].secrets", "config.catalogue.value.apps[1].database"]);
  });

  it("needs exactly one --stack, and only aws as a target", async () => {
    expect((await cli("check", "--target", "aws")).code).toBe(2);
    expect((await cli("check", "--target", "aws")).err).toContain("give exactly one --stack S");
    expect((await cli("check", "--target", "local", "--stack", "dev")).err).toContain("--target local: must be aws");
  });

  it("--help says what it asks AWS", async () => {
    const r = await cli("check", "--help");
    expect(r.out).toContain("fawkes check --target aws --stack S");
    expect(r.out).toMatch(/S3 HeadObject/);
  });
});

describe("credentials and account", () => {
  it("no credentials: one problem with the way to get them, and nothing else is asked", async () => {
    state.account = undefined;
    const r = await check();
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ file: "AWS credentials", message: expect.stringMatching(/STS GetCallerIdentity failed: CredentialsProviderError/), hint: expect.stringContaining("aws sts get-caller-identity must answer") });
    expect(aws.s3.calls()).toHaveLength(0);
    expect(aws.ssm.calls()).toHaveLength(0);
  });

  it("credentials of another account than the accountId knob and the certificate name", async () => {
    state.account = "444455556666";
    const r = await check();
    expect(problemAt(r, "config.fawkes:accountId")).toMatchObject({ file: "stacks/Pulumi.staging.yaml", message: expect.stringContaining(`names account ${ACCOUNT}, but the credentials (arn:aws:iam::444455556666:user/ci) are of account 444455556666`), hint: expect.stringContaining(`use credentials of account ${ACCOUNT}`) });
    expect(problemAt(r, "config.fawkes:certificateArn").message).toContain("a load balancer can use only a certificate of its own account");
  });
});

describe("artifacts", () => {
  it("asks S3 for each pinned release's checksum file, the object hosts fetch last", async () => {
    const r = await check();
    expect(r.problems).toEqual([]);
    const spec = loadStack(project.root, "staging");
    const bucket = planEnvironment(spec).hosts[0]!.stores.artifactBucket;
    expect(aws.s3.calls().map((c) => c.args[0].input)).toEqual([
      { Bucket: bucket },
      { Bucket: bucket, Key: `shop/${spec.knobs.releases.shop}.sha256` },
      { Bucket: bucket, Key: `blog/${spec.knobs.releases.blog}.sha256` },
    ]);
  });

  it("a release missing from the bucket: its pin named, with the build and push that fixes it", async () => {
    const spec = loadStack(project.root, "staging");
    const bucket = planEnvironment(spec).hosts[0]!.stores.artifactBucket;
    state.objects.delete(`${bucket}/blog/${spec.knobs.releases.blog}.sha256`);
    const r = await check();
    expect(r.problems).toHaveLength(1);
    expect(problemAt(r, "config.fawkes:releases.blog")).toMatchObject({
      file: "stacks/Pulumi.staging.yaml",
      message: `release ${spec.knobs.releases.blog} of blog is not in s3://${bucket}/blog/ (no blog/${spec.knobs.releases.blog}.sha256): new hosts would fail fetching it and be replaced in a loop`,
      hint: "build and push it from the commit that pinned it: fawkes build blog --ref <that commit> --push --stack staging",
    });
  });

  it("no bucket yet (before the first up): the targeted up of the artifact store comes first", async () => {
    state.buckets.clear();
    const r = await check();
    expect(problemAt(r, "config.fawkes:releases.shop").message).toMatch(/the artifact bucket s3:\/\/\S+ does not exist yet/);
    // Nothing is pushed yet: that up renders stand-in release sums, which no host accepts, by its own variable.
    expect(problemAt(r, "config.fawkes:releases.shop").hint).toMatch(/^create the artifact store alone first \(FAWKES_STAND_IN_RELEASE_SUMS=1 pulumi up --stack staging --target 'urn:pulumi:staging::fawkes::/);
  });

  it("release --target aws checks the release about to be pinned, not the stack file's", async () => {
    const r = await checkAws({ root: project.root, stack: "staging", releases: { shop: "r000000000000" } });
    expect(problemAt(r, "config.fawkes:releases.shop").message).toContain("release r000000000000 of shop is not in");
  });
});

describe("secrets", () => {
  it("each declared secret, by its metadata: SSM is never asked for a value", async () => {
    const r = await check();
    expect(r.problems).toEqual([]);
    expect(aws.ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
    expect(aws.ssm.commandCalls(GetParametersCommand)).toHaveLength(0);
    expect(aws.ssm.commandCalls(GetParametersByPathCommand)).toHaveLength(0);
    expect(aws.ssm.calls().length).toBeGreaterThan(0);
  });

  it("a missing secret: the catalogue entry that declares it and the command that sets it", async () => {
    state.parameters.delete("/fawkes/staging/blog/DJANGO_SECRET_KEY");
    state.parameters.delete("/fawkes/staging/blog/DATABASE_PASSWORD");
    const r = await check();
    expect(problemAt(r, "config.catalogue.value.apps[1].secrets")).toMatchObject({
      file: "Pulumi.yaml",
      message: "secret DJANGO_SECRET_KEY of blog is not set: no SSM parameter /fawkes/staging/blog/DJANGO_SECRET_KEY, and hosts stop at boot without it",
      hint: "fawkes secret set blog DJANGO_SECRET_KEY --stack staging --target aws",
    });
    expect(problemAt(r, "config.catalogue.value.apps[1].database").hint).toBe("fawkes secret set blog DATABASE_PASSWORD --stack staging --target aws --generate");
  });

  it("a secret stored as a plain String: hosts would read it, but it is not encrypted", async () => {
    state.parameters.set("/fawkes/staging/shop/SHOP_SECRET_KEY", "String");
    expect(problemAt(await check(), "config.catalogue.value.apps[0].secrets").message).toContain("stored as String, not SecureString");
  });
});

describe("certificate", () => {
  it("ACM's wildcard: one label only, case-insensitive, never the bare domain", () => {
    expect(covers("*.staging.fawkes.test", "shop.staging.fawkes.test")).toBe(true);
    expect(covers("*.Staging.Fawkes.test", "SHOP.staging.fawkes.test.")).toBe(true);
    expect(covers("*.fawkes.test", "shop.staging.fawkes.test")).toBe(false);
    expect(covers("*.staging.fawkes.test", "staging.fawkes.test")).toBe(false);
    expect(covers("shop.staging.fawkes.test", "shop.staging.fawkes.test")).toBe(true);
    expect(covers("shop.staging.fawkes.test", "blog.staging.fawkes.test")).toBe(false);
  });

  it("a certificate of the parent domain does not cover the stack's host names", async () => {
    state.certificates.set(CERTIFICATE, { status: "ISSUED", names: ["fawkes.test", "*.fawkes.test"] });
    const p = problemAt(await check(), "config.fawkes:certificateArn");
    expect(p.message).toBe(`certificate ${CERTIFICATE} (fawkes.test, *.fawkes.test) does not cover blog.staging.fawkes.test, shop.staging.fawkes.test, www.staging.fawkes.test, which the load balancer serves: browsers would refuse those names (a * stands for exactly one label)`);
    expect(p.hint).toContain("--domain-name '*.staging.fawkes.test'");
  });

  it("one not yet ISSUED: the DNS validation that issues it", async () => {
    state.certificates.set(CERTIFICATE, { status: "PENDING_VALIDATION", names: ["*.staging.fawkes.test"] });
    const p = problemAt(await check(), "config.fawkes:certificateArn");
    expect(p.message).toContain("is PENDING_VALIDATION, not ISSUED");
    expect(p.hint).toContain("Certificate.DomainValidationOptions");
  });

  it("one that does not exist", async () => {
    state.certificates.clear();
    expect(problemAt(await check(), "config.fawkes:certificateArn").message).toBe(`no certificate ${CERTIFICATE} in ACM (eu-west-1, account ${ACCOUNT})`);
  });
});

describe("image", () => {
  it("an AMI that is not in the region", async () => {
    state.images.clear();
    const p = problemAt(await check(), "config.fawkes:image.ami");
    expect(p.message).toContain(`no AMI ${AMI} in eu-west-1`);
    expect(p.hint).toContain("aws ec2 copy-image --region eu-west-1");
  });

  it("an AMI of another architecture than the stack pins", async () => {
    state.images.set(AMI, { state: "available", architecture: "arm64" });
    expect(problemAt(await check(), "config.fawkes:image.ami").message).toContain("is arm64, but the stack pins it as x86_64");
  });
});

describe("quotas", () => {
  it("a region full of VPCs: the quota, the usage and what the stack adds, with the increase request", async () => {
    state.vpcs = 5;
    const r = await check();
    const p = r.problems.find((x) => x.message.includes("VPCs per Region"))!;
    expect(p).toMatchObject({ file: "stacks/Pulumi.staging.yaml" });
    expect(p.message).toBe("the stack creates 1 of VPCs per Region, over the quota: VPCs per Region (L-F678F1CE): 5 in use in eu-west-1, 6 after pulumi up, quota 5");
    expect(p.hint).toContain("--service-code vpc --quota-code L-F678F1CE --desired-value 6");
    expect(r.ok.some((l) => l.startsWith("quota EC2-VPC Elastic IPs"))).toBe(true);
  });

  it("an applied quota counts over AWS's default", async () => {
    state.vpcs = 5;
    state.applied.set("L-F678F1CE", 10);
    const r = await check();
    expect(r.problems).toEqual([]);
    expect(r.ok).toContain("quota VPCs per Region (L-F678F1CE): 5 in use in eu-west-1, 6 after pulumi up, quota 10");
  });

  it("a QA stack lives in its parent's network: no VPC or Elastic IP to count, whatever the region holds", async () => {
    state = readyFor("qa-feature-x");
    state.vpcs = 5;
    state.addresses = 5;
    const r = await check("qa-feature-x");
    expect(r.problems).toEqual([]);
    expect(aws.quotas.commandCalls(GetServiceQuotaCommand)).toHaveLength(0);
    expect(r.ok.filter((l) => l.startsWith("quota"))).toEqual([]);
  });
});

describe("GitHub OIDC provider", () => {
  it("the roles trust GitHub's provider, which the account lacks: made once per account, outside fawkes", async () => {
    state.oidcHosts = [];
    const p = problemAt(await check(), "config.catalogue.value.github.repository");
    expect(p.file).toBe("Pulumi.yaml");
    expect(p.message).toMatch(new RegExp(`trust the IAM OIDC provider ${GITHUB}, which account ${ACCOUNT} does not have`));
    expect(p.hint).toBe(`aws iam create-open-id-connect-provider --url https://${GITHUB} --client-id-list sts.amazonaws.com`);
  });
});

describe("the sample stacks' placeholders", () => {
  it("staging and production: the placeholder certificate ARN, account and AMI, each said as such, none asked about", async () => {
    for (const stack of ["staging", "production"]) {
      const r = await check(stack, REPO);
      const cert = problemAt(r, "config.fawkes:certificateArn");
      expect(cert.file).toBe(`stacks/Pulumi.${stack}.yaml`);
      expect(cert.message).toMatch(/^arn:aws:acm:eu-west-1:123456789012:certificate\/00000000-0000-4000-8000-00000000000\d is the sample stack's placeholder/);
      expect(cert.hint).toContain(`aws acm request-certificate --region eu-west-1 --validation-method DNS --domain-name '*.${loadStack(REPO, stack).knobs.domain}'`);
      expect(problemAt(r, "config.fawkes:accountId").message).toContain("123456789012 is AWS's example account id");
      expect(problemAt(r, "config.fawkes:image.ami").message).toContain("AWS's example AMI id");
    }
    expect(aws.acm.calls()).toHaveLength(0);
    expect(aws.ec2.commandCalls((await import("@aws-sdk/client-ec2")).DescribeImagesCommand)).toHaveLength(0);
    // The bucket's name carries the placeholder account: no such bucket to ask about.
    expect(aws.s3.calls()).toHaveLength(0);
  });
});
