// Issue 8: the rules judge what a resource grants, not how it is spelt. Each case here slipped
// past the string comparisons the rules used to make. What a resource opens: policy-bypass-network.
import { beforeAll, describe, expect, it } from "vitest";
import { GITHUB_OIDC_HOST } from "../../components/index.ts";
import * as rules from "../../policy/rules.ts";
import { ACCOUNT, captureEnvironment, specOf, stacksOfTheRepository, type StackGraph } from "./harness.ts";
import { stackResources, stackViolationsOf, violationsOf, type PolicyInput } from "./policy-harness.ts";

const { TYPES, ACCESS_TAG } = rules;
let g: StackGraph;
beforeAll(async () => {
  g = await captureEnvironment(specOf(stacksOfTheRepository()[0]!));
});

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const allow = (rest: object) => ({ Effect: "Allow", ...rest });
const role = (access: string) => g.resources.find((r) => r.type === TYPES.role && r.inputs.tags?.[ACCESS_TAG] === access)!;
const accessRoles = () => g.resources.find((r) => r.type === "fawkes:access:AccessRoles")!;
const withExtra = (...extra: PolicyInput[]) => stackResources([...g.resources, ...extra]);
const adminViolations = (...extra: PolicyInput[]) => stackViolationsOf(rules.noAdminOutsideAdminRole, withExtra(...extra));
const MFA = { Bool: { "aws:MultiFactorAuthPresent": "true" } };
const adminTrust = (condition: object = MFA) => doc(allow({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole", Condition: condition }));

describe("no-admin-outside-admin-role judges what a statement grants once its wildcards are expanded", () => {
  // [statement, an action the message must name]
  const adminEquivalent: Array<[string, object, string]> = [
    ["NotAction: every action but PassRole", allow({ NotAction: ["iam:PassRole"], Resource: "*" }), "iam:AttachRolePolicy"],
    ["iam:* (attach AdministratorAccess to itself)", allow({ Action: "iam:*", Resource: "*" }), "iam:PutRolePolicy"],
    ["a service wildcard: i*:*", allow({ Action: ["s3:GetObject", "i*:*"], Resource: "*" }), "iam:CreatePolicyVersion"],
    ["an action wildcard across services: *:AttachRolePolicy", allow({ Action: "*:AttachRolePolicy", Resource: "*" }), "iam:AttachRolePolicy"],
    ["an action in another case", allow({ Action: "IAM:putrolepolicy", Resource: "*" }), "iam:PutRolePolicy"],
    ["PassRole on every role", allow({ Action: "iam:PassRole", Resource: "*" }), "iam:PassRole"],
    ['"*" on arn:aws:*:*:*:*', allow({ Action: "*", Resource: "arn:aws:*:*:*:*" }), "iam:AttachRolePolicy"],
    ['"*" on arn:*', allow({ Action: "*", Resource: ["arn:aws:s3:::x", "arn:*"] }), "iam:AttachRolePolicy"],
    ['"*" on NotResource one bucket', allow({ Action: "*", NotResource: "arn:aws:s3:::nothing" }), "iam:AttachRolePolicy"],
    ["a new version of any policy", allow({ Action: "iam:CreatePolicyVersion", Resource: "arn:aws:iam::*:policy/*" }), "iam:CreatePolicyVersion"],
    ["every role of the account", allow({ Action: "iam:AttachRolePolicy", Resource: `arn:aws:iam::${ACCOUNT}:role/*` }), "iam:AttachRolePolicy"],
    ["its own role, by a pattern", allow({ Action: "iam:PutRolePolicy", Resource: "arn:aws:iam::*:role/fawkes-*" }), "iam:PutRolePolicy"],
    // A tag is a claim conditions trust (aws:PrincipalTag, iam:ResourceTag), fawkes:access among them.
    ["tagging any role (fawkes:access=admin on itself or another)", allow({ Action: "iam:TagRole", Resource: "*" }), "iam:TagRole"],
    ["untagging every role of the account", allow({ Action: "iam:Untag*", Resource: `arn:aws:iam::${ACCOUNT}:role/*` }), "iam:UntagRole"],
  ];
  it.each(adminEquivalent)("catches %s on the deployer", async (_what, statement, action) => {
    const deployer = role("deployer").inputs.name as string;
    const sneaky: PolicyInput = { type: TYPES.rolePolicy, name: "sneaky", props: { role: deployer, policy: doc(statement) } };
    expect(await adminViolations(sneaky)).toEqual([expect.stringMatching(new RegExp(`^the inline policy sneaky of role ${deployer} allows .*${action}.*; only the environment's admin role`))]);
  });

  it("catches a plan or deploy role that may tag itself", async () => {
    for (const access of ["plan", "deployer"]) {
      const name = role(access).inputs.name as string;
      const tagItself: PolicyInput = { type: TYPES.rolePolicy, name: "tag-itself", props: { role: name, policy: doc(allow({ Action: ["iam:TagRole", "iam:ListRoleTags"], Resource: `arn:aws:iam::${ACCOUNT}:role/${name}` })) } };
      expect(await adminViolations(tagItself), access).toEqual([expect.stringContaining(`allows "iam:TagRole", "iam:ListRoleTags" on "arn:aws:iam::${ACCOUNT}:role/${name}", that is iam:TagRole on role ${name} itself`)]);
    }
  });

  it("catches it in a managed policy, a user's or a group's policy, and a new role's inline policy", async () => {
    const near = doc(allow({ NotAction: "iam:PassRole", Resource: "*" }));
    const extra: PolicyInput[] = [
      { type: TYPES.managedPolicy, name: "near-admin", props: { policy: near } },
      { type: TYPES.userPolicy, name: "ops-user", props: { user: "ops", policy: near } },
      { type: TYPES.groupPolicy, name: "ops-group", props: { group: "ops", policy: JSON.parse(near) } },
      { type: TYPES.role, name: "ci-role", props: { name: "ci-role", inlinePolicies: [{ name: "all", policy: near }] } },
    ];
    const found = await adminViolations(...extra);
    for (const r of extra) expect(found.filter((m) => m.includes(r.name)), r.name).toHaveLength(1);
  });

  it("catches AdministratorAccess or IAMFullAccess however it is attached", async () => {
    const deployer = role("deployer").inputs.name as string;
    const iamFull: PolicyInput = { type: TYPES.rolePolicyAttachment, name: "iam-full", props: { role: deployer, policyArn: "arn:aws:iam::aws:policy/IAMFullAccess" } };
    expect(await adminViolations(iamFull)).toEqual([expect.stringContaining(`role ${deployer} gets IAMFullAccess`)]);
    const managedArns: PolicyInput = { type: TYPES.role, name: "ci", props: { name: "ci", managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"] } };
    expect(await adminViolations(managedArns)).toEqual([expect.stringContaining("role ci gets AdministratorAccess")]);
  });

  it("leaves alone what changes no permission, what is scoped, and what a Deny takes back", async () => {
    const scoped = [
      allow({ Action: "s3:*", Resource: "*" }),
      allow({ Action: "s*:*", Resource: "*" }),
      allow({ Action: ["iam:Get*", "iam:List*"], Resource: "*" }),
      allow({ Action: "iam:PassRole", Resource: `arn:aws:iam::${ACCOUNT}:role/fawkes-dev-web` }),
      allow({ Action: "*", Resource: "arn:aws:s3:::bucket/*" }),
      allow({ NotAction: ["iam:*", "organizations:*"], Resource: "*" }),
    ];
    for (const s of scoped) expect(await rules.grantsAdmin(doc(s)), JSON.stringify(s)).toEqual([]);
    expect(await rules.grantsAdmin(doc(allow({ Action: "*", Resource: "*" }), { Effect: "Deny", Action: "iam:*", Resource: "*" }))).toEqual([]);
    // A Deny on one account's roles takes nothing back from every role.
    expect(await rules.grantsAdmin(doc(allow({ Action: "iam:*", Resource: "*" }), { Effect: "Deny", Action: "iam:*", Resource: "arn:aws:iam::999999999999:*" }))).toHaveLength(1);
  });
});

describe("only the environment's real admin role is exempt, not any role tagged admin", () => {
  const everything = doc(allow({ Action: "*", Resource: "*" }));
  const backdoor = (props: Record<string, unknown>, parent?: string): PolicyInput => ({
    type: TYPES.role, name: "backdoor", ...(parent ? { parent } : {}),
    props: { name: "backdoor", tags: { [ACCESS_TAG]: "admin" }, inlinePolicies: [{ name: "all", policy: everything }], ...props },
  });

  it("reports a role that tags itself admin, whatever it trusts", async () => {
    const ec2 = doc(allow({ Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }));
    expect(await adminViolations(backdoor({ assumeRolePolicy: ec2 }))).toEqual([expect.stringContaining('role backdoor\'s inlinePolicies[0] allows "*" on "*"')]);
    // The admin's own trust, copied, does not make a role the admin: it is not the AccessRoles' role.
    expect(await adminViolations(backdoor({ assumeRolePolicy: adminTrust() }))).toHaveLength(1);
  });

  it("reports a role of the AccessRoles component tagged admin that anybody else may assume", async () => {
    const parent = accessRoles().urn;
    const github = doc(allow({ Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` }, Action: "sts:AssumeRoleWithWebIdentity" }));
    for (const trust of [github, adminTrust({}), adminTrust({ BoolIfExists: { "aws:MultiFactorAuthPresent": "true" } })]) {
      expect(await adminViolations(backdoor({ assumeRolePolicy: trust }, parent)), trust).toHaveLength(1);
    }
    expect(await adminViolations(backdoor({ assumeRolePolicy: adminTrust() }, parent))).toEqual([]);
  });

  it("reports AdministratorAccess attached to a self-tagged admin role, directly or by a PolicyAttachment", async () => {
    const self = backdoor({ assumeRolePolicy: adminTrust(), inlinePolicies: [] });
    const attach: PolicyInput = { type: TYPES.rolePolicyAttachment, name: "promote", props: { role: "backdoor", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } };
    expect(await adminViolations(self, attach)).toEqual([expect.stringContaining("role backdoor gets AdministratorAccess")]);
    const many: PolicyInput = { type: TYPES.policyAttachment, name: "many", props: { roles: ["backdoor"], policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } };
    expect(await adminViolations(self, many)).toEqual([expect.stringContaining("many gives AdministratorAccess to more than the admin role")]);
  });

  it("knows the real admin role by the URN the engine gives it", async () => {
    const admin = role("admin");
    const urn = admin.urn.replace(TYPES.role, `fawkes:index:Environment$fawkes:access:AccessRoles$${TYPES.role}`);
    const resources = stackResources(g.resources.map((r) => (r === admin ? { ...r, urn } : r)));
    for (const r of resources) delete r.parent;
    expect(await stackViolationsOf(rules.noAdminOutsideAdminRole, resources)).toEqual([]);
    expect(await stackViolationsOf(rules.noAdminOutsideAdminRole, stackResources(g.resources).map((r) => ({ ...r, parent: undefined }) as typeof r))).toHaveLength(1);
  });
});

describe("a role pull requests may assume writes nothing, whatever it is tagged", () => {
  const REPOSITORY = "acme/shop-infra";
  let gh: StackGraph;
  beforeAll(async () => {
    const spec = specOf(stacksOfTheRepository()[0]!);
    gh = await captureEnvironment({ ...spec, catalogue: { ...spec.catalogue, github: { repository: REPOSITORY } } });
  });
  const prViolations = (...extra: PolicyInput[]) => stackViolationsOf(rules.pullRequestRolesReadOnly, stackResources([...gh.resources, ...extra]));
  const planName = () => gh.resources.find((r) => r.type === TYPES.role && r.inputs.tags?.[ACCESS_TAG] === "plan")!.inputs.name as string;
  const gitHubTrust = (condition: object) => doc(allow({ Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITHUB_OIDC_HOST}` }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition }));
  const AUD = { [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com" };
  const exactly = (sub: string) => gitHubTrust({ StringEquals: { ...AUD, [`${GITHUB_OIDC_HOST}:sub`]: sub } });
  const pullRequests = exactly(`repo:${REPOSITORY}:pull_request`);
  const ciRole = (assumeRolePolicy: string, statement: object, access = "plan"): PolicyInput => ({
    type: TYPES.role, name: "pr-writer",
    props: { name: "pr-writer", tags: { [ACCESS_TAG]: access }, assumeRolePolicy, inlinePolicies: [{ name: "ci", policy: doc(statement) }] },
  });
  const onPlan = (name: string, statement: object): PolicyInput => ({ type: TYPES.rolePolicy, name, props: { role: planName(), policy: doc(statement) } });

  it("the environment's plan role trusts pull requests and reads only", async () => {
    const plan = gh.resources.find((r) => r.type === TYPES.role && r.inputs.name === planName())!;
    expect(plan.inputs.assumeRolePolicy).toContain(":pull_request");
    expect(await prViolations()).toEqual([]);
  });

  it("reports a role that tags itself plan to trust pull requests, and writes", async () => {
    const writer = ciRole(pullRequests, allow({ Action: "s3:PutObject", Resource: "arn:aws:s3:::bucket/*" }));
    // The tag is all github-trust-scoped asks for.
    expect(await violationsOf(rules.githubTrustScoped, writer)).toEqual([]);
    expect(await prViolations(writer)).toEqual([
      expect.stringMatching(new RegExp(`^role pr-writer trusts pull requests \\(sub repo:${REPOSITORY}:pull_request\\), and its inlinePolicies\\[0\\] allows writes \\(s3:PutObject\\);`)),
    ]);
  });

  it("reports writes given to the plan role by an inline policy, a wildcard, NotAction or an attached policy", async () => {
    const writes: PolicyInput[] = [
      onPlan("put-item", allow({ Action: "dynamodb:PutItem", Resource: "*" })),
      onPlan("put-anything", allow({ Action: "*:Put*", Resource: "*" })),
      onPlan("all-but-s3", allow({ NotAction: "s3:*", Resource: "arn:aws:sqs:*:*:*" })),
      { type: TYPES.rolePolicyAttachment, name: "s3-full", props: { role: planName(), policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" } },
      { type: TYPES.policyAttachment, name: "many", props: { roles: [planName()], policyArn: "arn:aws:iam::aws:policy/AmazonSQSFullAccess" } },
    ];
    for (const w of writes) expect(await prViolations(w), w.name).toEqual([expect.stringContaining(`role ${planName()} trusts pull requests`)]);
    expect(await prViolations(writes[1]!)).toEqual([expect.stringContaining("allows writes (")]);
    expect(await prViolations(writes[3]!)).toEqual([expect.stringContaining("gets arn:aws:iam::aws:policy/AmazonS3FullAccess, which the pack cannot read")]);
    // A managed policy the stack declares is read like an inline one.
    const managed = (policy: object): PolicyInput => ({ type: TYPES.managedPolicy, name: "extra", props: { arn: `arn:aws:iam::${ACCOUNT}:policy/extra`, policy: doc(policy) } });
    const attach: PolicyInput = { type: TYPES.rolePolicyAttachment, name: "extra-on-plan", props: { role: planName(), policyArn: `arn:aws:iam::${ACCOUNT}:policy/extra` } };
    expect(await prViolations(managed(allow({ Action: "sqs:SendMessage", Resource: "*" })), attach)).toEqual([expect.stringContaining("the managed policy extra allows writes (sqs:SendMessage)")]);
    expect(await prViolations(managed(allow({ Action: ["s3:Get*", "ec2:Describe*"], Resource: "*" })), attach)).toEqual([]);
    expect(await prViolations(onPlan("reads", allow({ Action: ["sqs:Get*", "logs:StartQuery"], Resource: "*" })))).toEqual([]);
  });

  it("counts a subject pattern or no subject as trusting pull requests; an environment's exact subject does not", async () => {
    const put = allow({ Action: "s3:PutObject", Resource: "*" });
    const like = gitHubTrust({ StringEquals: AUD, StringLike: { [`${GITHUB_OIDC_HOST}:sub`]: `repo:${REPOSITORY}:*` } });
    expect(await prViolations(ciRole(like, put, "deployer"))).toHaveLength(1);
    expect(await prViolations(ciRole(gitHubTrust({ StringEquals: AUD }), put, "deployer"))).toHaveLength(1);
    expect(await prViolations(ciRole(exactly(`repo:${REPOSITORY}:environment:fawkes-dev`), put, "deployer"))).toEqual([]);
  });
});

describe("the pack refuses each bypass issue 17 names (finding 8)", () => {
  /** Every rule of the pack over the stack with the resources added, as `rule: message`. */
  async function packViolations(extra: PolicyInput[]): Promise<string[]> {
    const out: string[] = [];
    for (const p of rules.resourcePolicies) for (const r of extra) out.push(...(await violationsOf(p, r)).map((m) => `${p.name}: ${m}`));
    for (const p of rules.stackPolicies) out.push(...(await stackViolationsOf(p, withExtra(...extra))).map((m) => `${p.name}: ${m}`));
    return out;
  }
  const onDeployer = (statement: object): PolicyInput[] => [{ type: TYPES.rolePolicy, name: "bypass", props: { role: role("deployer").inputs.name, policy: doc(statement) } }];
  const group = (cidrBlocks: string[], ipv6CidrBlocks: string[] = []): PolicyInput[] => [
    { type: TYPES.securityGroup, name: "bypass", props: { name: "bypass", ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks, ipv6CidrBlocks }] } },
  ];
  const instance = (props: object): PolicyInput[] => [{ type: TYPES.instance, name: "box", props: { ami: "ami-1", instanceType: "t3.micro", ...props } }];
  const IMDSV2 = { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } };
  const pullRequests = doc(
    allow({
      Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITHUB_OIDC_HOST}` },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: { StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com", [`${GITHUB_OIDC_HOST}:sub`]: "repo:acme/shop-infra:pull_request" } },
    }),
  );
  const selfTagged = (access: string, assumeRolePolicy: string, policy: object): PolicyInput[] => [
    { type: TYPES.role, name: "self-tagged", props: { name: "self-tagged", tags: { [ACCESS_TAG]: access }, assumeRolePolicy, inlinePolicies: [{ name: "p", policy: doc(policy) }] } },
  ];

  const bypasses: Array<[string, () => PolicyInput[], string]> = [
    ["NotAction", () => onDeployer(allow({ NotAction: "iam:PassRole", Resource: "*" })), "no-admin-outside-admin-role"],
    ["iam:*", () => onDeployer(allow({ Action: "iam:*", Resource: "*" })), "no-admin-outside-admin-role"],
    ["arn:aws:* resources", () => onDeployer(allow({ Action: "*", Resource: "arn:aws:*" })), "no-admin-outside-admin-role"],
    ["NotResource", () => onDeployer(allow({ Action: "*", NotResource: "arn:aws:s3:::nothing" })), "no-admin-outside-admin-role"],
    ["a self-tagged admin role", () => selfTagged("admin", adminTrust(), allow({ Action: "*", Resource: "*" })), "no-admin-outside-admin-role"],
    ["a deploy role that may tag roles", () => onDeployer(allow({ Action: "iam:TagRole", Resource: "*" })), "no-admin-outside-admin-role"],
    ["a role tagged plan that pull requests assume and that writes", () => selfTagged("plan", pullRequests, allow({ Action: "s3:PutObject", Resource: "*" })), "pull-request-roles-read-only"],
    ["0.0.0.0/1 plus 128.0.0.0/1", () => group(["0.0.0.0/1", "128.0.0.0/1"]), "no-open-ingress"],
    ["0.0.0.0/1 alone", () => group(["0.0.0.0/1"]), "no-open-ingress"],
    ["::/1 plus 8000::/1", () => group([], ["::/1", "8000::/1"]), "no-open-ingress"],
    ["half of IPv6's global space", () => group([], ["2000::/4"]), "no-open-ingress"],
    ["an aws.ec2.Instance without IMDSv2", () => instance({ metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 } }), "imdsv2-required"],
    ["an aws.ec2.Instance with a public IP", () => instance({ ...IMDSV2, associatePublicIpAddress: true }), "no-public-ip-on-hosts"],
  ];
  it.each(bypasses)("%s", async (_what, extra, rule) => {
    expect((await packViolations(extra())).map((v) => v.slice(0, v.indexOf(":")))).toContain(rule);
  });
});
