// Issue 8: the rules judge what a resource opens, not how it is spelt: ingress by the public
// addresses it covers, hosts however they are started. What a resource grants: policy-bypass.
import { beforeAll, describe, expect, it } from "vitest";
import * as rules from "../../policy/rules.ts";
import { captureEnvironment, specOf, stacksOfTheRepository, type StackGraph } from "./harness.ts";
import { stackResources, stackViolationsOf, violationsOf, type PolicyInput } from "./policy-harness.ts";

const { TYPES, TIER_TAG } = rules;
let g: StackGraph;
beforeAll(async () => {
  g = await captureEnvironment(specOf(stacksOfTheRepository()[0]!));
});

const withExtra = (...extra: PolicyInput[]) => stackResources([...g.resources, ...extra]);

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
    // Blocks on other ports do not add up; a rule of all protocols reaches every port.
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(["11.0.0.0/8"]), { ...ssh(["12.0.0.0/8"]), fromPort: 23, toPort: 23 }))).toEqual([]);
    expect(await violationsOf(rules.noOpenIngress, inline({ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["11.0.0.0/8"] }, ssh(["12.0.0.0/8"])))).toHaveLength(1);
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

  it("no-open-ingress: a share of the internet wider than any one network's, alone (0.0.0.0/1, a /7, 2000::/4)", async () => {
    const wide = "more public IPv4 addresses than a /8 holds";
    expect(await violationsOf(rules.noOpenIngress, rule("half", "0.0.0.0/1"))).toEqual([expect.stringMatching(new RegExp(`^the ingress rule accepts ${wide} \\(57% of them\\) on tcp 22 \\(0\\.0\\.0\\.0/1\\); .*name the networks that need it`))]);
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(["128.0.0.0/1"])))).toEqual([expect.stringContaining(`ingress[0] accepts ${wide}`)]);
    const legacy: PolicyInput = { type: TYPES.legacyRule, name: "old", props: { type: "ingress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["16.0.0.0/7"] } };
    expect(await violationsOf(rules.noOpenIngress, legacy)).toEqual([expect.stringContaining(`accepts ${wide}`)]);
    expect(await violationsOf(rules.noOpenIngress, rule("v6", "", 22, "hosts", { cidrIpv4: undefined, cidrIpv6: "2000::/4" }))).toEqual([expect.stringContaining("more public IPv6 addresses than a /16 holds")]);
    expect(await violationsOf(rules.noOpenIngress, inline(ssh([], ["::/1"])))).toEqual([expect.stringContaining("every public IPv6 address")]);
    expect(await violationsOf(rules.noOpenIngress, inline(ssh([], ["2a00::/15"])))).toHaveLength(1);
    // One network's blocks, however big, and the private ranges, however many, are not the internet.
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(["17.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"], ["2a00::/16", "fc00::/7"])))).toEqual([]);
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(["0.0.0.0/7"])))).toEqual([]);
    // A group's inline rules add up: two public /8s on one port are wider than any one network.
    expect(await violationsOf(rules.noOpenIngress, inline(ssh(["11.0.0.0/8"]), ssh(["12.0.0.0/8"])))).toEqual([expect.stringContaining(`ingress[0] and ingress[1] together accept ${wide}`)]);
    // The load balancer takes the web from any share of it.
    const web = { ...ssh(["0.0.0.0/1"]), fromPort: 443, toPort: 443 };
    expect(await violationsOf(rules.noOpenIngress, { type: TYPES.securityGroup, name: "alb", props: { tags: { [TIER_TAG]: "alb" }, ingress: [web] } })).toEqual([]);
  });

  it("no-open-ingress-across-rules: standalone rules that add up to more than a /8", async () => {
    const hosts = g.resources.find((r) => r.type === TYPES.securityGroup && r.inputs.tags[TIER_TAG] === "hosts")!;
    const on = (r: PolicyInput) => ({ ...r, props: { ...r.props, securityGroupId: hosts.id } });
    const eights = [on(rule("eleven", "11.0.0.0/8")), on(rule("twelve", "12.0.0.0/8"))];
    expect(await stackViolationsOf(rules.noOpenIngressAcrossRules, withExtra(eights[0]!))).toEqual([]);
    expect(await stackViolationsOf(rules.noOpenIngressAcrossRules, withExtra(...eights))).toEqual([expect.stringContaining("more public IPv4 addresses than a /8 holds (0.91% of them) on tcp 22 through eleven (11.0.0.0/8), twelve (12.0.0.0/8)")]);
    // A rule wide alone is no-open-ingress's, once; a private block beside it adds nothing to report.
    expect(await stackViolationsOf(rules.noOpenIngressAcrossRules, withExtra(on(rule("half", "0.0.0.0/1")), on(rule("office", "10.0.0.0/16"))))).toEqual([]);
  });

  it("open-ingress-only-on-alb-group: a rule tagged alb open to half the internet", async () => {
    const hosts = g.resources.find((r) => r.type === TYPES.securityGroup && r.inputs.tags[TIER_TAG] === "hosts")!;
    const half = rule("half", "128.0.0.0/1", 443, "alb", { securityGroupId: hosts.id });
    expect(await violationsOf(rules.noOpenIngress, half)).toEqual([]);
    expect(await stackViolationsOf(rules.openIngressOnlyOnAlbGroup, withExtra(half))).toEqual([expect.stringContaining("the open ingress rule half")]);
  });

  it("open-ingress-only-on-alb-group: an open rule tagged alb spelt another way", async () => {
    const hosts = g.resources.find((r) => r.type === TYPES.securityGroup && r.inputs.tags[TIER_TAG] === "hosts")!;
    const sneaky = rule("sneaky", "1.2.3.4/0", 443, "alb", { securityGroupId: hosts.id });
    expect(await stackViolationsOf(rules.openIngressOnlyOnAlbGroup, withExtra(sneaky))).toEqual([expect.stringContaining("the open ingress rule sneaky")]);
  });
});

describe("hosts started any way require IMDSv2 and get no public IP", () => {
  const host = (type: string, props: Record<string, unknown>): PolicyInput => ({ type, name: "box", props: { ami: "ami-1", instanceType: "t3.micro", ...props } });
  it.each([TYPES.instance, TYPES.spotInstanceRequest, TYPES.launchConfiguration])("%s: no metadata options, optional tokens", async (type) => {
    expect(await violationsOf(rules.imdsv2Required, host(type, {}))).toHaveLength(2);
    expect(await violationsOf(rules.imdsv2Required, host(type, { metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 } }))).toEqual([expect.stringContaining('httpTokens is "optional"')]);
    expect(await violationsOf(rules.imdsv2Required, host(type, { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } }))).toEqual([]);
  });

  it.each([TYPES.instance, TYPES.spotInstanceRequest, TYPES.launchConfiguration])("%s: associatePublicIpAddress", async (type) => {
    for (const yes of [true, "true"]) {
      expect(await violationsOf(rules.noPublicIpOnHosts, host(type, { associatePublicIpAddress: yes }))).toEqual([expect.stringMatching(/^associatePublicIpAddress is true; hosts live in private subnets/)]);
    }
    expect(await violationsOf(rules.noPublicIpOnHosts, host(type, { associatePublicIpAddress: false }))).toEqual([]);
    expect(await violationsOf(rules.noPublicIpOnHosts, host(type, {}))).toEqual([]);
  });
});
