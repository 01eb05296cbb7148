// Rules on data fawkes keeps beside the hosts: queues encrypted, logs expiring, the shared storage
// backed up, and, once an environment has one, a database that is encrypted, private, backed up
// and whose master password RDS keeps.
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypes, list, TIER_TAG, tierOf, truthy, TYPES } from "./resources";

export const sqsEncrypted: ResourceValidationPolicy = {
  name: "sqs-encrypted",
  description: "SQS queues (dead-letter queues too) are encrypted at rest: sqsManagedSseEnabled, or a KMS key.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([TYPES.queue], (p, report) => {
    const kms = typeof p.kmsMasterKeyId === "string" && p.kmsMasterKeyId !== "";
    if (!truthy(p.sqsManagedSseEnabled) && !kms) report("the queue is not encrypted; set sqsManagedSseEnabled: true (or kmsMasterKeyId)");
  }),
};

export const logRetentionSet: ResourceValidationPolicy = {
  name: "log-retention-set",
  description: "CloudWatch log groups expire their events (retentionInDays, the logRetentionDays knob): logs are kept on purpose, not forever by default.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([TYPES.logGroup], (p, report) => {
    const days = Number(p.retentionInDays ?? 0);
    if (!(days > 0)) report(`retentionInDays is ${JSON.stringify(p.retentionInDays ?? null)}; set it (the logRetentionDays knob), or the group keeps every event forever`);
  }),
};

/** Whether an AWS Backup resource ARN (which may hold `*`) matches an ARN. */
function arnMatches(pattern: unknown, arn: unknown): boolean {
  if (typeof pattern !== "string" || typeof arn !== "string") return false;
  const re = new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return re.test(arn);
}

function selects(selection: PolicyResource, target: PolicyResource): boolean {
  if (list(selection.props?.resources).some((r) => arnMatches(r, target.props?.arn))) return true;
  return (selection.propertyDependencies?.resources ?? []).some((d) => d.urn === target.urn);
}

/**
 * A resource of a QA environment (its `Stack` tag is `qa` or `qa-<branch>`: src/config's
 * templateOf, which this pack cannot import): `qa down` removes it whole, so it keeps no backups.
 */
function ofQaEnvironment(r: PolicyResource): boolean {
  const stack = (r.props?.tags as Record<string, unknown> | undefined)?.Stack;
  return typeof stack === "string" && (stack === "qa" || stack.startsWith("qa-"));
}

export const fileSystemsBackedUp: StackValidationPolicy = {
  name: "file-systems-backed-up",
  description:
    "Every EFS file system is in an AWS Backup selection (by ARN), so the apps' shared data has recovery points; except a QA stack's (qa, qa-<branch>), whose data goes with it and whose backup vault would stop qa down.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const selections = args.resources.filter((r) => r.type === TYPES.backupSelection);
    for (const fs of args.resources.filter((r) => r.type === TYPES.fileSystem)) {
      if (ofQaEnvironment(fs)) continue;
      if (!selections.some((s) => selects(s, fs))) {
        report(`file system ${fs.name} is in no AWS Backup selection; add its ARN to the environment's backup selection (components/backups.ts)`, fs.urn);
      }
    }
  },
};

export const rdsEncrypted: ResourceValidationPolicy = {
  name: "rds-encrypted",
  description: "RDS instances and Aurora clusters are encrypted at rest (storageEncrypted); it cannot be turned on later without a new database.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([TYPES.dbInstance, TYPES.dbCluster], (p, report) => {
    // An Aurora cluster's member instance is encrypted by its cluster.
    if (p.clusterIdentifier === undefined && !truthy(p.storageEncrypted)) report("storageEncrypted is not true; set it (changing it later replaces the database)");
  }),
};

export const rdsBackupsEnabled: ResourceValidationPolicy = {
  name: "rds-backups-enabled",
  description: "RDS instances keep automated backups (backupRetentionPeriod of 1 day or more, set explicitly): 0 turns them and point-in-time recovery off.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([TYPES.dbInstance], (p, report) => {
    // A cluster keeps the backups of its member instances; a read replica has its source's.
    if (p.clusterIdentifier !== undefined || p.replicateSourceDb !== undefined) return;
    const days = Number(p.backupRetentionPeriod ?? 0);
    if (!(days >= 1)) report(`backupRetentionPeriod is ${JSON.stringify(p.backupRetentionPeriod ?? null)}; set it to 1 or more (the backupRetentionDays knob, at most 35)`);
  }),
};

export const rdsPasswordManaged: ResourceValidationPolicy = {
  name: "rds-password-managed",
  description: "RDS generates and keeps the master password in Secrets Manager (manageMasterUserPassword: true): no password input, so none in the program, the state or a diff.",
  enforcementLevel: "mandatory",
  validateResource: [
    forTypes([TYPES.dbInstance], (p, report) => {
      for (const input of ["password", "passwordWo"]) if (p[input] !== undefined) report(`${input} is set; remove it and set manageMasterUserPassword: true (the password then never enters Pulumi's state)`);
      // Member instances of a cluster and read replicas have no master user of their own.
      if (p.clusterIdentifier !== undefined || p.replicateSourceDb !== undefined) return;
      if (!truthy(p.manageMasterUserPassword)) report("manageMasterUserPassword is not true; let RDS generate the master password and keep it in Secrets Manager");
    }),
    forTypes([TYPES.dbCluster], (p, report) => {
      for (const input of ["masterPassword", "masterPasswordWo"]) if (p[input] !== undefined) report(`${input} is set; remove it and set manageMasterUserPassword: true (the password then never enters Pulumi's state)`);
      // A replica or a secondary of a global database takes its primary's master user.
      if (p.replicationSourceIdentifier === undefined && p.globalClusterIdentifier === undefined && !truthy(p.manageMasterUserPassword)) report("manageMasterUserPassword is not true; let RDS generate the master password and keep it in Secrets Manager");
    }),
  ],
};

export const databasesBackedUp: StackValidationPolicy = {
  name: "databases-backed-up",
  description: "Every RDS instance (not an Aurora member) is in an AWS Backup selection (by ARN), so recovery points outlive RDS's 35 days of automated backups.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const selections = args.resources.filter((r) => r.type === TYPES.backupSelection);
    for (const db of args.resources.filter((r) => r.type === TYPES.dbInstance && r.props?.clusterIdentifier === undefined && r.props?.replicateSourceDb === undefined)) {
      if (!selections.some((s) => selects(s, db))) {
        report(`database ${db.name} is in no AWS Backup selection; add its ARN to the environment's backup selection (components/backups.ts)`, db.urn);
      }
    }
  },
};

function subnetValues(s: PolicyResource): unknown[] {
  return [s.props?.id, s.props?.arn];
}

export const rdsPrivate: StackValidationPolicy = {
  name: "rds-private",
  description: `Databases are private: never publicly accessible, always in a subnet group whose subnets are all tagged ${TIER_TAG}=private.`,
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const of = (type: string) => args.resources.filter((r) => r.type === type);
    for (const db of [...of(TYPES.dbInstance), ...of(TYPES.dbClusterInstance)]) {
      if (truthy(db.props?.publiclyAccessible)) report(`database ${db.name} is publicly accessible; set publiclyAccessible: false`, db.urn);
    }
    // Without a subnet group a database lands in the default VPC, whose subnets are public.
    for (const db of [...of(TYPES.dbInstance).filter((d) => d.props?.clusterIdentifier === undefined), ...of(TYPES.dbCluster)]) {
      if (!db.props?.dbSubnetGroupName && (db.propertyDependencies?.dbSubnetGroupName ?? []).length === 0) {
        report(`database ${db.name} has no dbSubnetGroupName; put it in a subnet group of the environment's private subnets`, db.urn);
      }
    }
    const subnets = of(TYPES.subnet);
    for (const group of of(TYPES.dbSubnetGroup)) {
      const ids = list(group.props?.subnetIds);
      const dependencies = group.propertyDependencies?.subnetIds ?? [];
      const used = subnets.filter((s) => ids.some((id) => subnetValues(s).includes(id)) || dependencies.some((d) => d.urn === s.urn));
      const notPrivate = used.filter((s) => tierOf(s.props ?? {}) !== "private").map((s) => s.name);
      const unknown = ids.filter((id) => typeof id === "string" && !subnets.some((s) => subnetValues(s).includes(id)));
      if (notPrivate.length > 0) report(`subnet group ${group.name} uses ${notPrivate.join(", ")}, not tagged ${TIER_TAG}=private; a database lives in private subnets only`, group.urn);
      if (unknown.length > 0) report(`subnet group ${group.name} uses ${unknown.join(", ")}, not a subnet of this stack; a database lives in the environment's private subnets only`, group.urn);
    }
  },
};
