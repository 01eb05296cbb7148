// Finding 7 of issue 16 (cost and quotas): every stack used to make its own VPC, NAT gateway and
// Elastic IP, so the second QA branch hit the account's default quotas (5 VPCs, 5 Elastic IPs per
// region). QA stacks now live in their parent's network; only stacks without a parent make one.
import { beforeAll, describe, expect, it } from "vitest";
import { GATEWAY_ENDPOINT_SERVICES } from "../../components/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { captureEnvironment, ofType, specOf, type StackGraph } from "./harness.ts";

const T = {
  vpc: "aws:ec2/vpc:Vpc",
  nat: "aws:ec2/natGateway:NatGateway",
  eip: "aws:ec2/eip:Eip",
  endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  routeTable: "aws:ec2/routeTable:RouteTable",
  association: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  subnet: "aws:ec2/subnet:Subnet",
  rds: "aws:rds/instance:Instance",
  kms: "aws:kms/key:Key",
  ref: "pulumi:pulumi:StackReference",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  param: "aws:ssm/parameter:Parameter",
  bucket: "aws:s3/bucket:Bucket",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  vault: "aws:backup/vault:Vault",
  pipeline: "aws:imagebuilder/imagePipeline:ImagePipeline",
};

/** Three branches' QA stacks, none with a stack file of its own: they layer over stacks/Pulumi.qa.yaml. */
const BRANCHES = ["qa-feature-a", "qa-feature-b", "qa-fix-c"];

const graphs: Record<string, StackGraph> = {};
beforeAll(async () => {
  for (const stack of ["staging", "production", ...BRANCHES]) graphs[stack] = await captureEnvironment(specOf(stack));
});

const count = (type: string, stacks = Object.keys(graphs)) => stacks.reduce((n, s) => n + ofType(graphs[s]!, type).length, 0);

describe("staging, production and three QA branches in one account and region", () => {
  it("make 2 VPCs, 3 NAT gateways and 3 Elastic IPs, whatever the number of branches", () => {
    expect(count(T.vpc)).toBe(2);
    expect(count(T.nat)).toBe(3);
    expect(count(T.eip)).toBe(3);
  });

  it("a QA stack declares no VPC, subnet, NAT gateway, Elastic IP, RDS instance or database key: it reads its parent's through one stack reference", () => {
    for (const stack of BRANCHES) {
      const g = graphs[stack]!;
      for (const type of [T.vpc, T.subnet, T.nat, T.eip, T.endpoint, T.rds]) expect(ofType(g, type), `${stack} ${type}`).toEqual([]);
      expect(ofType(g, T.kms).filter((k) => k.name.startsWith("fawkes-database"))).toEqual([]);
      expect(ofType(g, T.ref).map((r) => r.inputs.name)).toEqual(["organization/fawkes/staging"]);
    }
  });

  it("a QA stack's hosts, load balancer and file system sit in the parent's VPC and subnets", () => {
    const staging = graphs.staging!;
    const vpcOf = (g: StackGraph, name: string) => ofType(g, T.sg).find((s) => s.name === name)!.inputs.vpcId;
    const stagingVpc = ofType(staging, T.vpc)[0]!.id;
    for (const stack of BRANCHES) {
      const g = graphs[stack]!;
      expect(vpcOf(g, "fawkes-firewall-hosts")).toBe(stagingVpc);
      expect(vpcOf(g, "fawkes-shared-nfs")).toBe(stagingVpc);
      const privateSubnets = ofType(staging, T.subnet).filter((s) => s.name.startsWith("fawkes-network-private-")).map((s) => s.id).sort();
      expect(ofType(g, "aws:efs/mountTarget:MountTarget").map((m) => m.inputs.subnetId).sort()).toEqual(privateSubnets);
      for (const asg of ofType(g, "aws:autoscaling/group:Group")) expect([...asg.inputs.vpcZoneIdentifiers].sort()).toEqual(privateSubnets);
      const publicSubnets = ofType(staging, T.subnet).filter((s) => s.name.startsWith("fawkes-network-public-")).map((s) => s.id).sort();
      expect([...ofType(g, "aws:lb/loadBalancer:LoadBalancer")[0]!.inputs.subnets].sort()).toEqual(publicSubnets);
    }
  });

  it("a QA stack's databases live on staging's server: its hosts are let into the server's security group, and each branch has its own database and role", () => {
    const names = new Set<string>();
    for (const stack of BRANCHES) {
      const g = graphs[stack]!;
      const rule = ofType(g, T.ingress).find((r) => r.name === "fawkes-database-from-hosts")!;
      expect(rule.inputs).toMatchObject({ securityGroupId: "fawkes-database-sg-id", referencedSecurityGroupId: "fawkes-firewall-hosts-id", fromPort: 5432, toPort: 5432 });
      const endpoint = ofType(g, T.param).find((p) => p.name === "fawkes-database-endpoint")!;
      expect(endpoint.inputs.insecureValue).toMatch(/^fawkes-staging-db\./);
      const db = planEnvironment(g.spec).database!;
      for (const a of db.apps) {
        expect(a.name).not.toBe(a.app);
        expect(a.name.length).toBeLessThanOrEqual(63);
        names.add(a.name);
      }
    }
    expect(names.size).toBe(BRANCHES.length);
  });

  it("production has a NAT gateway, an Elastic IP and a private route table per zone, each zone's subnet routed through its own, and a Multi-AZ database", () => {
    const p = graphs.production!;
    expect(ofType(p, T.nat).map((n) => n.inputs.subnetId)).toEqual(["fawkes-network-public-0-id", "fawkes-network-public-1-id"]);
    const privateTables = ofType(p, T.routeTable).filter((r) => r.name.startsWith("fawkes-network-private"));
    expect(privateTables).toHaveLength(2);
    const routeOf = (subnet: string) => ofType(p, T.association).find((a) => a.inputs.subnetId === subnet)!.inputs.routeTableId;
    expect(routeOf("fawkes-network-private-0-id")).not.toBe(routeOf("fawkes-network-private-1-id"));
    const natOfTable = (table: string) => ofType(p, "aws:ec2/route:Route").find((r) => r.inputs.routeTableId === table)!.inputs.natGatewayId;
    expect([natOfTable(routeOf("fawkes-network-private-0-id")), natOfTable(routeOf("fawkes-network-private-1-id"))]).toEqual(ofType(p, T.nat).map((n) => n.id));
    expect(ofType(p, T.rds)[0]!.inputs.multiAz).toBe(true);
    expect(ofType(graphs.staging!, T.rds)[0]!.inputs.multiAz).toBe(false);
    expect(ofType(graphs.staging!, T.nat)).toHaveLength(1);
  });

  it("every VPC has S3 and DynamoDB gateway endpoints on every private route table, so artifacts and locks never cross the NAT", () => {
    for (const stack of ["staging", "production"]) {
      const g = graphs[stack]!;
      const privateTables = ofType(g, T.routeTable).filter((r) => r.name.startsWith("fawkes-network-private")).map((r) => r.id).sort();
      const endpoints = ofType(g, T.endpoint);
      expect(endpoints.map((e) => e.inputs.serviceName).sort()).toEqual(GATEWAY_ENDPOINT_SERVICES.map((s) => `com.amazonaws.${g.spec.knobs.region}.${s}`).sort());
      for (const e of endpoints) {
        expect(e.inputs.vpcEndpointType).toBe("Gateway");
        expect(e.inputs.vpcId).toBe(ofType(g, T.vpc)[0]!.id);
        expect([...e.inputs.routeTableIds].sort()).toEqual(privateTables);
      }
    }
  });

  it("a QA stack's artifact bucket is force-destroyed and it has no backup vault or image pipeline; staging's and production's keep theirs", () => {
    for (const stack of BRANCHES) {
      const g = graphs[stack]!;
      expect(ofType(g, T.bucket).map((b) => b.inputs.forceDestroy)).toEqual([true]);
      expect(ofType(g, T.vault)).toEqual([]);
      expect(ofType(g, T.pipeline)).toEqual([]);
    }
    for (const stack of ["staging", "production"]) {
      const g = graphs[stack]!;
      expect(ofType(g, T.bucket).map((b) => b.inputs.forceDestroy)).toEqual([false]);
      expect(ofType(g, T.vault)).toHaveLength(1);
      expect(ofType(g, T.pipeline)).toHaveLength(1);
    }
  });

  it("expires replaced artifact versions after artifacts.noncurrentDays and database dumps after backupRetentionDays, never a current release", () => {
    for (const stack of Object.keys(graphs)) {
      const g = graphs[stack]!;
      const rules = ofType(g, T.lifecycle)[0]!.inputs.rules as Array<{ filter: { prefix: string }; noncurrentVersionExpiration?: unknown; expiration?: { days?: number; expiredObjectDeleteMarker?: boolean } }>;
      const all = rules.find((r) => r.filter.prefix === "")!;
      expect(all.noncurrentVersionExpiration).toEqual({ noncurrentDays: g.spec.knobs.artifacts.noncurrentDays });
      expect(all.expiration).toEqual({ expiredObjectDeleteMarker: true });
      const dumps = rules.find((r) => r.filter.prefix === `backups/${stack}/`)!;
      expect(dumps.expiration).toEqual({ days: g.spec.knobs.backupRetentionDays });
      expect(rules.filter((r) => r.expiration?.days !== undefined).map((r) => r.filter.prefix)).toEqual([`backups/${stack}/`]);
    }
  });
});
