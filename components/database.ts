import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { DatabasePlan } from "../src/model/index.ts";
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

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:data:Database", name, {}, opts);
    const { instance, masterSecretArn } = buildDatabase(this, name, args);
    this.instanceArn = instance.arn;
    this.identifier = databaseIdentifier(args.nameParts);
    this.masterSecretArn = masterSecretArn;
    this.registerOutputs({ instanceArn: this.instanceArn, identifier: this.identifier, masterSecretArn: this.masterSecretArn });
  }
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
  new aws.ssm.Parameter(
    `${name}-endpoint`,
    { name: plan.parameters.endpoint, type: "String", insecureValue: pulumi.interpolate`${instance.address}:${instance.port}`, description: "Address and port of the environment's PostgreSQL", tags: args.tags },
    opts,
  );
  new aws.ssm.Parameter(
    `${name}-master-secret`,
    { name: plan.parameters.masterSecret, type: "String", insecureValue: masterSecretArn, description: "ARN of the Secrets Manager secret of the database's master user (RDS keeps its value)", tags: args.tags },
    opts,
  );
  return { instance, masterSecretArn };
}
