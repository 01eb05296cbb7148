// `fawkes check --target aws --stack S`: what a first `pulumi up` (and every release) needs from
// the AWS account, asked of AWS before any host boots: credentials, the pinned releases in the
// artifact bucket, the secrets in SSM, the certificate, the AMI, room in the VPC and Elastic IP
// quotas, the GitHub OIDC provider. Each problem names what is missing, the file and key that
// need it, and the command that fixes it. `release --target aws` and `qa up` run it first.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { loadStack, readProject, stackFile, templateOf, type EnvironmentSpec, type Problem } from "../config/index.ts";
import { planEnvironment } from "../model/index.ts";
import { STAND_IN_SUMS_VARIABLE } from "../render/index.ts";
import { artifactStoreUrns } from "../qa/urns.ts";
import { awsNeeds, covers, EXAMPLE_ACCOUNT, type AwsNeeds, type PlannedResource, type Source } from "./aws-needs.ts";
import { awsProbe, type AwsProbe } from "./aws-probe.ts";
import { albHealthProblems } from "./aws-limits.ts";

export interface AwsCheckOptions {
  root: string;
  stack: string;
  /** Pins about to be rolled out (`release`): checked instead of the stack file's. */
  releases?: Record<string, string>;
  /** Default: the SDK's, in the stack's region. */
  probe?: AwsProbe;
  /** The program's resources; default: the stack's program run under Pulumi's mocks. */
  resources?: readonly PlannedResource[];
}

export interface AwsCheckReport {
  stack: string;
  region: string;
  account?: string;
  /** One line per check that passed: `credentials: arn:… (account …)`. */
  ok: string[];
  problems: Problem[];
}

/** The file and key a knob is set in: the stack's own file, else its template's (qa), else the stack's. */
export function knobSource(root: string, stack: string): (knob: string) => Source {
  const project = readProject(root);
  const files = [...new Set([stack, templateOf(stack)])].map((s) => stackFile(project, s)).filter((f) => existsSync(join(root, f)));
  const configs = files.map((file) => ({ file, config: ((parseYaml(readFileSync(join(root, file), "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown> }));
  return (knob) => {
    const [top = "", ...rest] = knob.split(".");
    const key = top === "region" ? "aws:region" : `${project.name}:${top}`;
    const file = configs.find((c) => key in c.config)?.file ?? stackFile(project, stack);
    return { file, path: ["config", key, ...rest].join(".") };
  };
}

/** The stack's program under Pulumi's mocks: the resources `pulumi up` would create. */
async function plannedResources(root: string, stack: string): Promise<PlannedResource[]> {
  const { pulumiConfigOf, runProgram } = await import("../plan/program.ts");
  // Which resources, not what hosts boot: the releases' sums (read below, from the bucket) are stand-ins here.
  return (await runProgram(root, stack, pulumiConfigOf(root, stack), { releaseSums: "stand-in" })).resources;
}

function needsOf(root: string, spec: EnvironmentSpec, resources: readonly PlannedResource[]): AwsNeeds {
  const stores = planEnvironment(spec).hosts[0]?.stores;
  if (stores === undefined) throw new Error(`stack ${spec.stack} plans no hosts: nothing to check on AWS`);
  return awsNeeds({ spec, resources, stores, knobAt: knobSource(root, spec.stack), catalogueAt: (key) => ({ file: "Pulumi.yaml", path: `config.catalogue.value.${key}` }) });
}

const problemAt = (source: Source, message: string, hint: string): Problem => ({ ...source, message, hint });

/** Runs every check; a failure of one never hides another, except credentials, without which nothing can be asked. */
export async function checkAws(opts: AwsCheckOptions): Promise<AwsCheckReport> {
  const loaded = loadStack(opts.root, opts.stack, { parentMustExist: true });
  const spec: EnvironmentSpec = opts.releases ? { ...loaded, knobs: { ...loaded.knobs, releases: { ...loaded.knobs.releases, ...opts.releases } } } : loaded;
  // The program itself refuses what the ALB's health check cannot do: nothing else to ask then.
  const unchecked = albHealthProblems(spec.catalogue.apps);
  if (unchecked.length > 0) return { stack: opts.stack, region: spec.knobs.region, ok: [], problems: unchecked };
  const needs = needsOf(opts.root, spec, opts.resources ?? (await plannedResources(opts.root, opts.stack)));
  const probe = opts.probe ?? awsProbe(needs.region);
  const file = stackFile(readProject(opts.root), opts.stack);
  const report: AwsCheckReport = { stack: opts.stack, region: needs.region, ok: [], problems: [] };
  const ok = (line: string) => report.ok.push(line);
  const fail = (p: Problem) => report.problems.push(p);
  const guard = async (source: Source, work: () => Promise<void>) => {
    try {
      await work();
    } catch (e) {
      fail(problemAt(source, (e as Error).message, "fix the access or the service's state and run fawkes check --target aws again"));
    }
  };

  try {
    const who = await probe.identity();
    report.account = who.account;
    ok(`credentials: ${who.arn} (account ${who.account}, region ${needs.region})`);
    for (const a of needs.accounts.filter((x) => x.id !== who.account)) {
      fail(problemAt(a.source, `names account ${a.id}, but the credentials (${who.arn}) are of account ${who.account}: ${a.why}`, `use credentials of account ${a.id} (AWS_PROFILE=<its profile>), or set this key for account ${who.account}`));
    }
  } catch (e) {
    fail({ file: "AWS credentials", path: "", message: (e as Error).message, hint: "aws sts get-caller-identity must answer: set AWS_PROFILE, run aws sso login, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; then run fawkes check --target aws again" });
    return report;
  }

  for (const p of needs.placeholders) fail(problemAt(p.source, p.message, p.hint));
  const placeholder = (s: Source) => needs.placeholders.some((p) => p.source.file === s.file && p.source.path === s.path);

  // The artifact bucket's name carries the account id: with a placeholder there, no bucket to ask
  // about, unless the credentials are of that very account (an emulator's, such as the twin's moto).
  if (spec.knobs.accountId !== EXAMPLE_ACCOUNT || report.account === EXAMPLE_ACCOUNT) await checkArtifacts(needs, probe, ok, fail, spec);
  await checkSecrets(needs, probe, ok, fail, opts.stack);
  if (needs.certificate && !placeholder(needs.certificate.source)) await guard(needs.certificate.source, () => checkCertificate(needs, probe, ok, fail));
  if (needs.ami && !placeholder(needs.ami.source)) await guard(needs.ami.source, () => checkImage(needs, probe, ok, fail));
  for (const q of needs.quotas.filter((x) => x.planned > 0)) {
    await guard({ file, path: "" }, async () => {
      const [value, used] = [await probe.quota(q.serviceCode, q.quotaCode), await probe.usage(q.serviceCode, q.ownTags)];
      const after = used.total - Math.min(used.own, q.planned) + q.planned;
      const line = `${q.what} (${q.quotaCode}): ${used.total} in use in ${needs.region}${used.own > 0 ? ` (${used.own} of them this stack's)` : ""}, ${after} after pulumi up, quota ${value}`;
      if (after <= value) ok(`quota ${line}`);
      else {
        fail(problemAt({ file, path: "" }, `the stack creates ${q.planned} of ${q.what}, over the quota: ${line}`, `request more (aws service-quotas request-service-quota-increase --region ${needs.region} --service-code ${q.serviceCode} --quota-code ${q.quotaCode} --desired-value ${after}), or free some (fawkes qa gc removes expired QA stacks)`));
      }
    });
  }
  if (needs.oidcProviders.length > 0) {
    await guard(needs.oidcProviders[0]!.source, async () => {
      const have = await probe.oidcProviders();
      for (const p of needs.oidcProviders) {
        if (have.includes(p.host)) ok(`OIDC provider ${p.host}: trusted by ${p.roles.join(", ")}`);
        else {
          fail(problemAt(p.source, `the role${p.roles.length === 1 ? "" : "s"} ${p.roles.join(", ")} trust the IAM OIDC provider ${p.host}, which account ${report.account} does not have: GitHub's jobs could not assume them (it exists once per account, made outside fawkes)`, `aws iam create-open-id-connect-provider --url https://${p.host} --client-id-list sts.amazonaws.com`));
        }
      }
    });
  }
  return report;
}

type Ok = (line: string) => void;
type Fail = (p: Problem) => void;

async function checkArtifacts(needs: AwsNeeds, probe: AwsProbe, ok: Ok, fail: Fail, spec: EnvironmentSpec): Promise<void> {
  const bucket = needs.artifacts[0]?.bucket;
  if (bucket === undefined) return;
  try {
    if (!(await probe.bucketExists(bucket))) {
      const urns = artifactStoreUrns(spec.project, spec.stack);
      for (const a of needs.artifacts) {
        fail(problemAt(a.source, `release ${a.release} of ${a.app} cannot be fetched: the artifact bucket s3://${bucket} does not exist yet, and new hosts would fail fetching and be replaced in a loop`, `create the artifact store alone first (${STAND_IN_SUMS_VARIABLE}=1 pulumi up --stack ${spec.stack} ${urns.targets.map((u) => `--target '${u}'`).join(" ")}), then fawkes build ${a.app} --push --stack ${spec.stack} (docs/aws.md, "First contact")`));
      }
      return;
    }
  } catch (e) {
    for (const a of needs.artifacts) fail(problemAt(a.source, (e as Error).message, "fix the access and run fawkes check --target aws again"));
    return;
  }
  for (const a of needs.artifacts) {
    try {
      if (await probe.objectExists(a.bucket, a.key)) ok(`artifact ${a.app} ${a.release}: s3://${a.bucket}/${a.key}`);
      else {
        fail(problemAt(a.source, `release ${a.release} of ${a.app} is not in s3://${a.bucket}/${a.app}/ (no ${a.key}): new hosts would fail fetching it and be replaced in a loop`, `build and push it from the commit that pinned it: fawkes build ${a.app} --ref <that commit> --push --stack ${needs.stack}`));
      }
    } catch (e) {
      fail(problemAt(a.source, (e as Error).message, "fix the access and run fawkes check --target aws again"));
    }
  }
}

async function checkSecrets(needs: AwsNeeds, probe: AwsProbe, ok: Ok, fail: Fail, stack: string): Promise<void> {
  const apps = [...new Set(needs.secrets.map((s) => s.app))];
  for (const app of apps) {
    const wanted = needs.secrets.filter((s) => s.app === app);
    const prefix = wanted[0]!.parameter.slice(0, -`/${app}/${wanted[0]!.name}`.length);
    let stored: Awaited<ReturnType<AwsProbe["secrets"]>>;
    try {
      stored = await probe.secrets(prefix, app);
    } catch (e) {
      for (const s of wanted) fail(problemAt(s.source, (e as Error).message, "fix the access and run fawkes check --target aws again"));
      continue;
    }
    for (const s of wanted) {
      const state = stored.get(s.name);
      const set = `fawkes secret set ${app} ${s.name} --stack ${stack} --target aws${s.name === "DATABASE_PASSWORD" ? " --generate" : ""}`;
      if (state === undefined) fail(problemAt(s.source, `secret ${s.name} of ${app} is not set: no SSM parameter ${s.parameter}, and hosts stop at boot without it`, set));
      else if (!state.valid) fail(problemAt(s.source, `secret ${s.name} of ${app} (${s.parameter}) is ${state.problem}`, set));
      else ok(`secret ${app} ${s.name}: ${s.parameter} (SecureString)`);
    }
  }
}

const PENDING_FIX = (arn: string, region: string) => `create the DNS records ACM asks for (aws acm describe-certificate --region ${region} --certificate-arn ${arn} --query Certificate.DomainValidationOptions) and wait until it is ISSUED`;

async function checkCertificate(needs: AwsNeeds, probe: AwsProbe, ok: Ok, fail: Fail): Promise<void> {
  const c = needs.certificate!;
  if (c.region !== needs.region) {
    fail(problemAt(c.source, `is a certificate of ${c.region}, but the stack's load balancer is in ${needs.region}: a load balancer can use only a certificate of its own region`, `request or import the certificate in ${needs.region} and put its ARN here`));
    return;
  }
  const cert = await probe.certificate(c.arn);
  if (cert === undefined) {
    fail(problemAt(c.source, `no certificate ${c.arn} in ACM (${needs.region}, account ${c.account})`, `list the region's certificates (aws acm list-certificates --region ${needs.region}) and put the right ARN here`));
    return;
  }
  const uncovered = c.domains.filter((d) => !cert.names.some((n) => covers(n, d)));
  if (cert.status !== "ISSUED") {
    const fix = cert.status === "PENDING_VALIDATION" ? PENDING_FIX(c.arn, needs.region) : `request a new certificate (aws acm request-certificate --region ${needs.region} --validation-method DNS --domain-name ${cert.names[0] ?? c.domains[0]}) and put its ARN here`;
    fail(problemAt(c.source, `certificate ${c.arn} is ${cert.status}, not ISSUED: an HTTPS listener cannot use it`, fix));
  }
  if (uncovered.length > 0) {
    fail(problemAt(c.source, `certificate ${c.arn} (${cert.names.join(", ")}) does not cover ${uncovered.join(", ")}, which the load balancer serves: browsers would refuse those names (a * stands for exactly one label)`, `request a certificate that covers them (for example --domain-name '*.${uncovered[0]!.split(".").slice(1).join(".")}') and put its ARN here`));
  }
  if (cert.status === "ISSUED" && uncovered.length === 0) ok(`certificate ${c.arn}: ISSUED, covers ${c.domains.join(", ") || "(no host rules)"}`);
}

async function checkImage(needs: AwsNeeds, probe: AwsProbe, ok: Ok, fail: Fail): Promise<void> {
  const want = needs.ami!;
  const img = await probe.image(want.id);
  if (img === undefined) {
    fail(problemAt(want.source, `no AMI ${want.id} in ${needs.region} visible to this account (an AMI belongs to one region)`, `build it with the stack's Image Builder pipeline in ${needs.region}, or copy it (aws ec2 copy-image --region ${needs.region} --source-region <its region> --source-image-id ${want.id} --name <name>), and pin the new id`));
    return;
  }
  if (img.state !== "available") fail(problemAt(want.source, `AMI ${want.id} is ${img.state}, not available: no host can launch from it`, "wait for it to become available, or pin another"));
  if (img.architecture !== want.architecture) {
    fail(problemAt(want.source, `AMI ${want.id} is ${img.architecture}, but the stack pins it as ${want.architecture}: hosts of the stack's instance type would not boot it`, `pin an AMI built for ${want.architecture}, or set image.architecture and instanceType for ${img.architecture}`));
  }
  if (img.state === "available" && img.architecture === want.architecture) ok(`image ${want.id}: available, ${img.architecture}${img.name ? ` (${img.name})` : ""}`);
}

/** The report for a person: passed checks on stdout, problems (each with its fix) on stderr. */
export function formatAwsReport(r: AwsCheckReport): { out: string; err: string } {
  const out = `${r.stack} on AWS (${r.account ? `account ${r.account}, ` : ""}${r.region}):\n${r.ok.map((l) => `  ok ${l}\n`).join("")}`;
  const n = r.problems.length;
  const err = n === 0 ? "" : `${n} problem${n === 1 ? "" : "s"} on AWS for ${r.stack}:\n${r.problems.map((p) => `  ${p.path ? `${p.file}: ${p.path}` : p.file}: ${p.message}${p.hint ? `\n    fix: ${p.hint}` : ""}\n`).join("")}`;
  return { out, err };
}

/** The stack is not ready on AWS: nothing was changed. Its message lists each problem with its fix. */
export class AwsCheckError extends Error {
  constructor(readonly report: AwsCheckReport, what: string) {
    super(`${what} stopped before changing anything: ${formatAwsReport(report).err.trimEnd()}\n(fawkes check --target aws --stack ${report.stack} asks again)`);
    this.name = "AwsCheckError";
  }
}

/** Runs the check before `what` (a release, qa up): passes on silently, or throws AwsCheckError. */
export async function requireAwsReady(opts: AwsCheckOptions, what: string, progress: (line: string) => void = () => {}): Promise<AwsCheckReport> {
  progress(`${opts.stack}: checking what ${what} needs on AWS (fawkes check --target aws)`);
  const report = await checkAws(opts);
  if (report.problems.length > 0) throw new AwsCheckError(report, what);
  progress(`${opts.stack}: ready on AWS (${report.ok.length} checks passed)`);
  return report;
}
