import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nameOf, tagged, type NameParts, type Tags, type Tier } from "./tags.ts";

/** Zones the environment spans: the first two the region offers (every region has two). */
export const ZONE_COUNT = 2;
/** The same address plan in every stack: environments are identical by construction. */
export const VPC_CIDR = "10.40.0.0/16";
const PUBLIC_CIDRS = ["10.40.0.0/24", "10.40.1.0/24"];
const PRIVATE_CIDRS = ["10.40.64.0/19", "10.40.96.0/19"];

/** AWS services reached through free gateway endpoints: artifacts (S3) and release locks (DynamoDB) never cross the NAT. */
export const GATEWAY_ENDPOINT_SERVICES = ["s3", "dynamodb"] as const;

export interface NetworkArgs {
  /** The stack's region: gateway endpoints are named `com.amazonaws.<region>.<service>`. */
  region: string;
  /** The `network.natPerZone` knob: a NAT gateway, its Elastic IP and a private route table per zone, or one of each. */
  natPerZone: boolean;
  nameParts: NameParts;
  tags: Tags;
}

export interface NetworkParts {
  vpc: aws.ec2.Vpc;
  publicSubnets: aws.ec2.Subnet[];
  privateSubnets: aws.ec2.Subnet[];
  natGateways: aws.ec2.NatGateway[];
  privateRouteTables: aws.ec2.RouteTable[];
}

/** What a stack without a network of its own (a QA stack) needs of its parent's: the parent exports it as `network`. */
export interface SharedNetwork {
  vpcId: pulumi.Input<string>;
  publicSubnetIds: pulumi.Input<string>[];
  privateSubnetIds: pulumi.Input<string>[];
}

/**
 * A VPC over ZONE_COUNT zones: public subnets (load balancer, NAT) routed to an internet gateway,
 * private subnets (hosts, EFS) routed through one NAT gateway, or one per zone (knob
 * network.natPerZone), with S3 and DynamoDB gateway endpoints on the private route tables.
 * No subnet maps public IPs.
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
  // Zone 0's resources keep the names they had before natPerZone existed: turning it on adds, never replaces them.
  const zoneSuffix = (i: number) => (i === 0 ? "" : `-${i}`);
  const natGateways = Array.from({ length: args.natPerZone ? ZONE_COUNT : 1 }, (_, i) => {
    const eip = new aws.ec2.Eip(`${name}-nat${zoneSuffix(i)}`, { domain: "vpc", tags: tagged(args.tags, label("nat", ...(i === 0 ? [] : [String(i)]))) }, { parent, dependsOn: [igw] });
    return new aws.ec2.NatGateway(
      `${name}-nat${zoneSuffix(i)}`,
      { allocationId: eip.id, subnetId: publicSubnets[i]!.id, connectivityType: "public", tags: tagged(args.tags, label("nat", ...(i === 0 ? [] : [String(i)]))) },
      { parent, dependsOn: [igw] },
    );
  });

  const routeTable = (tier: Tier, suffix: string, route: Omit<aws.ec2.RouteArgs, "routeTableId">) => {
    const rt = new aws.ec2.RouteTable(`${name}-${tier}${suffix}`, { vpcId: vpc.id, tags: tagged(args.tags, label(tier, ...(suffix ? [suffix.slice(1)] : [])), tier) }, opts);
    new aws.ec2.Route(`${name}-${tier}${suffix}-default`, { ...route, routeTableId: rt.id }, opts);
    return rt;
  };
  const associate = (tier: Tier, rt: aws.ec2.RouteTable, s: aws.ec2.Subnet, i: number) =>
    new aws.ec2.RouteTableAssociation(`${name}-${tier}-${i}`, { routeTableId: rt.id, subnetId: s.id }, opts);
  const publicTable = routeTable("public", "", { destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id });
  publicSubnets.forEach((s, i) => associate("public", publicTable, s, i));
  // Each zone's hosts leave through their own zone's NAT when there is one per zone.
  const privateRouteTables = natGateways.map((nat, i) => routeTable("private", zoneSuffix(i), { destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id }));
  privateSubnets.forEach((s, i) => associate("private", privateRouteTables[Math.min(i, privateRouteTables.length - 1)]!, s, i));

  for (const service of GATEWAY_ENDPOINT_SERVICES) {
    new aws.ec2.VpcEndpoint(
      `${name}-${service}`,
      {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${args.region}.${service}`,
        vpcEndpointType: "Gateway",
        routeTableIds: privateRouteTables.map((rt) => rt.id),
        tags: tagged(args.tags, label(service)),
      },
      opts,
    );
  }
  return { vpc, publicSubnets, privateSubnets, natGateways, privateRouteTables };
}
