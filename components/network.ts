import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nameOf, tagged, type NameParts, type Tags, type Tier } from "./tags.ts";

/** Zones the environment spans: the first two the region offers (every region has two). */
export const ZONE_COUNT = 2;
/** The same address plan in every stack: environments are identical by construction. */
export const VPC_CIDR = "10.40.0.0/16";
const PUBLIC_CIDRS = ["10.40.0.0/24", "10.40.1.0/24"];
const PRIVATE_CIDRS = ["10.40.64.0/19", "10.40.96.0/19"];

export interface NetworkArgs {
  nameParts: NameParts;
  tags: Tags;
}

export interface NetworkParts {
  vpc: aws.ec2.Vpc;
  publicSubnets: aws.ec2.Subnet[];
  privateSubnets: aws.ec2.Subnet[];
  natGateway: aws.ec2.NatGateway;
}

/**
 * A VPC over ZONE_COUNT zones: public subnets (load balancer, NAT) routed to an internet gateway,
 * private subnets (hosts, EFS) routed through one NAT gateway. No subnet maps public IPs.
 */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:network:Network", name, {}, opts);
    const parts = buildNetwork(this, name, args);
    this.vpcId = parts.vpc.id;
    this.publicSubnetIds = parts.publicSubnets.map((s) => s.id);
    this.privateSubnetIds = parts.privateSubnets.map((s) => s.id);
    this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
  }
}

export function buildNetwork(parent: pulumi.Resource, name: string, args: NetworkArgs): NetworkParts {
  const opts = { parent };
  const label = (...rest: string[]) => nameOf("tag", args.nameParts, ...rest);
  const zones = aws.getAvailabilityZonesOutput(
    { state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] },
    { parent },
  );
  const zone = (i: number) =>
    zones.names.apply((names) => {
      const z = names[i];
      if (z === undefined) throw new Error(`the region offers ${names.length} availability zone(s); fawkes needs ${ZONE_COUNT}`);
      return z;
    });

  const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: VPC_CIDR, enableDnsHostnames: true, enableDnsSupport: true, tags: tagged(args.tags, label("vpc")) }, opts);
  const subnet = (tier: Tier, i: number, cidr: string) =>
    new aws.ec2.Subnet(
      `${name}-${tier}-${i}`,
      { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: zone(i), mapPublicIpOnLaunch: false, tags: tagged(args.tags, label(tier, String(i)), tier) },
      opts,
    );
  const publicSubnets = PUBLIC_CIDRS.slice(0, ZONE_COUNT).map((c, i) => subnet("public", i, c));
  const privateSubnets = PRIVATE_CIDRS.slice(0, ZONE_COUNT).map((c, i) => subnet("private", i, c));

  const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tagged(args.tags, label("igw")) }, opts);
  const eip = new aws.ec2.Eip(`${name}-nat`, { domain: "vpc", tags: tagged(args.tags, label("nat")) }, { parent, dependsOn: [igw] });
  const natGateway = new aws.ec2.NatGateway(
    `${name}-nat`,
    { allocationId: eip.id, subnetId: publicSubnets[0]!.id, connectivityType: "public", tags: tagged(args.tags, label("nat")) },
    { parent, dependsOn: [igw] },
  );

  const routeTable = (tier: Tier, subnets: aws.ec2.Subnet[], route: Omit<aws.ec2.RouteArgs, "routeTableId">) => {
    const rt = new aws.ec2.RouteTable(`${name}-${tier}`, { vpcId: vpc.id, tags: tagged(args.tags, label(tier), tier) }, opts);
    new aws.ec2.Route(`${name}-${tier}-default`, { ...route, routeTableId: rt.id }, opts);
    subnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`${name}-${tier}-${i}`, { routeTableId: rt.id, subnetId: s.id }, opts));
  };
  routeTable("public", publicSubnets, { destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id });
  routeTable("private", privateSubnets, { destinationCidrBlock: "0.0.0.0/0", natGatewayId: natGateway.id });
  return { vpc, publicSubnets, privateSubnets, natGateway };
}
