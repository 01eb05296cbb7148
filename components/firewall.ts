import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

/** The only ports open to the internet, and only on the load balancer's security group. */
export const HTTP_PORT = 80;
export const HTTPS_PORT = 443;

export interface FirewallArgs {
  vpcId: pulumi.Input<string>;
  /** Apps the load balancer sends traffic to, on their nginx port. */
  apps: ReadonlyArray<{ name: string; port: number }>;
  /** Open 443 too: only when the HTTPS listener exists. */
  https: boolean;
  nameParts: NameParts;
  tags: Tags;
}

/**
 * The two security groups of the request path. The load balancer's (tier `alb`) accepts 80/443
 * from anywhere and talks only to the hosts on the app ports; the hosts' (tier `hosts`) accept
 * only the load balancer on the app ports and may reach anything (S3, SSM through the NAT).
 * Rules are separate resources so the two groups can refer to each other.
 */
export class Firewall extends pulumi.ComponentResource {
  readonly albSecurityGroupId: pulumi.Output<string>;
  readonly hostsSecurityGroupId: pulumi.Output<string>;

  constructor(name: string, args: FirewallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:network:Firewall", name, {}, opts);
    const { alb, hosts } = buildFirewall(this, name, args);
    this.albSecurityGroupId = alb.id;
    this.hostsSecurityGroupId = hosts.id;
    this.registerOutputs({ albSecurityGroupId: this.albSecurityGroupId, hostsSecurityGroupId: this.hostsSecurityGroupId });
  }
}

export function buildFirewall(parent: pulumi.Resource, name: string, args: FirewallArgs): { alb: aws.ec2.SecurityGroup; hosts: aws.ec2.SecurityGroup } {
  const opts = { parent };
  const group = (tier: "alb" | "hosts", description: string) => {
    const sgName = nameOf("securityGroup", args.nameParts, tier);
    return new aws.ec2.SecurityGroup(`${name}-${tier}`, { name: sgName, description, vpcId: args.vpcId, tags: tagged(args.tags, sgName, tier) }, opts);
  };
  const alb = group("alb", "fawkes load balancer: 80/443 from anywhere, app ports to the hosts");
  const hosts = group("hosts", "fawkes hosts: app ports from the load balancer only; no SSH");
  const albTags = tagged(args.tags, nameOf("tag", args.nameParts, "alb"), "alb");
  const hostTags = tagged(args.tags, nameOf("tag", args.nameParts, "hosts"), "hosts");

  const publicPorts = args.https ? [["http", HTTP_PORT], ["https", HTTPS_PORT]] as const : [["http", HTTP_PORT]] as const;
  for (const [label, port] of publicPorts) {
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-alb-${label}`,
      { securityGroupId: alb.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: `${label} from anywhere`, tags: albTags },
      opts,
    );
  }
  for (const app of args.apps) {
    const port = { ipProtocol: "tcp", fromPort: app.port, toPort: app.port };
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-alb-to-${app.name}`,
      { ...port, securityGroupId: alb.id, referencedSecurityGroupId: hosts.id, description: `to ${app.name} on the hosts`, tags: albTags },
      opts,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-hosts-from-${app.name}`,
      { ...port, securityGroupId: hosts.id, referencedSecurityGroupId: alb.id, description: `${app.name} from the load balancer`, tags: hostTags },
      opts,
    );
  }
  new aws.vpc.SecurityGroupEgressRule(
    `${name}-hosts-out`,
    { securityGroupId: hosts.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "AWS APIs (S3, SSM, DynamoDB) through the NAT, EFS inside the VPC", tags: hostTags },
    opts,
  );
  return { alb, hosts };
}
