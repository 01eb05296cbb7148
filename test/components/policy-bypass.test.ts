// Issue 8: the rules judge what a resource grants or opens, not how it is spelt. Each case here
// slipped past the string comparisons the rules used to make.
import { beforeAll, describe, expect, it } from "vitest";
import * as rules from "../../policy/rules.ts";
import { ACCOUNT, captureEnvironment, specOf, stacksOfTheRepository, type StackGraph } from "./harness.ts";
import { stackResources, stackViolationsOf, violationsOf, type PolicyInput } from "./policy-harness.ts";

const { TYPES, TIER_TAG, ACCESS_TAG } = rules;
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
  ];
  it.each(adminEquivalent)("catches %s on the deployer", async (_what, statement, action) => {
    const deployer = role("deployer").inputs.name as string;
    const sneaky: PolicyInput = { type: TYPES.rolePolicy, name: "sneaky", props: { role: deployer, policy: doc(statement) } };
    expect(await adminViolations(sneaky)).toEqual([expect.stringMatching(new RegExp(`^the inline policy sneaky of role ${deployer} allows .*${action}.*; only the environment's admin role`))]);
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

describe("open ingress is judged by the addresses a group accepts", () => {
  const inline = (...ingress: object[]): PolicyInput => ({ type: TYPES.securityGroup, name: "sg", props: { ingress } });
  const ssh = (cidrBlocks: string[], ipv6CidrBlocks: string[] = []) => ({ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks, ipv6CidrBlocks });
  const rule = (name: string, cidrIpv4: string, port = 22, tier = "hosts", extra: Record<string, unknown> = {}): PolicyInput => ({
    type: TYPES.ingressRule, name, props: { ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4, tags: { [TIER_TAG]: tier }, ...extra },
  });
  const EVERY_PUBLIC_ADDRESS = ["0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"];

  it("no-open-ingress: halves of the internet in one rule or across a group's inline rules", async () => {
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(["0.0.0.0/1", "128.0.0.0/1"])))).toEqual([expect.stringContaining("every public IPv4 address")]);
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(["0.0.0.0/1"]), ssh(["128.0.0.0/1"])))).toHaveLength(1);
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(["0.0.0.0/1"]), { ...ssh(["128.0.0.0/1"]), fromPort: 23, toPort: 23 }))).toEqual([]);
    expect(await violationsOf(rules.noOpenIngress, inline({ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/1"] }, ssh(["128.0.0.0/1"])))).toHaveLength(1);
  });

  it("no-open-ingress: every public address without the private ranges, host bits under /0, IPv6's global space", async () => {
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(EVERY_PUBLIC_ADDRESS)))).toHaveLength(1);
    expect(await violationsOf(rules.noOpenIngress, rule("r", "10.1.2.3/0"))).toEqual([expect.stringContaining("10.1.2.3/0")]);
    expect(await violationsOf(rules.noOpenIngress, rule("r", "", 22, "hosts", { cidrIpv4: undefined, cidrIpv6: "2000::/3" }))).toEqual([expect.stringContaining("every public IPv6 address")]);
    expect(await violationsOf(rules.noOpenIngress, inline(ssh([], ["::/1", "8000::/1"])))).toHaveLength(1);
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])))).toEqual([]);
    // The load balancer may still take the web from anywhere, however it is written.
    const web = { ...ssh(["0.0.0.0/1", "128.0.0.0/1"]), fromPort: 443, toPort: 443 };
    expect(await violationsOf(rules.noOpenIngress, { type: TYPES.securityGroup, name: "alb", props: { tags: { [TIER_TAG]: "alb" }, ingress: [web] } })).toEqual([]);
  });

  it("no-open-ingress-across-rules: a group's standalone rules that add up to the internet", async () => {
    const hosts = g.resources.find((r) => r.type === TYPES.securityGroup && r.inputs.tags[TIER_TAG] === "hosts")!;
    const on = (r: PolicyInput) => ({ ...r, props: { ...r.props, securityGroupId: hosts.id } });
    const halves = [on(rule("low", "0.0.0.0/1")), on(rule("high", "128.0.0.0/1"))];
    expect(await stackViolationsOf(rules.noOpenIngressAcrossRules, withExtra(...halves))).toEqual([expect.stringMatching(/security group fawkes-[\w-]+-hosts accepts every public IPv4 address on tcp 22 through low \(0\.0\.0\.0\/1\), high \(128\.0\.0\.0\/1\)/)]);
    const legacy: PolicyInput = { type: TYPES.legacyRule, name: "old", props: { type: "ingress", securityGroupId: hosts.id, protocol: "tcp", fromPort: 0, toPort: 65535, cidrBlocks: ["128.0.0.0/1"] } };
    expect(await stackViolationsOf(rules.noOpenIngressAcrossRules, withExtra(halves[0]!, legacy))).toHaveLength(1);
    expect(await stackViolationsOf(rules.noOpenIngressAcrossRules, withExtra(halves[0]!, on(rule("other-port", "128.0.0.0/1", 23))))).toEqual([]);
    // A group's inline rule and a standalone one add up too.
    const mixed: PolicyInput = { type: TYPES.securityGroup, name: "mixed", props: { name: "mixed", id: "sg-mixed", ingress: [ssh(["0.0.0.0/1"])] } };
    const high = rule("high", "128.0.0.0/1", 22, "hosts", { securityGroupId: "sg-mixed" });
    expect(await stackViolationsOf(rules.noOpenIngressAcrossRules, withExtra(mixed, high))).toEqual([expect.stringContaining("security group mixed accepts every public IPv4 address on tcp 22 through ingress[0] (0.0.0.0/1), high (128.0.0.0/1)")]);
  });

  it("open-ingress-only-on-alb-group: an open rule tagged alb spelt another way", async () => {
    const hosts = g.resources.find((r) => r.type === TYPES.securityGroup && r.inputs.tags[TIER_TAG] === "hosts")!;
    const sneaky = rule("sneaky", "1.2.3.4/0", 443, "alb", { securityGroupId: hosts.id });
    expect(await stackViolationsOf(rules.openIngressOnlyOnAlbGroup, withExtra(sneaky))).toEqual([expect.stringContaining("the open ingress rule sneaky")]);
  });
});

describe("imdsv2-required covers every way to start a host", () => {
  const host = (type: string, props: Record<string, unknown>): PolicyInput => ({ type, name: "box", props: { ami: "ami-1", instanceType: "t3.micro", ...props } });
  it.each([TYPES.instance, TYPES.spotInstanceRequest, TYPES.launchConfiguration])("%s: no metadata options, optional tokens", async (type) => {
    expect(await violationsOf(rules.imdsv2Required, host(type, {}))).toHaveLength(2);
    expect(await violationsOf(rules.imdsv2Required, host(type, { metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 } }))).toEqual([expect.stringContaining('httpTokens is "optional"')]);
    expect(await violationsOf(rules.imdsv2Required, host(type, { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } }))).toEqual([]);
  });
});
