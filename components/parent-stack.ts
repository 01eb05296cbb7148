// A QA stack's view of its parent stack (knob `parent`): the parent's network and database
// server, read through a Pulumi stack reference to the outputs every stack exports. A QA stack
// then declares no VPC, NAT gateway, Elastic IP or RDS instance of its own, so the account's
// regional quotas (5 VPCs, 5 Elastic IPs by default) do not cap the number of branches.
import * as pulumi from "@pulumi/pulumi";
import { ZONE_COUNT, type SharedNetwork } from "./network.ts";

/** The stack output `network` of every stack with a network of its own. */
export interface NetworkOutput {
  region: string;
  vpcId: string;
  publicSubnetIds: string[];
  privateSubnetIds: string[];
}

/** The stack output `database` of every stack with an RDS instance of its own. */
export interface DatabaseOutput {
  /** `<address>:<port>`. */
  endpoint: string;
  /** The Secrets Manager secret RDS keeps the master user's password in. */
  masterSecretArn: string;
  /** The server's security group: a QA stack adds its hosts to it. */
  securityGroupId: string;
}

/** The names of the two outputs a parent exports (index.ts). */
export const PARENT_OUTPUTS = { network: "network", database: "database" } as const;

/**
 * The fully qualified name of a stack of the same project and organisation: what a stack
 * reference takes on Pulumi Cloud and on self-managed backends alike (`organization` there).
 */
export function parentStackName(organization: string, project: string, parent: string): string {
  return `${organization}/${project}/${parent}`;
}

export interface ParentStack {
  network: SharedNetwork;
  /** Read on first use: a parent without a database output fails the QA stack only when it shares the server. */
  database: () => pulumi.Output<DatabaseOutput>;
}

/** Checks what the parent exported: a clear error instead of an `undefined` subnet id deep in a resource. */
export function checkedNetwork(parent: string, region: string, value: unknown): NetworkOutput {
  const n = value as Partial<NetworkOutput> | undefined;
  const ids = (xs: unknown) => Array.isArray(xs) && xs.length >= ZONE_COUNT && xs.every((x) => typeof x === "string");
  if (!n || typeof n.vpcId !== "string" || !ids(n.publicSubnetIds) || !ids(n.privateSubnetIds)) {
    throw new Error(`stack ${parent}'s output "network" is not a network (vpcId, ${ZONE_COUNT} public and ${ZONE_COUNT} private subnet ids): run pulumi up on ${parent} with this fawkes first`);
  }
  if (n.region !== region) {
    throw new Error(`stack ${parent}'s network is in ${String(n.region)}, this QA stack in ${region}: a QA stack runs in its parent's region (set aws:region to ${String(n.region)} or choose another parent)`);
  }
  return n as NetworkOutput;
}

export function checkedDatabase(parent: string, value: unknown): DatabaseOutput {
  const d = value as Partial<DatabaseOutput> | undefined;
  if (!d || typeof d.endpoint !== "string" || typeof d.masterSecretArn !== "string" || typeof d.securityGroupId !== "string") {
    throw new Error(`stack ${parent} exports no database server (output "database": endpoint, masterSecretArn, securityGroupId), so this QA stack cannot share it: set database.shareParentServer to false, or run pulumi up on ${parent} first`);
  }
  return d as DatabaseOutput;
}

/** The parent's outputs, through one stack reference named `${name}-parent`. */
export function parentStack(parent: pulumi.Resource, name: string, args: { project: string; parent: string; region: string }): ParentStack {
  const ref = new pulumi.StackReference(`${name}-parent`, { name: parentStackName(pulumi.getOrganization(), args.project, args.parent) }, { parent });
  const network = ref.requireOutput(PARENT_OUTPUTS.network).apply((v) => checkedNetwork(args.parent, args.region, v));
  const zones = Array.from({ length: ZONE_COUNT }, (_, i) => i);
  return {
    network: {
      vpcId: network.vpcId,
      publicSubnetIds: zones.map((i) => network.publicSubnetIds.apply((ids) => ids[i]!)),
      privateSubnetIds: zones.map((i) => network.privateSubnetIds.apply((ids) => ids[i]!)),
    },
    database: () => ref.requireOutput(PARENT_OUTPUTS.database).apply((v) => checkedDatabase(args.parent, v)),
  };
}
