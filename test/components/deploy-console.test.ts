// A management stack (knob console) under Pulumi's mocks, through the real program (index.ts): the
// deploy console's load balancer signs people in at the IdP before anything reaches the host; the
// host is private, IMDSv2-only, reachable on 8080 from its load balancer alone, and runs the console
// with that load balancer's ARN; its role deploys the managed stacks (proved with the IAM simulator
// the access roles' tests use) and nothing else; and `fawkes plan` shows where the console may deploy.
// A bad knob: deploy-console-knob.test.ts.
import { runSimulation } from "@cloud-copilot/iam-simulate";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { consoleOwnPolicy, deployerPolicy, managedEnvironment, TLS_POLICY } from "../../components/index.ts";
import type { EnvironmentSpec } from "../../src/config/index.ts";
import { CONSOLE_GRANT_TAG, CONSOLE_HEALTH_PATH, CONSOLE_PORT, DEPLOY_LOCK_ITEM, planEnvironment, storesOf } from "../../src/model/index.ts";
import { consolePermissions, withAccessLevels } from "../../src/plan/console-grants.ts";
import { formatMarkdown, formatText } from "../../src/plan/format.ts";
import { decodeUserData } from "../../src/plan/host-files.ts";
import { planStack } from "../../src/plan/preview.ts";
import { mockLaunchTemplateId, mockParameterValue, SECRET_MARK } from "../../src/plan/program.ts";
import type { PlanResult } from "../../src/plan/run.ts";
import { consoleArgv, renderConsoleHost } from "../../src/render/index.ts";
import * as rules from "../../policy/rules.ts";
import { stackResources, stackViolationsOf, violationsOf } from "./policy-harness.ts";
import { BUNDLE, configOf, KNOB, management, OIDC, REGION, SECRET_PARAMETER, STACK, type Management } from "./deploy-console-harness.ts";
import { ACCOUNT, one, specOf, type CapturedResource } from "./harness.ts";

const T = {
  listener: "aws:lb/listener:Listener",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  alb: "aws:lb/loadBalancer:LoadBalancer",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  lt: "aws:ec2/launchTemplate:LaunchTemplate",
  asg: "aws:autoscaling/group:Group",
  policy: "aws:iam/policy:Policy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  role: "aws:iam/role:Role",
  subnet: "aws:ec2/subnet:Subnet",
};
const ofType = (m: Management, type: string) => m.resources.filter((r) => r.type === type);
const only = (m: Management, type: string): CapturedResource => {
  const found = ofType(m, type);
  expect(found.map((r) => r.name), type).toHaveLength(1);
  return found[0]!;
};
const resolvedOutput = <V>(v: unknown) => new Promise<V>((resolve) => pulumi.output(v as pulumi.Input<V>).apply((x) => resolve(x as V)));

let ops: Management;
beforeAll(async () => {
  ops = await management();
});

describe("the load balancer signs people in before anything reaches the console", () => {
  it("has one listener, HTTPS on 443 with the knob's certificate, whose first action is authenticate-oidc with the knob's IdP, then forward to the console", () => {
    const listener = only(ops, T.listener);
    expect(listener.inputs).toMatchObject({ port: 443, protocol: "HTTPS", sslPolicy: TLS_POLICY, certificateArn: KNOB.certificateArn, loadBalancerArn: only(ops, T.alb).state.arn });
    const [first, second, ...rest] = listener.inputs.defaultActions;
    expect(rest).toEqual([]);
    expect(first).toEqual({
      type: "authenticate-oidc",
      order: 1,
      authenticateOidc: {
        ...Object.fromEntries(Object.entries(OIDC).filter(([k]) => k !== "clientSecretParameter")),
        clientSecret: mockParameterValue(SECRET_PARAMETER),
        scope: "openid email profile",
        sessionTimeout: 28800,
        onUnauthenticatedRequest: "authenticate",
      },
    });
    expect(second).toEqual({ type: "forward", order: 2, targetGroupArn: only(ops, T.targetGroup).state.arn });
    const alb = only(ops, T.alb);
    expect(alb.inputs).toMatchObject({ internal: false, loadBalancerType: "application", dropInvalidHeaderFields: true });
    expect(alb.inputs.subnets).toEqual(ofType(ops, T.subnet).filter((s) => s.name.includes("-public-")).map((s) => s.id));
  });

  it("reads the client secret from its SSM SecureString at deploy time and holds it as a Pulumi secret: no config value and no other input carries it", async () => {
    const reads = ops.invokes.filter((i) => i.token === "aws:ssm/getParameter:getParameter");
    expect(reads.map((i) => i.inputs)).toEqual([{ name: SECRET_PARAMETER, withDecryption: true }]);
    expect(JSON.stringify(configOf(KNOB))).not.toContain(mockParameterValue(SECRET_PARAMETER));
    const masked = await management(KNOB, "mask");
    // The mocks mark the whole property secret (Pulumi's runtime hoists a nested secret); the engine marks clientSecret alone.
    expect(only(masked, T.listener).inputs.defaultActions).toMatch(new RegExp(`^\\${SECRET_MARK} [0-9a-f]{8}\\]$`));
    for (const r of masked.resources) expect(JSON.stringify(r.inputs), r.name).not.toContain(mockParameterValue(SECRET_PARAMETER));
  });

  it("sends the load balancer's traffic to the console's port, health-checked on a path that needs no sign-in", () => {
    const tg = only(ops, T.targetGroup);
    expect(tg.inputs).toMatchObject({ port: CONSOLE_PORT, protocol: "HTTP", targetType: "instance", healthCheck: { path: CONSOLE_HEALTH_PATH, matcher: "200", port: "traffic-port" } });
    expect(only(ops, T.asg).inputs.targetGroupArns).toEqual([tg.state.arn]);
  });
});

describe("security groups: 443 from the internet on the load balancer, 8080 from it alone on the host", () => {
  const groupId = (label: string) => one({ resources: ops.resources } as never, T.sg, `fawkes-${label}`).id;
  const rulesOn = (type: string, label: string) =>
    ofType(ops, type)
      .filter((r) => r.inputs.securityGroupId === groupId(label))
      .map(({ inputs: { tags: _t, description: _d, ...rule } }) => rule)
      .sort((x, y) => y.fromPort - x.fromPort);

  it("the host's group admits only the load balancer's group, on 8080, and lets out https only", () => {
    expect(rulesOn(T.ingress, "host")).toEqual([{ ipProtocol: "tcp", fromPort: 8080, toPort: 8080, securityGroupId: groupId("host"), referencedSecurityGroupId: groupId("alb") }]);
    expect(rulesOn(T.egress, "host")).toEqual([{ ipProtocol: "tcp", fromPort: 443, toPort: 443, securityGroupId: groupId("host"), cidrIpv4: "0.0.0.0/0" }]);
  });

  it("the load balancer's group takes 443 from anywhere, as a group and rule tagged alb (the policy pack's one public entry), and reaches the host on 8080 and the IdP on 443", () => {
    expect(rulesOn(T.ingress, "alb")).toEqual([{ ipProtocol: "tcp", fromPort: 443, toPort: 443, securityGroupId: groupId("alb"), cidrIpv4: "0.0.0.0/0" }]);
    expect(rulesOn(T.egress, "alb")).toEqual([
      { ipProtocol: "tcp", fromPort: 8080, toPort: 8080, securityGroupId: groupId("alb"), referencedSecurityGroupId: groupId("host") },
      { ipProtocol: "tcp", fromPort: 443, toPort: 443, securityGroupId: groupId("alb"), cidrIpv4: "0.0.0.0/0" },
    ]);
    expect(one({ resources: ops.resources } as never, T.sg, "fawkes-alb").inputs.tags["fawkes:tier"]).toBe("alb");
    expect(ofType(ops, T.ingress).find((r) => r.name === "fawkes-alb-https")!.inputs.tags["fawkes:tier"]).toBe("alb");
  });

  it("passes every rule of the policy pack", async () => {
    for (const policy of rules.resourcePolicies) for (const r of ops.resources) expect(await violationsOf(policy, { ...r, props: r.inputs }), `${policy.name} on ${r.name}`).toEqual([]);
    for (const policy of rules.stackPolicies) expect(await stackViolationsOf(policy, stackResources(ops.resources)), policy.name).toEqual([]);
  });
});

describe("the console host", () => {
  it("boots the stack's pinned AMI with IMDSv2 required (hop limit 1), no public IP, an encrypted disk, in a group of one in the private subnets", () => {
    const lt = only(ops, T.lt);
    expect(lt.inputs).toMatchObject({
      imageId: "ami-0123456789abcdef0",
      instanceType: "t3.small",
      metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" },
      networkInterfaces: [{ associatePublicIpAddress: "false", securityGroups: [one({ resources: ops.resources } as never, T.sg, "fawkes-host").id] }],
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }],
    });
    const group = only(ops, T.asg);
    expect(group.inputs).toMatchObject({ minSize: 1, maxSize: 1, desiredCapacity: 1, launchTemplate: { id: lt.id, version: "1" }, instanceRefresh: { strategy: "Rolling" } });
    expect(group.inputs.vpcZoneIdentifiers).toEqual(ofType(ops, T.subnet).filter((s) => s.name.includes("-private-")).map((s) => s.id));
  });

  it("runs no app: the console's is the only launch template, group, listener and target group", () => {
    for (const type of [T.lt, T.asg, T.listener, T.targetGroup]) expect(ofType(ops, type).map((r) => r.name), type).toEqual([expect.stringMatching(/^fawkes-(console-template|console-group|https|target)$/)]);
    expect(ofType(ops, "aws:lb/listenerRule:ListenerRule")).toEqual([]);
    expect(ops.exports.urls).toBeUndefined();
  });

  it("its user-data runs the console as a service with the load balancer's ARN, from the pinned bundle, byte for byte what the renderer makes", () => {
    const albArn = only(ops, T.alb).state.arn as string;
    const userData = decodeUserData(only(ops, T.lt).inputs.userData);
    const rendered = renderConsoleHost({ project: "fawkes", stack: STACK, region: REGION, albArn, artifactBucket: storesOf(specOf("staging")).artifactBucket.replace("staging", STACK), bundleSha256: BUNDLE, groupsClaim: "cognito:groups", manages: "staging,production" });
    expect(userData).toBe(rendered.userData);
    const argv = consoleArgv({ albArn, region: REGION, groupsClaim: "cognito:groups", manages: "staging,production" });
    expect(argv.slice(2, 13)).toEqual(["console", "--target", "aws", "--stacks", "staging,production", "--auth", "alb", "--listen", "0.0.0.0:8080", "--alb-arn", albArn]);
    expect(userData).toContain(`ExecStart=${argv.join(" ")}\n`);
    expect(userData).toContain(`readonly KEY=console/${BUNDLE}.tar.gz\n`);
    expect(userData).not.toContain(mockParameterValue(SECRET_PARAMETER));
  });

  it("exports the console's URL, its load balancer's ARN and its role's ARN", async () => {
    const out = await resolvedOutput<{ url: string; loadBalancerArn: string; roleArn: string }>(ops.exports.console);
    expect(out).toEqual({ url: "https://console.fawkes.test/", loadBalancerArn: only(ops, T.alb).state.arn, roleArn: `arn:aws:iam::${ACCOUNT}:role/fawkes-ops-console` });
  });
});

type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

describe("the host's role: each managed stack's deployer permissions, and none on another stack (IAM simulator)", () => {
  const policies = () => ofType(ops, T.policy).map((p) => ({ name: String(p.inputs.name), policy: JSON.parse(p.inputs.policy) as object }));
  const ask = async (action: string, resource: string, contextVariables: Record<string, string | string[]> = {}): Promise<Decision> => {
    const r = await runSimulation(
      {
        identityPolicies: policies(),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        request: { principal: `arn:aws:iam::${ACCOUNT}:role/fawkes-ops-console`, action, resource: { resource, accountId: ACCOUNT }, contextVariables },
      },
      {},
    );
    if (r.resultType === "error") throw new Error(`the simulator refused the request: ${JSON.stringify(r.errors)}`);
    return r.overallResult as Decision;
  };
  const env = (stack: string) => {
    const spec = specOf(stack);
    return { spec, stores: storesOf(spec), roles: planEnvironment(spec).hosts.map((h) => h.role) };
  };
  const template = (stack: string, role: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/${mockLaunchTemplateId(stack, role)}`;
  const group = (stack: string, role: string) => `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:0b5a4ce6-5f4a-4d3a-9c1e-2f1f2b7d8e10:autoScalingGroupName/fawkes-${stack}-${role}`;

  it("attaches one policy per managed stack, tagged with it, one of its own and Session Manager's, to the console's role", () => {
    expect(ofType(ops, T.policy).map((p) => p.inputs.tags[CONSOLE_GRANT_TAG]).sort()).toEqual(["console", "production", "staging"]);
    expect(ofType(ops, T.attachment).map((a) => a.inputs.role)).toEqual(Array(4).fill("fawkes-ops-console"));
    expect(ofType(ops, T.attachment).map((a) => a.inputs.policyArn)).toContain("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
  });

  it("holds, for staging, the very document staging's deployer role holds", () => {
    const spec = specOf("staging");
    const plan = planEnvironment(spec);
    const held = JSON.parse(ofType(ops, T.policy).find((p) => p.inputs.tags[CONSOLE_GRANT_TAG] === "staging")!.inputs.policy);
    const scope = managedEnvironment(plan, ACCOUNT, plan.hosts.map((h) => mockLaunchTemplateId("staging", h.role))).scope;
    expect(held).toEqual(deployerPolicy(scope));
  });

  it("may release to a managed stack: a new launch-template version, an instance refresh, the deploy lock, artifacts, its hosts' roles; the same on an unmanaged stack (dev) is denied", async () => {
    for (const [stack, expected] of [["staging", "Allowed"], ["production", "Allowed"], ["dev", "ImplicitlyDenied"]] as const) {
      const e = env(stack);
      for (const role of e.roles) {
        expect(await ask("ec2:CreateLaunchTemplateVersion", template(stack, role)), `${stack} ${role} template`).toBe(expected);
        expect(await ask("ec2:RunInstances", `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/*`, { "ec2:LaunchTemplate": template(stack, role) }), `${stack} ${role} launch`).toBe(expected);
        for (const action of ["autoscaling:StartInstanceRefresh", "autoscaling:RollbackInstanceRefresh", "autoscaling:UpdateAutoScalingGroup"]) expect(await ask(action, group(stack, role)), `${stack} ${role} ${action}`).toBe(expected);
        expect(await ask("iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/fawkes-${stack}-${role}`, { "iam:PassedToService": "ec2.amazonaws.com" }), `${stack} ${role} pass`).toBe(expected);
      }
      const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${e.stores.lockTable}`;
      expect(await ask("dynamodb:PutItem", table, { "dynamodb:LeadingKeys": [DEPLOY_LOCK_ITEM] }), `${stack} lock`).toBe(expected);
      expect(await ask("s3:PutObject", `arn:aws:s3:::${e.stores.artifactBucket}/blog/r1.tar.gz`), `${stack} artifact`).toBe(expected);
      expect(await ask("logs:StartQuery", `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/fawkes/${stack}/apps/blog`), `${stack} logs`).toBe(expected);
    }
  });

  it("reads no environment's secret nor dump, and of SSM only its own OIDC client secret", async () => {
    for (const stack of ["staging", "production", "dev"]) {
      const e = env(stack);
      expect(await ask("ssm:GetParameter", `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${e.stores.parameterPrefix}/blog/DJANGO_SECRET_KEY`), stack).not.toBe("Allowed");
      expect(await ask("s3:GetObject", `arn:aws:s3:::${e.stores.artifactBucket}/backups/${stack}/r1-blog.dump`), stack).not.toBe("Allowed");
    }
    expect(await ask("ssm:GetParameter", `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${SECRET_PARAMETER}`)).toBe("Allowed");
    expect(await ask("ssm:GetParameter", `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/fawkes/ops/other`)).toBe("ImplicitlyDenied");
    expect(await ask("s3:GetObject", `arn:aws:s3:::fawkes-ops-artifacts-${ACCOUNT}-${REGION}/console/${BUNDLE}.tar.gz`)).toBe("Allowed");
  });

  it("sends the traceback mail through SES from a managed stack's sender only", async () => {
    const base = specOf("staging");
    const spec: EnvironmentSpec = { ...base, knobs: { ...base.knobs, errorMail: { ...base.knobs.errorMail, to: ["ops@fawkes.test"] } } };
    const plan = planEnvironment(spec);
    const staging = managedEnvironment(plan, ACCOUNT, plan.hosts.map((h) => mockLaunchTemplateId("staging", h.role)));
    expect(staging.mailFrom).toBe("fawkes@staging.fawkes.test");
    const policy = consoleOwnPolicy({ accountId: ACCOUNT, environments: [staging], clientSecret: { region: REGION, name: SECRET_PARAMETER }, bundleBucket: "b" });
    const send = async (action: string, identity: string, from: string) => {
      const r = await runSimulation(
        { identityPolicies: [{ name: "own", policy }], serviceControlPolicies: [], resourceControlPolicies: [], request: { principal: `arn:aws:iam::${ACCOUNT}:role/fawkes-ops-console`, action, resource: { resource: `arn:aws:ses:${REGION}:${ACCOUNT}:identity/${identity}`, accountId: ACCOUNT }, contextVariables: { "ses:FromAddress": from } } },
        {},
      );
      return r.resultType === "error" ? "error" : r.overallResult;
    };
    for (const action of ["ses:SendEmail", "ses:SendRawEmail"]) {
      expect(await send(action, "staging.fawkes.test", "fawkes@staging.fawkes.test"), action).toBe("Allowed");
      expect(await send(action, "fawkes@staging.fawkes.test", "fawkes@staging.fawkes.test"), action).toBe("Allowed");
      expect(await send(action, "staging.fawkes.test", "ceo@staging.fawkes.test"), action).toBe("ImplicitlyDenied");
      expect(await send(action, "fawkes.test", "fawkes@fawkes.test"), action).toBe("ImplicitlyDenied");
    }
    // Without recipients in its errorMail knob, no stack's sender is granted: the repository's stacks send none.
    expect(JSON.stringify(JSON.parse(ofType(ops, T.policy).find((p) => p.inputs.tags[CONSOLE_GRANT_TAG] === "console")!.inputs.policy))).not.toContain("ses:");
  });
});

describe("fawkes plan shows where the console may deploy, and with which actions", () => {
  it("names the managed stacks, the one a change adds, and per stack the actions that change something", async () => {
    const before = await management({ ...KNOB, manages: ["staging"] });
    const plan = planStack("fawkes", STACK, { resources: before.resources }, { resources: ops.resources });
    expect(plan.console).toMatchObject({ role: "fawkes-ops-console", environments: ["production", "staging"], addedEnvironments: ["production"], removedEnvironments: [] });
    expect(plan.console!.grants.map((g) => [g.grant, g.status])).toEqual([["production", "added"], ["staging", "unchanged"], ["console", "changed"]]);
    const full = await withAccessLevels(plan.console!);
    const production = full.grants[0]!;
    expect(production.writes).toEqual(expect.arrayContaining(["autoscaling:StartInstanceRefresh", "ec2:CreateLaunchTemplateVersion", "iam:PassRole", "dynamodb:PutItem", "s3:PutObject"]));
    expect(production.writes).not.toContain("ssm:GetParameter");
    expect(production.reads).toBeGreaterThan(100);
    expect(production.denied).toEqual(["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]);
    const result: PlanResult = { base: { ref: "main", commit: "0".repeat(40) }, head: { uncommitted: true }, reference: "production", stacks: [{ ...plan, console: full }] };
    const text = formatText(result);
    expect(text).toContain("  deploy console (role fawkes-ops-console): may deploy to production (added), staging\n");
    expect(text).toMatch(/\n {4}\+ production \(policy fawkes-ops-console-deploy-production\): may change: [^\n]*autoscaling:StartInstanceRefresh/);
    const md = formatMarkdown(result);
    expect(md).toContain("**ops**: the deploy console may deploy to production (added), staging.");
    expect(md).toContain("#### Deploy console");
  });

  it("a stack without a console shows none", () => {
    expect(consolePermissions([], [])).toBeUndefined();
  });
});
