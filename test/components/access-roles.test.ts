// The access roles of an environment, proven with an IAM policy simulator (@cloud-copilot/
// iam-simulate) on the documents the Pulumi program makes under mocks: what a viewer, a pull
// request's previews and a deployer can and cannot do, and which GitHub token assumes which role.
// The simulator evaluates policies as IAM documents them; it does not know the account's other
// policies (SCPs, permission boundaries), which only narrow these.
import { anonymousPrincipal, runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ACCESS_TAG, ADMINISTRATOR_POLICY_ARN, fileSystemPolicy, GITHUB_OIDC_HOST } from "../../components/index.ts";
import type { EnvironmentSpec } from "../../src/config/index.ts";
import { DEPLOY_LOCK_ITEM, planEnvironment } from "../../src/model/index.ts";
import * as rules from "../../policy/rules.ts";
import { violationsOf } from "./policy-harness.ts";
import { ACCOUNT, captureEnvironment, ofType, one, ROOT, specOf, type StackGraph } from "./harness.ts";

const T = { role: "aws:iam/role:Role", rolePolicy: "aws:iam/rolePolicy:RolePolicy", attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment" };
const REPOSITORY = "acme/shop-infra";
const OIDC_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITHUB_OIDC_HOST}`;

const withGitHub = (stack: string): EnvironmentSpec => {
  const spec = specOf(stack);
  return { ...spec, catalogue: { ...spec.catalogue, github: { repository: REPOSITORY } } };
};

type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

/** What IAM decides for one request: the simulator's overall result; its input errors fail the test. */
async function decide(simulation: Simulation): Promise<Decision> {
  const r = await runSimulation(simulation, {});
  if (r.resultType === "error") throw new Error(`the simulator refused the request: ${JSON.stringify(r.errors)}`);
  if (r.resultType === "single") expect(r.result.ignoredContextKeys ?? [], "context keys the simulator dropped").toEqual([]);
  return r.overallResult as Decision;
}

interface Environment {
  graph: StackGraph;
  stack: string;
  region: string;
  stores: { artifactBucket: string; parameterPrefix: string; lockTable: string };
}

const policyOf = (env: Environment, access: string): object => JSON.parse(one(env.graph, T.rolePolicy, `${env.graph.spec.project}-access-${access}-access`).inputs.policy);
const trustOf = (env: Environment, access: string): object => JSON.parse(one(env.graph, T.role, `${env.graph.spec.project}-access-${access}`).inputs.assumeRolePolicy);
const roleArn = (env: Environment, access: string) => `arn:aws:iam::${ACCOUNT}:role/${one(env.graph, T.role, `${env.graph.spec.project}-access-${access}`).inputs.name}`;
const groupArn = (env: Environment, role: string) => `arn:aws:autoscaling:${env.region}:${ACCOUNT}:autoScalingGroup:0b5a4ce6-5f4a-4d3a-9c1e-2f1f2b7d8e10:autoScalingGroupName/${env.graph.outputs.fleets[role]}`;

/** A request of one of the environment's roles, under that role's inline policy (and the resource's policy, if any). */
function asRole(env: Environment, access: string, action: string, resource: string, contextVariables: Record<string, string | string[]> = {}, resourcePolicy?: object): Promise<Decision> {
  return decide({
    identityPolicies: [{ name: `fawkes-${access}`, policy: policyOf(env, access) }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
    request: { principal: `${roleArn(env, access)}`, action, resource: { resource, accountId: ACCOUNT }, contextVariables },
  });
}

/**
 * The key policy of DynamoDB's AWS managed key (`aws/dynamodb`), as the KMS developer guide shows
 * it: the account's principals may use it through DynamoDB only. The lock table is encrypted with it.
 */
const DYNAMODB_MANAGED_KEY_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: "*" },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
      Resource: "*",
      Condition: { StringEquals: { "kms:CallerAccount": ACCOUNT }, StringLike: { "kms:ViaService": "dynamodb.*.amazonaws.com" } },
    },
  ],
};

/**
 * The SDK commands a file of fawkes sends, as IAM actions: `new sdk.XCommand` after an
 * `import("@aws-sdk/client-<service>")`, or the named imports of a client package. Read from the
 * source, so that a call added there without its permission fails here.
 */
function actionsSentBy(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const prefix: Record<string, string> = { "auto-scaling": "autoscaling", "service-quotas": "servicequotas" };
  const out = new Set<string>();
  let service = "";
  for (const m of text.matchAll(/@aws-sdk\/client-([a-z0-9-]+)|\b([A-Z][A-Za-z]+)Command\b/g)) {
    if (m[1]) service = prefix[m[1]] ?? m[1];
    else if (service && m[2]) out.add(`${service}:${m[2]}`);
  }
  return [...out].sort();
}

/**
 * GitHub's OIDC claims as condition keys. IAM documents `<provider>:aud` and `<provider>:sub` for
 * every OIDC provider, but the simulator's action catalogue (iam-data) lists only GitHub's extra
 * claims for sts:AssumeRoleWithWebIdentity and drops unknown keys. So both the trust policy and the
 * request carry aud and sub under two string keys it does know; `decide` checks none is dropped.
 */
const STAND_IN: Record<string, string> = { [`${GITHUB_OIDC_HOST}:aud`]: `${GITHUB_OIDC_HOST}:actor`, [`${GITHUB_OIDC_HOST}:sub`]: `${GITHUB_OIDC_HOST}:job_workflow_ref` };
const standIn = (doc: object): object => JSON.parse(Object.entries(STAND_IN).reduce((text, [key, to]) => text.split(`"${key}"`).join(`"${to}"`), JSON.stringify(doc)));

/** A GitHub Actions job with an ID token whose `sub` is `subject` asks STS for `env`'s `access` role. */
function gitHubAssumes(env: Environment, access: string, subject: string): Promise<Decision> {
  const claims = { [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com", [`${GITHUB_OIDC_HOST}:sub`]: subject };
  return decide({
    identityPolicies: [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: standIn(trustOf(env, access)),
    request: {
      principal: OIDC_PROVIDER,
      action: "sts:AssumeRoleWithWebIdentity",
      resource: { resource: roleArn(env, access), accountId: ACCOUNT },
      contextVariables: Object.fromEntries(Object.entries(claims).map(([k, v]) => [STAND_IN[k]!, v])),
    },
  });
}

async function environment(stack: string): Promise<Environment> {
  const graph = await captureEnvironment(withGitHub(stack));
  return { graph, stack, region: graph.spec.knobs.region, stores: planEnvironment(graph.spec).hosts[0]!.stores };
}

let staging: Environment;
let production: Environment;
beforeAll(async () => {
  staging = await environment("staging");
  production = await environment("production");
});

describe("no role holds AWS's ReadOnlyAccess", () => {
  it("the only managed policy attached to an access role is the admin's AdministratorAccess; viewer, plan and deployer have inline policies", () => {
    for (const env of [staging, production]) {
      const attached = ofType(env.graph, T.attachment).filter((a) => /-(viewer|plan|deployer|admin)$/.test(String(a.inputs.role)));
      expect(attached.map((a) => [a.inputs.role, a.inputs.policyArn])).toEqual([[`fawkes-${env.stack}-admin`, ADMINISTRATOR_POLICY_ARN]]);
      const roles = ofType(env.graph, T.role).filter((r) => r.inputs.tags?.[ACCESS_TAG] !== undefined);
      expect(roles.map((r) => r.inputs.tags[ACCESS_TAG]).sort()).toEqual(["admin", "deployer", "plan", "viewer"]);
      for (const access of ["viewer", "plan", "deployer"]) expect(policyOf(env, access)).toMatchObject({ Version: "2012-10-17" });
    }
  });
});

describe("viewer", () => {
  const secret = () => {
    const app = staging.graph.spec.catalogue.apps.find((a) => a.secrets.length > 0)!;
    return `arn:aws:ssm:${staging.region}:${ACCOUNT}:parameter${staging.stores.parameterPrefix}/${app.name}/${app.secrets[0]}`;
  };
  const ssmPath = (path: string) => `arn:aws:ssm:${staging.region}:${ACCOUNT}:parameter${path}`;

  it("cannot read a secret: GetParameter and GetParameters of a SecureString of the stack are denied explicitly", async () => {
    expect(await asRole(staging, "viewer", "ssm:GetParameter", secret())).toBe("ExplicitlyDenied");
    expect(await asRole(staging, "viewer", "ssm:GetParameters", secret())).toBe("ExplicitlyDenied");
    expect(await asRole(staging, "viewer", "ssm:GetParameterHistory", secret())).toBe("ExplicitlyDenied");
  });

  it("cannot GetParametersByPath the stack's path, nor a parent path (authorised on the path asked for), nor another stack's", async () => {
    for (const path of [staging.stores.parameterPrefix, `${staging.stores.parameterPrefix}/blog`, "/fawkes", production.stores.parameterPrefix]) {
      expect(await asRole(staging, "viewer", "ssm:GetParametersByPath", ssmPath(path)), path).toBe("ExplicitlyDenied");
    }
  });

  it("cannot get a database dump, nor a secret's value, nor decrypt", async () => {
    const dump = `arn:aws:s3:::${staging.stores.artifactBucket}/backups/staging/r35458a3a8e01-blog.dump`;
    expect(await asRole(staging, "viewer", "s3:GetObject", dump)).toBe("ExplicitlyDenied");
    expect(await asRole(staging, "viewer", "secretsmanager:GetSecretValue", `arn:aws:secretsmanager:${staging.region}:${ACCOUNT}:secret:rds!db-fawkes-staging-db-AbCdEf`)).toBe("ExplicitlyDenied");
    expect(await asRole(staging, "viewer", "kms:Decrypt", `arn:aws:kms:${staging.region}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`)).toBe("ExplicitlyDenied");
  });

  it("can describe the groups and their instance refreshes, read the lock table (history of who holds the environment), and read its logs", async () => {
    expect(await asRole(staging, "viewer", "autoscaling:DescribeAutoScalingGroups", "*")).toBe("Allowed");
    expect(await asRole(staging, "viewer", "autoscaling:DescribeInstanceRefreshes", "*")).toBe("Allowed");
    const table = `arn:aws:dynamodb:${staging.region}:${ACCOUNT}:table/${staging.stores.lockTable}`;
    expect(await asRole(staging, "viewer", "dynamodb:GetItem", table)).toBe("Allowed");
    expect(await asRole(staging, "viewer", "dynamodb:Query", table)).toBe("Allowed");
    const logs = `arn:aws:logs:${staging.region}:${ACCOUNT}:log-group:/fawkes/staging/apps/blog`;
    expect(await asRole(staging, "viewer", "logs:FilterLogEvents", logs)).toBe("Allowed");
    expect(await asRole(staging, "viewer", "logs:GetLogEvents", `${logs}:log-stream:i-0abc`)).toBe("Allowed");
    expect(await asRole(staging, "viewer", "s3:GetObject", `arn:aws:s3:::${staging.stores.artifactBucket}/blog/r35458a3a8e01.build.json`)).toBe("Allowed");
  });

  it("reads the lock table through DynamoDB's managed key, but decrypts nothing directly nor through SSM or Secrets Manager", async () => {
    const key = `arn:aws:kms:${staging.region}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const via = (service: string) => ({ "kms:ViaService": `${service}.${staging.region}.amazonaws.com`, "kms:CallerAccount": ACCOUNT });
    expect(await asRole(staging, "viewer", "kms:Decrypt", key, via("dynamodb"), DYNAMODB_MANAGED_KEY_POLICY)).toBe("Allowed");
    for (const service of ["ssm", "secretsmanager", "s3"]) expect(await asRole(staging, "viewer", "kms:Decrypt", key, via(service), DYNAMODB_MANAGED_KEY_POLICY), service).toBe("ExplicitlyDenied");
    expect(await asRole(staging, "viewer", "kms:Decrypt", key, { "kms:CallerAccount": ACCOUNT }, DYNAMODB_MANAGED_KEY_POLICY)).toBe("ExplicitlyDenied");
  });

  it("writes nothing: no lock, no refresh, no artifact", async () => {
    expect(await asRole(staging, "viewer", "dynamodb:PutItem", `arn:aws:dynamodb:${staging.region}:${ACCOUNT}:table/${staging.stores.lockTable}`)).toBe("ImplicitlyDenied");
    expect(await asRole(staging, "viewer", "autoscaling:StartInstanceRefresh", groupArn(staging, "web"))).toBe("ImplicitlyDenied");
    expect(await asRole(staging, "viewer", "s3:PutObject", `arn:aws:s3:::${staging.stores.artifactBucket}/blog/x.tar.gz`)).toBe("ImplicitlyDenied");
  });
});

describe("plan (a pull request's previews)", () => {
  it("reads configuration, but neither secrets nor dumps, and writes nothing", async () => {
    expect(await asRole(staging, "plan", "ec2:DescribeVpcs", "*")).toBe("Allowed");
    expect(await asRole(staging, "plan", "iam:GetRole", roleArn(staging, "deployer"))).toBe("Allowed");
    expect(await asRole(staging, "plan", "ssm:GetParametersByPath", `arn:aws:ssm:${staging.region}:${ACCOUNT}:parameter/fawkes`)).toBe("ExplicitlyDenied");
    expect(await asRole(staging, "plan", "s3:GetObject", `arn:aws:s3:::${staging.stores.artifactBucket}/backups/staging/x.dump`)).toBe("ExplicitlyDenied");
    expect(await asRole(staging, "plan", "autoscaling:StartInstanceRefresh", groupArn(staging, "web"))).toBe("ImplicitlyDenied");
    expect(await asRole(staging, "plan", "ec2:CreateLaunchTemplateVersion", `arn:aws:ec2:${staging.region}:${ACCOUNT}:launch-template/lt-0abc`)).toBe("ImplicitlyDenied");
    expect(await asRole(staging, "plan", "iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/fawkes-staging-web`)).toBe("ImplicitlyDenied");
  });
});

describe("fawkes check --target aws (src/check/aws-probe.ts) runs with the plan role, and so with the deployer", () => {
  /** The resource each probe asks about; `*` for the calls AWS authorises on `*` only. */
  const resourceOf = (env: Environment, action: string): string =>
    ({
      "s3:HeadBucket": `arn:aws:s3:::${env.stores.artifactBucket}`,
      "s3:HeadObject": `arn:aws:s3:::${env.stores.artifactBucket}/blog/r35458a3a8e01.tar.gz`,
      "acm:DescribeCertificate": `arn:aws:acm:${env.region}:${ACCOUNT}:certificate/0f3c1f9e-1234-4a5b-9c8d-0123456789ab`,
    })[action] ?? "*";
  /** What IAM authorises for a call whose name differs (S3's Head* are authorised as List/Get). */
  const iamAction: Record<string, string> = { "s3:HeadBucket": "s3:ListBucket", "s3:HeadObject": "s3:GetObject" };

  it("every AWS call of the probe and of `secret list` is allowed (STS GetCallerIdentity needs no permission)", async () => {
    const calls = [...actionsSentBy("src/check/aws-probe.ts"), "ssm:DescribeParameters"].filter((a) => a !== "sts:GetCallerIdentity");
    expect(calls).toEqual(expect.arrayContaining(["s3:HeadObject", "servicequotas:GetAWSDefaultServiceQuota", "iam:ListOpenIDConnectProviders", "ec2:DescribeAddresses"]));
    expect(actionsSentBy("src/secrets/ssm.ts")).toContain("ssm:DescribeParameters");
    for (const access of ["plan", "deployer"]) {
      for (const call of calls) expect(await asRole(staging, access, iamAction[call] ?? call, resourceOf(staging, call)), `${access} ${call}`).toBe("Allowed");
    }
  });
});

describe("deployer", () => {
  it("may make every call of fawkes' release driver (src/release/auto-scaling.ts) on its groups", async () => {
    const calls = actionsSentBy("src/release/auto-scaling.ts");
    expect(calls).toEqual(expect.arrayContaining(["autoscaling:StartInstanceRefresh", "autoscaling:RollbackInstanceRefresh", "autoscaling:DescribeInstanceRefreshes"]));
    for (const role of Object.keys(staging.graph.outputs.fleets)) {
      for (const call of calls) {
        const resource = call.includes(":Describe") ? "*" : groupArn(staging, role);
        expect(await asRole(staging, "deployer", call, resource), `${call} ${role}`).toBe("Allowed");
        if (resource !== "*") expect(await asRole(staging, "deployer", call, groupArn(production, role)), `${call} production ${role}`).toBe("ImplicitlyDenied");
      }
    }
  });

  it("may make a pin change's pulumi up: a new version of its launch templates, a tagged bundle in its bucket, launches from its templates only", async () => {
    const template = (env: Environment, role: string) => `arn:aws:ec2:${env.region}:${ACCOUNT}:launch-template/${one(env.graph, "aws:ec2/launchTemplate:LaunchTemplate", `${env.graph.spec.project}-${role}-template`).id}`;
    for (const role of Object.keys(staging.graph.outputs.fleets)) {
      expect(await asRole(staging, "deployer", "ec2:CreateLaunchTemplateVersion", template(staging, role)), role).toBe("Allowed");
      expect(await asRole(staging, "deployer", "ec2:CreateLaunchTemplateVersion", `arn:aws:ec2:${staging.region}:${ACCOUNT}:launch-template/lt-0fedcba9876543210`), role).toBe("ImplicitlyDenied");
      const instance = `arn:aws:ec2:${staging.region}:${ACCOUNT}:instance/*`;
      expect(await asRole(staging, "deployer", "ec2:RunInstances", instance, { "ec2:LaunchTemplate": template(staging, role) }), role).toBe("Allowed");
      expect(await asRole(staging, "deployer", "ec2:RunInstances", instance, { "ec2:LaunchTemplate": `arn:aws:ec2:${staging.region}:${ACCOUNT}:launch-template/lt-0fedcba9876543210` }), role).toBe("ImplicitlyDenied");
    }
    expect(await asRole(staging, "deployer", "ec2:DescribeLaunchTemplateVersions", "*")).toBe("Allowed");
    const bundle = `arn:aws:s3:::${staging.stores.artifactBucket}/_bundles/${"0".repeat(64)}.tar.gz`;
    for (const action of ["s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:GetObjectTagging"]) expect(await asRole(staging, "deployer", action, bundle), action).toBe("Allowed");
    // No other default version, nor removal of the versions a rollback boots.
    expect(await asRole(staging, "deployer", "ec2:ModifyLaunchTemplate", template(staging, "web"))).toBe("ImplicitlyDenied");
    expect(await asRole(staging, "deployer", "ec2:DeleteLaunchTemplateVersions", template(staging, "web"))).toBe("ImplicitlyDenied");
  });

  it("can start, cancel and roll back an instance refresh on its environment's groups, and not on another environment's", async () => {
    for (const role of Object.keys(staging.graph.outputs.fleets)) {
      for (const action of ["autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh", "autoscaling:RollbackInstanceRefresh"]) {
        expect(await asRole(staging, "deployer", action, groupArn(staging, role)), `${action} ${role}`).toBe("Allowed");
        expect(await asRole(staging, "deployer", action, groupArn(production, role)), `${action} production ${role}`).toBe("ImplicitlyDenied");
      }
    }
  });

  it("may make every call of the deploy lock (src/release/deploy-lock-dynamodb.ts) on its lock table's deploy item, and not on the hosts' locks nor another environment's table", async () => {
    const calls = actionsSentBy("src/release/deploy-lock-dynamodb.ts");
    expect(calls).toEqual(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]);
    const table = (env: Environment) => `arn:aws:dynamodb:${env.region}:${ACCOUNT}:table/${env.stores.lockTable}`;
    // DynamoDB gives every item-level request the item's partition key as dynamodb:LeadingKeys.
    const item = (key: string) => ({ "dynamodb:LeadingKeys": [key] });
    for (const call of calls) {
      expect(await asRole(staging, "deployer", call, table(staging), item(DEPLOY_LOCK_ITEM)), call).toBe("Allowed");
      expect(await asRole(staging, "deployer", call, table(production), item(DEPLOY_LOCK_ITEM)), `${call} production`).toBe("ImplicitlyDenied");
    }
    // A host's hook lock: the deployer may read and break it (a dead host's), never take or forge one.
    for (const call of ["dynamodb:PutItem", "dynamodb:UpdateItem"]) expect(await asRole(staging, "deployer", call, table(staging), item("blog-r35458a3a8e01-hooks")), call).toBe("ImplicitlyDenied");
    expect(await asRole(staging, "deployer", "dynamodb:DeleteItem", table(staging), item("blog-r35458a3a8e01-hooks"))).toBe("Allowed");
    expect(await asRole(staging, "deployer", "dynamodb:PutItem", table(staging))).toBe("ImplicitlyDenied");
  });

  it("passes only its own hosts' roles, to EC2 only", async () => {
    expect(await asRole(staging, "deployer", "iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/fawkes-staging-web`, { "iam:PassedToService": "ec2.amazonaws.com" })).toBe("Allowed");
    expect(await asRole(staging, "deployer", "iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/fawkes-production-web`, { "iam:PassedToService": "ec2.amazonaws.com" })).toBe("ImplicitlyDenied");
    expect(await asRole(staging, "deployer", "iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/fawkes-staging-admin`, { "iam:PassedToService": "ec2.amazonaws.com" })).toBe("ImplicitlyDenied");
  });

  it("pushes artifacts, but reads no secret and no dump", async () => {
    expect(await asRole(staging, "deployer", "s3:PutObject", `arn:aws:s3:::${staging.stores.artifactBucket}/blog/r1.tar.gz`)).toBe("Allowed");
    expect(await asRole(staging, "deployer", "s3:PutObject", `arn:aws:s3:::${production.stores.artifactBucket}/blog/r1.tar.gz`)).toBe("ImplicitlyDenied");
    expect(await asRole(staging, "deployer", "s3:GetObject", `arn:aws:s3:::${staging.stores.artifactBucket}/backups/staging/x.dump`)).toBe("ExplicitlyDenied");
    expect(await asRole(staging, "deployer", "ssm:GetParameter", `arn:aws:ssm:${staging.region}:${ACCOUNT}:parameter${staging.stores.parameterPrefix}/blog/SECRET_KEY`)).toBe("ImplicitlyDenied");
    expect(await asRole(staging, "deployer", "ssm:DescribeParameters", "*")).toBe("Allowed");
  });

  it("sends no command to a host (fawkes run --target aws is the admin's: Run Command runs as root, beside every app's secrets), nor do plan and viewer", async () => {
    // Each of the two files loads one SDK and sends its commands as `new sdk.XCommand(`: read from the source.
    const sent = (file: string, service: string) => [...readFileSync(join(ROOT, file), "utf8").matchAll(/new sdk\.(\w+)Command\(/g)].map((m) => `${service}:${m[1]}`);
    expect([...sent("src/run/aws-hosts.ts", "ec2"), ...sent("src/run/aws.ts", "ssm")].sort()).toEqual(["ec2:DescribeInstances", "ssm:GetCommandInvocation", "ssm:SendCommand"]);
    const instance = `arn:aws:ec2:${staging.region}:${ACCOUNT}:instance/i-0123456789abcdef0`;
    // AWS's own documents have no account in their ARN; the simulator knows the resource type only with one.
    const document = `arn:aws:ssm:${staging.region}:${ACCOUNT}:document/AWS-RunShellScript`;
    const tags = { "ssm:resourceTag/Project": staging.graph.spec.project, "ssm:resourceTag/Stack": "staging" };
    for (const access of ["deployer", "plan", "viewer"]) {
      expect(await asRole(staging, access, "ssm:SendCommand", instance, tags), `${access} instance`).toBe("ImplicitlyDenied");
      expect(await asRole(staging, access, "ssm:SendCommand", document), `${access} document`).toBe("ImplicitlyDenied");
      // Finding the instances is a read every role has.
      expect(await asRole(staging, access, "ec2:DescribeInstances", "*"), access).toBe("Allowed");
    }
  });
});

describe("GitHub Actions' OIDC tokens", () => {
  const pullRequest = `repo:${REPOSITORY}:pull_request`;
  const environmentOf = (stack: string) => `repo:${REPOSITORY}:environment:fawkes-${stack}`;

  it("a pull request's token assumes the plan role, and not the deployer, viewer or admin role", async () => {
    expect(await gitHubAssumes(staging, "plan", pullRequest)).toBe("Allowed");
    expect(await gitHubAssumes(staging, "deployer", pullRequest)).toBe("ImplicitlyDenied");
    expect(await gitHubAssumes(staging, "viewer", pullRequest)).toBe("ImplicitlyDenied");
    expect(await gitHubAssumes(staging, "admin", pullRequest)).toBe("ImplicitlyDenied");
  });

  it("the token of the GitHub environment fawkes-staging assumes staging's deployer, not production's, and never admin", async () => {
    expect(await gitHubAssumes(staging, "deployer", environmentOf("staging"))).toBe("Allowed");
    expect(await gitHubAssumes(production, "deployer", environmentOf("staging"))).toBe("ImplicitlyDenied");
    expect(await gitHubAssumes(production, "deployer", environmentOf("production"))).toBe("Allowed");
    expect(await gitHubAssumes(production, "admin", environmentOf("production"))).toBe("ImplicitlyDenied");
    // An environment's token is not a pull request's: it does not reach the plan role either.
    expect(await gitHubAssumes(staging, "plan", environmentOf("staging"))).toBe("ImplicitlyDenied");
  });

  it("another repository's tokens, a branch's push token, and a pattern-like subject assume nothing", async () => {
    for (const subject of [`repo:acme/other:pull_request`, `repo:acme/other:environment:fawkes-staging`, `repo:${REPOSITORY}:ref:refs/heads/main`, `repo:${REPOSITORY}:*`]) {
      for (const access of ["plan", "deployer"]) expect(await gitHubAssumes(staging, access, subject), `${subject} -> ${access}`).toBe("ImplicitlyDenied");
    }
  });

  it("a token for another audience is refused", async () => {
    const trust = standIn(trustOf(staging, "deployer"));
    const r = await decide({
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trust,
      request: {
        principal: OIDC_PROVIDER,
        action: "sts:AssumeRoleWithWebIdentity",
        resource: { resource: roleArn(staging, "deployer"), accountId: ACCOUNT },
        contextVariables: { [STAND_IN[`${GITHUB_OIDC_HOST}:aud`]!]: "https://github.com/acme", [STAND_IN[`${GITHUB_OIDC_HOST}:sub`]!]: environmentOf("staging") },
      },
    });
    expect(r).toBe("ImplicitlyDenied");
  });
});

describe("EFS file system policy", () => {
  const fs = `arn:aws:elasticfilesystem:eu-west-1:${ACCOUNT}:file-system/fs-0123456789abcdef0`;
  /** A host's NFS client through stunnel: no IAM authorisation, so EFS sees an anonymous client. */
  const mount = (action: string, context: Record<string, string>) =>
    decide({
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: fileSystemPolicy(fs),
      request: { principal: anonymousPrincipal, action, resource: { resource: fs, accountId: ACCOUNT }, contextVariables: context },
    });

  it("the file system made by the program carries this policy", () => {
    const policy = ofType(staging.graph, "aws:efs/fileSystemPolicy:FileSystemPolicy");
    expect(policy).toHaveLength(1);
    const fsArn = JSON.parse(policy[0]!.inputs.policy).Statement[0].Resource;
    expect(JSON.parse(policy[0]!.inputs.policy)).toEqual(fileSystemPolicy(fsArn));
  });

  it("a client over TLS through a mount target mounts, writes and has root (the bootstrap makes each app's dir)", async () => {
    const tls = { "aws:SecureTransport": "true", "elasticfilesystem:AccessedViaMountTarget": "true" };
    for (const action of ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"]) expect(await mount(action, tls), action).toBe("Allowed");
  });

  it("a client without TLS is denied, and so is one that does not come through a mount target", async () => {
    expect(await mount("elasticfilesystem:ClientMount", { "aws:SecureTransport": "false", "elasticfilesystem:AccessedViaMountTarget": "true" })).toBe("ExplicitlyDenied");
    expect(await mount("elasticfilesystem:ClientMount", { "aws:SecureTransport": "true", "elasticfilesystem:AccessedViaMountTarget": "false" })).toBe("ImplicitlyDenied");
  });
});

describe("the policy pack's access rules", () => {
  const READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess";

  it("the environment's own roles pass them, GitHub trust included", async () => {
    for (const env of [staging, production]) {
      for (const r of ofType(env.graph, T.role).concat(ofType(env.graph, T.attachment))) {
        for (const policy of [rules.noReadOnlyAccess, rules.githubTrustScoped]) expect(await violationsOf(policy, { type: r.type, name: r.name, props: r.inputs }), `${policy.name} ${r.name}`).toEqual([]);
      }
    }
  });

  it("no-read-only-access: ReadOnlyAccess attached to a role, given in a role's managedPolicyArns, or attached to users", async () => {
    const attached = await violationsOf(rules.noReadOnlyAccess, { type: T.attachment, name: "viewer-managed", props: { role: "fawkes-staging-viewer", policyArn: READ_ONLY } });
    expect(attached).toEqual([expect.stringMatching(/^viewer-managed attaches ReadOnlyAccess, which reads every stack's secrets .*use the environment's viewer role \(fawkes:access=viewer\)/)]);
    expect(await violationsOf(rules.noReadOnlyAccess, { type: T.role, name: "ci", props: { name: "ci", managedPolicyArns: [READ_ONLY] } })).toHaveLength(1);
    expect(await violationsOf(rules.noReadOnlyAccess, { type: "aws:iam/policyAttachment:PolicyAttachment", name: "all", props: { users: ["ops"], policyArn: READ_ONLY } })).toHaveLength(1);
    expect(await violationsOf(rules.noReadOnlyAccess, { type: T.attachment, name: "ssm", props: { role: "fawkes-staging-web", policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" } })).toEqual([]);
  });

  const gitHubRole = (access: string, condition: object): { type: string; name: string; props: Record<string, unknown> } => ({
    type: T.role,
    name: `ci-${access}`,
    props: {
      name: `fawkes-staging-${access}`,
      tags: { [ACCESS_TAG]: access },
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Federated: OIDC_PROVIDER }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition }],
      }),
    },
  });
  const exact = (sub: string) => ({ StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com", [`${GITHUB_OIDC_HOST}:sub`]: sub } });

  it("github-trust-scoped: a deploy role trusted for pull requests (the finding: one CI role, pull requests got admin)", async () => {
    expect(await violationsOf(rules.githubTrustScoped, gitHubRole("deployer", exact(`repo:${REPOSITORY}:pull_request`)))).toEqual([
      expect.stringContaining(`role fawkes-staging-deployer (${ACCESS_TAG}=deployer) trusts pull requests (sub repo:${REPOSITORY}:pull_request): any pull request's code would get it; only the role tagged ${ACCESS_TAG}=plan may`),
    ]);
    const untagged = gitHubRole("x", exact(`repo:${REPOSITORY}:pull_request`));
    expect(await violationsOf(rules.githubTrustScoped, { ...untagged, props: { ...untagged.props, tags: {} } })).toEqual([expect.stringContaining(`(${ACCESS_TAG}=none) trusts pull requests`)]);
    expect(await violationsOf(rules.githubTrustScoped, gitHubRole("plan", exact(`repo:${REPOSITORY}:pull_request`)))).toEqual([]);
    expect(await violationsOf(rules.githubTrustScoped, gitHubRole("deployer", exact(`repo:${REPOSITORY}:environment:fawkes-staging`)))).toEqual([]);
  });

  it("github-trust-scoped: a subject pattern, a missing subject or audience", async () => {
    const like = { StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com" }, StringLike: { [`${GITHUB_OIDC_HOST}:sub`]: `repo:${REPOSITORY}:*` } };
    expect(await violationsOf(rules.githubTrustScoped, gitHubRole("deployer", like))).toEqual([expect.stringContaining("trusts GitHub tokens by a pattern or without a subject (StringLike)")]);
    expect(await violationsOf(rules.githubTrustScoped, gitHubRole("deployer", exact(`repo:${REPOSITORY}:*`)))).toEqual([expect.stringContaining("by a pattern")]);
    expect(await violationsOf(rules.githubTrustScoped, gitHubRole("deployer", { StringEquals: { [`${GITHUB_OIDC_HOST}:sub`]: `repo:${REPOSITORY}:environment:fawkes-staging` } }))).toEqual([
      expect.stringContaining(`without StringEquals ${GITHUB_OIDC_HOST}:aud = sts.amazonaws.com`),
    ]);
  });
});
