import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { DatabasePlan } from "../src/model/index.ts";
import type { DatabaseOutput } from "./parent-stack.ts";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

/** The parameter group family of the plan's major version: `postgres15`. */
export const parameterGroupFamily = (majorVersion: string) => `postgres${majorVersion}`;
/** Every connection encrypted: the server refuses clients that do not use TLS. */
export const DATABASE_PARAMETERS = [{ name: "rds.force_ssl", value: "1" }] as const;
/** RDS's own nightly snapshot ends before AWS Backup's job (03:00 UTC) starts; upgrades on Sunday after both. */
export const DATABASE_WINDOWS = { backup: "01:00-02:00", maintenance: "sun:04:00-sun:05:00" } as const;

export interface DatabaseArgs {
  /** `EnvironmentPlan.database`: engine version, port, master user, knobs, parameter names. */
  plan: DatabasePlan;
  vpcId: pulumi.Input<string>;
  /** The environment's private subnets, and nothing else: the database is never reachable from outside. */
  subnetIds: pulumi.Input<string>[];
  /** The only group allowed to connect (PostgreSQL's port). */
  hostsSecurityGroupId: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  nameParts: NameParts;
  tags: Tags;
}

export interface DatabaseParts {
  instance: aws.rds.Instance;
  /** The ARN of RDS's secret of the master user (JSON username/password), never its value. */
  masterSecretArn: pulumi.Output<string>;
  securityGroup: aws.ec2.SecurityGroup;
}

/**
 * The environment's PostgreSQL on RDS: private subnets only, reachable from the hosts' security
 * group only, TLS forced, encrypted with a key of its own, backed up daily by RDS and by AWS
 * Backup. The master password is generated and kept by RDS in Secrets Manager: it is never an
 * input, so it never enters Pulumi's state. The hosts find the server and the secret's ARN in
 * two SSM parameters.
 */
export class Database extends pulumi.ComponentResource {
  readonly instanceArn: pulumi.Output<string>;
  /** Known before anything exists (the name budget's), for alarm dimensions. */
  readonly identifier: string;
  readonly masterSecretArn: pulumi.Output<string>;
  /** What a QA stack that shares this server reads from the stack output `database`. */
  readonly output: pulumi.Output<DatabaseOutput>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:data:Database", name, {}, opts);
    const { instance, masterSecretArn, securityGroup } = buildDatabase(this, name, args);
    this.instanceArn = instance.arn;
    this.identifier = databaseIdentifier(args.nameParts);
    this.masterSecretArn = masterSecretArn;
    this.output = pulumi.output({ endpoint: pulumi.interpolate`${instance.address}:${instance.port}`, masterSecretArn, securityGroupId: securityGroup.id });
    this.registerOutputs({ instanceArn: this.instanceArn, identifier: this.identifier, masterSecretArn: this.masterSecretArn, output: this.output });
  }
}

export interface SharedDatabaseArgs {
  plan: DatabasePlan;
  /** The parent stack's output `database`. */
  server: pulumi.Input<DatabaseOutput>;
  /** This stack's hosts: let in to the parent's server on PostgreSQL's port. */
  hostsSecurityGroupId: pulumi.Input<string>;
  nameParts: NameParts;
  tags: Tags;
}

/**
 * A QA stack's databases on its parent's server (knob database.shareParentServer): no instance,
 * key or parameter group of its own; an ingress rule that lets this stack's hosts into the
 * parent's server (destroyed with the stack), and the same two SSM parameters an own server
 * has, so hosts boot the same way. Its hosts create their per-stack databases and roles with the
 * parent's master user, whose secret they may read.
 */
export class SharedDatabase extends pulumi.ComponentResource {
  readonly masterSecretArn: pulumi.Output<string>;

  constructor(name: string, args: SharedDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:data:SharedDatabase", name, {}, opts);
    const server = pulumi.output(args.server);
    const sgName = nameOf("securityGroup", args.nameParts, "db");
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-from-hosts`,
      { securityGroupId: server.securityGroupId, referencedSecurityGroupId: args.hostsSecurityGroupId, ipProtocol: "tcp", fromPort: args.plan.port, toPort: args.plan.port, description: "PostgreSQL from the hosts", tags: tagged(args.tags, sgName, "db") },
      { parent: this },
    );
    publishDatabaseParameters(this, name, args.plan, server.endpoint, server.masterSecretArn, args.tags);
    this.masterSecretArn = server.masterSecretArn;
    this.registerOutputs({ masterSecretArn: this.masterSecretArn });
  }
}

/** The two SSM parameters the hosts read at boot: where the server is, and which secret holds its master password. */
function publishDatabaseParameters(parent: pulumi.Resource, name: string, plan: DatabasePlan, endpoint: pulumi.Input<string>, masterSecretArn: pulumi.Input<string>, tags: Tags): void {
  const opts = { parent };
  new aws.ssm.Parameter(
    `${name}-endpoint`,
    { name: plan.parameters.endpoint, type: "String", insecureValue: endpoint, description: "Address and port of the environment's PostgreSQL", tags },
    opts,
  );
  new aws.ssm.Parameter(
    `${name}-master-secret`,
    { name: plan.parameters.masterSecret, type: "String", insecureValue: masterSecretArn, description: "ARN of the Secrets Manager secret of the database's master user (RDS keeps its value)", tags },
    opts,
  );
}

export const databaseIdentifier = (parts: NameParts) => nameOf("rdsInstance", parts, "db");

/** The database's key: the account administers and uses it through IAM, as RDS and AWS Backup do on its behalf. */
export function databaseKeyPolicy(accountId: string): object {
  return {
    Version: "2012-10-17",
    Statement: [{ Sid: "Account", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" }],
  };
}

/** The first (only) master user secret RDS reports. */
export function masterSecretArnOf(secrets: ReadonlyArray<{ secretArn: string }> | undefined): string {
  const arn = secrets?.[0]?.secretArn;
  if (arn === undefined) throw new Error("RDS reports no master user secret: manageMasterUserPassword must be true");
  return arn;
}

export function buildDatabase(parent: pulumi.Resource, name: string, args: DatabaseArgs): DatabaseParts {
  const opts = { parent };
  const { plan } = args;
  const sgName = nameOf("securityGroup", args.nameParts, "db");
  const sg = new aws.ec2.SecurityGroup(`${name}-sg`, { name: sgName, description: "fawkes database: PostgreSQL from the hosts only", vpcId: args.vpcId, tags: tagged(args.tags, sgName, "db") }, opts);
  new aws.vpc.SecurityGroupIngressRule(
    `${name}-from-hosts`,
    { securityGroupId: sg.id, referencedSecurityGroupId: args.hostsSecurityGroupId, ipProtocol: "tcp", fromPort: plan.port, toPort: plan.port, description: "PostgreSQL from the hosts", tags: tagged(args.tags, sgName, "db") },
    opts,
  );

  const groupName = nameOf("rdsGroup", args.nameParts, "db");
  const subnets = new aws.rds.SubnetGroup(`${name}-subnets`, { name: groupName, description: "fawkes database: the private subnets", subnetIds: args.subnetIds, tags: tagged(args.tags, groupName) }, opts);
  const family = parameterGroupFamily(plan.majorVersion);
  const parametersName = nameOf("rdsGroup", args.nameParts, "db", family);
  const parameters = new aws.rds.ParameterGroup(
    `${name}-parameters`,
    { name: parametersName, family, description: "fawkes database: TLS only", parameters: DATABASE_PARAMETERS.map((p) => ({ ...p })), tags: tagged(args.tags, parametersName) },
    opts,
  );

  const key = new aws.kms.Key(
    `${name}-key`,
    {
      description: `fawkes database of ${args.nameParts.join("/")}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: pulumi.output(args.accountId).apply((id) => JSON.stringify(databaseKeyPolicy(id))),
      tags: tagged(args.tags, nameOf("tag", args.nameParts, "database")),
    },
    opts,
  );
  new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${nameOf("kmsAlias", args.nameParts, "database")}`, targetKeyId: key.id }, opts);

  const identifier = databaseIdentifier(args.nameParts);
  const protect = plan.knobs.deletionProtection;
  const instance = new aws.rds.Instance(
    `${name}-instance`,
    {
      identifier,
      engine: "postgres",
      engineVersion: plan.majorVersion,
      instanceClass: plan.knobs.instanceClass,
      allocatedStorage: plan.knobs.allocatedStorageGb,
      storageType: "gp3",
      storageEncrypted: true,
      kmsKeyId: key.arn,
      port: plan.port,
      username: plan.masterUser,
      // RDS generates the password and keeps it in Secrets Manager: no password input, none in state.
      manageMasterUserPassword: true,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [sg.id],
      parameterGroupName: parameters.name,
      publiclyAccessible: false,
      // A standby in another zone (knob database.multiAz): RDS fails over to it when the primary's zone fails.
      multiAz: plan.knobs.multiAz,
      backupRetentionPeriod: plan.automatedBackupDays,
      backupWindow: DATABASE_WINDOWS.backup,
      maintenanceWindow: DATABASE_WINDOWS.maintenance,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      deletionProtection: protect,
      // A protected database leaves a final snapshot when it is deleted after all.
      skipFinalSnapshot: !protect,
      ...(protect ? { finalSnapshotIdentifier: nameOf("rdsSnapshot", args.nameParts, "db", "final") } : {}),
      tags: tagged(args.tags, identifier),
    },
    opts,
  );

  const masterSecretArn = instance.masterUserSecrets.apply(masterSecretArnOf);
  publishDatabaseParameters(parent, name, plan, pulumi.interpolate`${instance.address}:${instance.port}`, masterSecretArn, args.tags);
  return { instance, masterSecretArn, securityGroup: sg };
}
