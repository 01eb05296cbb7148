// The deploy console on AWS: what a management stack (knob `console`) builds instead of an
// environment. An internet-facing load balancer whose only listener signs people in at the
// stack's identity provider (authenticate-oidc) before it forwards to the console; one host in
// private subnets running `fawkes console --auth alb`, which verifies the header the load balancer
// signs; and the host's role, with the deployer permissions of the stacks it manages and no others.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { EnvironmentSpec, ManagementConsole } from "../src/config/index.ts";
import { CONSOLE_HEALTH_PATH, CONSOLE_PORT, dumpPrefixOf, storesOf } from "../src/model/index.ts";
import { renderConsoleHost } from "../src/render/index.ts";
import { ArtifactStore } from "./artifact-store.ts";
import { buildConsoleRole } from "./console-role.ts";
import { pinnedImageOf } from "./environment.ts";
import { HTTPS_PORT } from "./firewall.ts";
import { ROOT_DEVICE_NAME, ROOT_VOLUME_GIB, userDataBase64 } from "./fleet.ts";
import { TLS_POLICY } from "./load-balancer.ts";
import { Network } from "./network.ts";
import { baseTags, launchTags, nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

export interface DeployConsoleArgs {
  /** The management stack's spec: its `console` knob is set. */
  spec: EnvironmentSpec;
  /** The stacks it manages (console.manages), loaded from their stack files by the program. */
  managed: readonly EnvironmentSpec[];
}

/** A new bundle or AMI replaces the one host: terminate, then launch (one console at a time; a minute without it). */
export const CONSOLE_REFRESH = { strategy: "Rolling", preferences: { minHealthyPercentage: 0, maxHealthyPercentage: 100 } } as const;
/** Seconds a new console host has to boot, fetch its bundle and answer before its health counts. */
export const CONSOLE_BOOT_SECONDS = 300;

/**
 * The deploy console of a management stack: its own network, artifact bucket (the console's
 * bundle), load balancer, host and role. `url` is what people open; `loadBalancerDnsName` is
 * where the console's domain points.
 */
export class DeployConsole extends pulumi.ComponentResource {
  readonly url: string;
  readonly loadBalancerArn: pulumi.Output<string>;
  readonly loadBalancerDnsName: pulumi.Output<string>;
  readonly roleArn: pulumi.Output<string>;

  constructor(name: string, args: DeployConsoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:console:DeployConsole", name, {}, opts);
    const built = buildDeployConsole(this, name, args);
    this.url = built.url;
    this.loadBalancerArn = built.alb.arn;
    this.loadBalancerDnsName = built.alb.dnsName;
    this.roleArn = built.role.arn;
    this.registerOutputs({ url: this.url, loadBalancerArn: this.loadBalancerArn, loadBalancerDnsName: this.loadBalancerDnsName, roleArn: this.roleArn });
  }
}

interface Common {
  nameParts: NameParts;
  tags: Tags;
}

/** The load balancer's group takes 443 from the internet (the one public entry) and reaches the host and the IdP; the host's takes 8080 from it alone. */
export function buildConsoleFirewall(parent: pulumi.Resource, name: string, vpcId: pulumi.Input<string>, c: Common): { alb: aws.ec2.SecurityGroup; host: aws.ec2.SecurityGroup } {
  const opts = { parent };
  const group = (tier: "alb" | "hosts", label: string, description: string) => {
    const sgName = nameOf("securityGroup", c.nameParts, "console", label);
    return new aws.ec2.SecurityGroup(`${name}-${label}`, { name: sgName, description, vpcId, tags: tagged(c.tags, sgName, tier) }, opts);
  };
  const alb = group("alb", "alb", "fawkes console load balancer: 443 from anywhere, the console host on 8080, the identity provider on 443");
  const host = group("hosts", "host", "fawkes console host: 8080 from its load balancer only; out on 443 only; no SSH");
  const albTags = tagged(c.tags, nameOf("tag", c.nameParts, "console", "alb"), "alb");
  const hostTags = tagged(c.tags, nameOf("tag", c.nameParts, "console", "host"), "hosts");
  const https = { ipProtocol: "tcp", fromPort: HTTPS_PORT, toPort: HTTPS_PORT };
  const console = { ipProtocol: "tcp", fromPort: CONSOLE_PORT, toPort: CONSOLE_PORT };
  // Open to the internet, allowed out loud: the policy pack lets only a group and rule tagged alb do so, on 80/443.
  new aws.vpc.SecurityGroupIngressRule(`${name}-alb-https`, { ...https, securityGroupId: alb.id, cidrIpv4: "0.0.0.0/0", description: "https from anywhere: people signing in", tags: albTags }, opts);
  new aws.vpc.SecurityGroupEgressRule(`${name}-alb-to-host`, { ...console, securityGroupId: alb.id, referencedSecurityGroupId: host.id, description: "to the console host", tags: albTags }, opts);
  // The load balancer itself calls the IdP's token and user info endpoints.
  new aws.vpc.SecurityGroupEgressRule(`${name}-alb-to-idp`, { ...https, securityGroupId: alb.id, cidrIpv4: "0.0.0.0/0", description: "the identity provider's token and user info endpoints", tags: albTags }, opts);
  new aws.vpc.SecurityGroupIngressRule(`${name}-host-from-alb`, { ...console, securityGroupId: host.id, referencedSecurityGroupId: alb.id, description: "the console, from its load balancer only", tags: hostTags }, opts);
  new aws.vpc.SecurityGroupEgressRule(
    `${name}-host-out`,
    { ...https, securityGroupId: host.id, cidrIpv4: "0.0.0.0/0", description: "AWS APIs, the load balancer's public keys, SES: https only, through the NAT", tags: hostTags },
    opts,
  );
  return { alb, host };
}

/**
 * The listener's default action: sign in at the IdP (the client secret read from its SSM
 * SecureString now, a Pulumi secret from then on, never a literal of config), then forward.
 */
export function signInThenForward(parent: pulumi.Resource, knob: ManagementConsole, targetGroupArn: pulumi.Input<string>): aws.types.input.lb.ListenerDefaultAction[] {
  const clientSecret = aws.ssm.getParameterOutput({ name: knob.oidc.clientSecretParameter, withDecryption: true }, { parent }).value;
  return [
    {
      type: "authenticate-oidc",
      order: 1,
      authenticateOidc: {
        issuer: knob.oidc.issuer,
        authorizationEndpoint: knob.oidc.authorizationEndpoint,
        tokenEndpoint: knob.oidc.tokenEndpoint,
        userInfoEndpoint: knob.oidc.userInfoEndpoint,
        clientId: knob.oidc.clientId,
        clientSecret: pulumi.secret(clientSecret),
        scope: knob.oidc.scope,
        sessionTimeout: knob.oidc.sessionTimeoutSeconds,
        // Nobody reaches the console unsigned: an unknown visitor is sent to the IdP, never forwarded.
        onUnauthenticatedRequest: "authenticate",
      },
    },
    { type: "forward", order: 2, targetGroupArn },
  ];
}

export function buildDeployConsole(parent: pulumi.Resource, name: string, args: DeployConsoleArgs): { url: string; alb: aws.lb.LoadBalancer; role: aws.iam.Role; group: aws.autoscaling.Group } {
  const { spec } = args;
  const knob = spec.knobs.console;
  if (!knob) throw new Error(`stack ${spec.stack} has no console knob: it is an environment, not a management stack`);
  const imageId = pinnedImageOf(spec);
  const c: Common = { nameParts: [spec.project, spec.stack], tags: baseTags(spec.project, spec.stack) };
  const opts = { parent };
  const stores = storesOf(spec);
  const accountId = aws.getCallerIdentityOutput({}, { parent }).accountId;
  const role = buildConsoleRole(parent, name, { spec, managed: args.managed, accountId, bundleBucket: stores.artifactBucket, ...c });

  const network = new Network(`${name}-network`, { ...c, region: spec.knobs.region, natPerZone: spec.knobs.network.natPerZone }, opts);
  const artifacts = new ArtifactStore(
    `${name}-artifacts`,
    { bucketName: stores.artifactBucket, forceDestroy: false, noncurrentDays: spec.knobs.artifacts.noncurrentDays, dumps: { prefix: dumpPrefixOf(spec.stack), days: spec.knobs.backupRetentionDays }, tags: c.tags },
    opts,
  );
  const firewall = buildConsoleFirewall(parent, name, network.vpcId, c);

  const albName = nameOf("alb", c.nameParts, "console");
  const alb = new aws.lb.LoadBalancer(
    `${name}-alb`,
    { name: albName, loadBalancerType: "application", internal: false, subnets: network.publicSubnetIds, securityGroups: [firewall.alb.id], dropInvalidHeaderFields: true, idleTimeout: 60, tags: tagged(c.tags, albName, "alb") },
    opts,
  );
  const tgName = nameOf("targetGroup", c.nameParts, "console");
  const targetGroup = new aws.lb.TargetGroup(
    `${name}-target`,
    {
      name: tgName,
      vpcId: network.vpcId,
      targetType: "instance",
      port: CONSOLE_PORT,
      protocol: "HTTP",
      deregistrationDelay: 30,
      healthCheck: { enabled: true, path: CONSOLE_HEALTH_PATH, port: "traffic-port", protocol: "HTTP", matcher: "200", interval: 30, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
      tags: tagged(c.tags, tgName),
    },
    opts,
  );
  new aws.lb.Listener(
    `${name}-https`,
    { loadBalancerArn: alb.arn, port: HTTPS_PORT, protocol: "HTTPS", sslPolicy: TLS_POLICY, certificateArn: knob.certificateArn, defaultActions: signInThenForward(parent, knob, targetGroup.arn), tags: c.tags },
    opts,
  );

  const ltName = nameOf("launchTemplate", c.nameParts, "console");
  // The host verifies the header this load balancer signs: its ARN is in the service's argv.
  const userData = alb.arn.apply((albArn) =>
    userDataBase64(renderConsoleHost({ project: spec.project, stack: spec.stack, region: spec.knobs.region, albArn, artifactBucket: stores.artifactBucket, bundleSha256: knob.bundle, groupsClaim: knob.groupsClaim, manages: knob.manages.join(",") }).userDataBytes),
  );
  const template = new aws.ec2.LaunchTemplate(
    `${name}-console-template`,
    {
      name: ltName,
      description: `fawkes deploy console host of ${spec.stack}`,
      imageId,
      instanceType: spec.knobs.instanceType,
      userData,
      iamInstanceProfile: { arn: role.profile.arn },
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      networkInterfaces: [{ deviceIndex: 0, associatePublicIpAddress: "false", deleteOnTermination: "true", securityGroups: [firewall.host.id] }],
      blockDeviceMappings: [{ deviceName: ROOT_DEVICE_NAME, ebs: { volumeSize: ROOT_VOLUME_GIB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
      tagSpecifications: [{ resourceType: "volume", tags: tagged(c.tags, ltName) }],
      tags: tagged(c.tags, ltName),
    },
    opts,
  );
  const groupName = nameOf("autoScalingGroup", c.nameParts, "console");
  const group = new aws.autoscaling.Group(
    `${name}-console-group`,
    {
      name: groupName,
      minSize: 1,
      maxSize: 1,
      desiredCapacity: 1,
      vpcZoneIdentifiers: network.privateSubnetIds,
      // EC2 status only: a console still waiting for its bundle is not replaced in a loop; the target group shows it unhealthy.
      healthCheckType: "EC2",
      healthCheckGracePeriod: CONSOLE_BOOT_SECONDS,
      targetGroupArns: [targetGroup.arn],
      launchTemplate: { id: template.id, version: template.latestVersion.apply(String) },
      // Unlike the environments' fleets (fawkes drives their refreshes), the provider starts this one.
      instanceRefresh: CONSOLE_REFRESH,
      tags: launchTags(tagged(c.tags, groupName)),
    },
    // The host reaches the NAT and the bucket from its first boot.
    { parent, dependsOn: [network, artifacts] },
  );
  return { url: `https://${knob.domain}/`, alb, role: role.role, group };
}
