// The environment's PostgreSQL on RDS, on every stack: private, TLS only, encrypted with its own
// key, backed up, its master password kept by RDS (never an input), found by the hosts through two
// SSM parameters, reachable from the hosts only, watched by two alarms.
import { beforeAll, describe, expect, it } from "vitest";
import {
  DATABASE_CPU_PERCENT,
  DATABASE_FREE_STORAGE_PERCENT,
  DATABASE_PERIODS,
  DATABASE_WINDOWS,
  hostPolicyDocument,
  masterSecretArnOf,
  TIER_TAG,
} from "../../components/index.ts";
import { budgetName, NAME_LIMITS } from "../../src/names/index.ts";
import { planEnvironment, type DatabasePlan, type EnvironmentPlan } from "../../src/model/index.ts";
import { ACCOUNT, captureEnvironment, ofType, one, specOf, stacksWithoutParent, type Props, type StackGraph } from "./harness.ts";

const T = {
  instance: "aws:rds/instance:Instance",
  subnetGroup: "aws:rds/subnetGroup:SubnetGroup",
  parameterGroup: "aws:rds/parameterGroup:ParameterGroup",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  param: "aws:ssm/parameter:Parameter",
  key: "aws:kms/key:Key",
  alias: "aws:kms/alias:Alias",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  selection: "aws:backup/selection:Selection",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
};

const REGION = "eu-west-1";
const id = (name: string) => `${name}-id`;
const statements = (policy: string): Props[] => JSON.parse(policy).Statement;
/** Every action a policy document allows, with the resources it allows them on. */
const allowed = (policy: string) => statements(policy).filter((s) => s.Effect === "Allow").flatMap((s) => [s.Action].flat().map((a: string) => ({ action: a, resources: [s.Resource].flat() })));

// QA stacks use their parent's server (cost-and-quotas.test.ts).
describe.each(stacksWithoutParent())("stack %s", (stack) => {
  let g: StackGraph;
  let plan: EnvironmentPlan;
  let db: DatabasePlan;
  const identifier = `fawkes-${stack}-db`;
  const secretArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-${identifier}-AbCdEf`;
  beforeAll(async () => {
    g = await captureEnvironment(specOf(stack));
    plan = planEnvironment(g.spec);
    db = plan.database!;
  });

  it("has one database, since the blog declares one", () => {
    expect(db).toBeDefined();
    expect(ofType(g, T.instance)).toHaveLength(1);
  });

  it("runs PostgreSQL of the plan's major version, sized by the database knob, encrypted with its own rotated key, never public", () => {
    const knobs = g.spec.knobs.database;
    const instance = one(g, T.instance, "fawkes-database-instance").inputs;
    expect(instance).toMatchObject({
      identifier,
      engine: "postgres",
      engineVersion: db.majorVersion,
      instanceClass: knobs.instanceClass,
      allocatedStorage: knobs.allocatedStorageGb,
      storageType: "gp3",
      storageEncrypted: true,
      kmsKeyId: expect.stringContaining("fawkes-database-key"),
      port: db.port,
      username: db.masterUser,
      publiclyAccessible: false,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      backupRetentionPeriod: db.automatedBackupDays,
      backupWindow: DATABASE_WINDOWS.backup,
      maintenanceWindow: DATABASE_WINDOWS.maintenance,
      dbSubnetGroupName: `fawkes-${stack}-db`,
      vpcSecurityGroupIds: [id("fawkes-database-sg")],
      parameterGroupName: `fawkes-${stack}-db-postgres${db.majorVersion}`,
      tags: { Project: "fawkes", Stack: stack, ManagedBy: "fawkes", Name: identifier },
    });
    expect(db.automatedBackupDays).toBe(Math.min(35, g.spec.knobs.backupRetentionDays));
    expect(identifier.length).toBeLessThanOrEqual(NAME_LIMITS.rdsInstance);
    const key = one(g, T.key, "fawkes-database-key").inputs;
    expect(key).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30 });
    expect(statements(key.policy)).toEqual([expect.objectContaining({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*" })]);
    expect(one(g, T.alias, "fawkes-database-key-alias").inputs).toMatchObject({ name: `alias/fawkes-${stack}-database`, targetKeyId: id("fawkes-database-key") });
  });

  it("lets RDS generate and keep the master password: no password input anywhere, none in state", () => {
    const instance = one(g, T.instance, "fawkes-database-instance");
    expect(instance.inputs.manageMasterUserPassword).toBe(true);
    for (const input of ["password", "passwordWo", "passwordWoVersion", "masterUserSecretKmsKeyId"]) expect(instance.inputs[input], input).toBeUndefined();
    // Nothing else of the graph carries a database password either.
    for (const r of g.resources) expect(JSON.stringify(r.inputs), `${r.type} ${r.name}`).not.toMatch(/"(master)?password(Wo)?"\s*:/i);
  });

  it("is protected, and leaves a final snapshot, exactly when the knob says so", () => {
    const instance = one(g, T.instance, "fawkes-database-instance").inputs;
    const protect = g.spec.knobs.database.deletionProtection;
    expect(protect).toBe(stack === "production");
    expect(instance.deletionProtection).toBe(protect);
    expect(instance.skipFinalSnapshot).toBe(!protect);
    expect(instance.finalSnapshotIdentifier).toBe(protect ? `fawkes-${stack}-db-final` : undefined);
  });

  it("lives in a subnet group of the private subnets only, behind a group that admits PostgreSQL from the hosts only", () => {
    expect(one(g, T.subnetGroup, "fawkes-database-subnets").inputs).toMatchObject({ name: `fawkes-${stack}-db`, subnetIds: [id("fawkes-network-private-0"), id("fawkes-network-private-1")] });
    expect(one(g, T.sg, "fawkes-database-sg").inputs).toMatchObject({ name: `fawkes-${stack}-db`, vpcId: id("fawkes-network-vpc"), tags: { [TIER_TAG]: "db" } });
    expect(one(g, T.sg, "fawkes-database-sg").inputs.ingress).toBeUndefined();
    const rules = ofType(g, T.ingress).filter((r) => r.inputs.securityGroupId === id("fawkes-database-sg"));
    expect(rules.map((r) => r.inputs)).toEqual([
      expect.objectContaining({ ipProtocol: "tcp", fromPort: 5432, toPort: 5432, referencedSecurityGroupId: id("fawkes-firewall-hosts") }),
    ]);
    expect(rules[0]!.inputs.cidrIpv4).toBeUndefined();
    expect(ofType(g, T.egress).filter((r) => r.inputs.securityGroupId === id("fawkes-database-sg"))).toEqual([]);
  });

  it("forces TLS through a parameter group of the plan's major version", () => {
    expect(one(g, T.parameterGroup, "fawkes-database-parameters").inputs).toMatchObject({
      name: `fawkes-${stack}-db-postgres17`,
      family: "postgres17",
      parameters: [{ name: "rds.force_ssl", value: "1" }],
    });
  });

  it("tells the hosts where the server is and where its master secret is, at the plan's parameter names", () => {
    expect(db.parameters).toEqual({ endpoint: `/fawkes/${stack}/database/endpoint`, masterSecret: `/fawkes/${stack}/database/master-secret` });
    expect(one(g, T.param, "fawkes-database-endpoint").inputs).toMatchObject({
      name: db.parameters.endpoint,
      type: "String",
      insecureValue: `${identifier}.c0fawkes0000.${REGION}.rds.amazonaws.com:5432`,
    });
    expect(one(g, T.param, "fawkes-database-master-secret").inputs).toMatchObject({ name: db.parameters.masterSecret, type: "String", insecureValue: secretArn });
    // Both under the prefix the hosts may already read.
    for (const name of Object.values(db.parameters)) expect(name.startsWith(`${plan.hosts[0]!.stores.parameterPrefix}/`)).toBe(true);
  });

  it("lets the roles that run an app with a database read exactly its secret and write exactly backups/<stack>/; no other role", () => {
    const bucket = `arn:aws:s3:::${plan.hosts[0]!.stores.artifactBucket}`;
    for (const host of plan.hosts) {
      const grants = allowed(one(g, T.rolePolicy, `fawkes-${host.role}-access`).inputs.policy);
      const secrets = grants.filter((a) => a.action.startsWith("secretsmanager:"));
      const writes = grants.filter((a) => a.action === "s3:PutObject" || a.action === "s3:*");
      if (host.database) {
        expect(secrets).toEqual([{ action: "secretsmanager:GetSecretValue", resources: [secretArn] }]);
        expect(writes).toEqual([{ action: "s3:PutObject", resources: [`${bucket}/backups/${stack}/*`] }]);
      } else {
        expect(secrets).toEqual([]);
        expect(writes).toEqual([]);
      }
    }
    expect(plan.hosts.filter((h) => h.database).map((h) => h.role)).toEqual(["web"]);
  });

  it("joins the AWS Backup selection by ARN", () => {
    expect(one(g, T.selection, "fawkes-backups-selection").inputs.resources).toContain(`arn:aws:rds:${REGION}:${ACCOUNT}:db:${identifier}`);
  });

  it("alarms to the environment's topic on low free storage and on high CPU", () => {
    const topicArn = expect.stringContaining("fawkes-ops-topic");
    const common = {
      namespace: "AWS/RDS",
      dimensions: { DBInstanceIdentifier: identifier },
      statistic: "Average",
      period: DATABASE_PERIODS.seconds,
      evaluationPeriods: DATABASE_PERIODS.evaluate,
      alarmActions: [topicArn],
      okActions: [topicArn],
    };
    expect(one(g, T.alarm, "fawkes-ops-database-storage").inputs).toMatchObject({
      ...common,
      name: `fawkes-${stack}-database-storage`,
      metricName: "FreeStorageSpace",
      comparisonOperator: "LessThanThreshold",
      threshold: Math.round(g.spec.knobs.database.allocatedStorageGb * 1024 ** 3 * (DATABASE_FREE_STORAGE_PERCENT / 100)),
    });
    expect(one(g, T.alarm, "fawkes-ops-database-cpu").inputs).toMatchObject({
      ...common,
      name: `fawkes-${stack}-database-cpu`,
      metricName: "CPUUtilization",
      comparisonOperator: "GreaterThanThreshold",
      threshold: DATABASE_CPU_PERCENT,
    });
  });
});

describe("without an app that declares a database", () => {
  let g: StackGraph;
  beforeAll(async () => {
    const spec = specOf("dev");
    g = await captureEnvironment({ ...spec, catalogue: { ...spec.catalogue, apps: spec.catalogue.apps.map((a) => ({ ...a, database: false })) } });
  });

  it("builds no database, grants no secret or dump prefix, backs up the shared storage only", () => {
    for (const type of [T.instance, T.subnetGroup, T.parameterGroup]) expect(ofType(g, type), type).toEqual([]);
    expect(ofType(g, T.param).filter((p) => String(p.inputs.name).includes("/database/"))).toEqual([]);
    expect(ofType(g, T.alarm).filter((a) => a.name.includes("database"))).toEqual([]);
    expect(one(g, T.selection, "fawkes-backups-selection").inputs.resources).toEqual([expect.stringContaining(":file-system/")]);
    // Granted, that is: the access roles deny secrets and dumps to whoever only looks, database or not.
    for (const p of ofType(g, T.rolePolicy)) {
      const allowed = (JSON.parse(p.inputs.policy).Statement as Array<{ Effect: string }>).filter((st) => st.Effect === "Allow");
      expect(JSON.stringify(allowed), p.name).not.toMatch(/secretsmanager:GetSecretValue"|backups\//);
    }
  });
});

describe("the pieces", () => {
  it("a host's document scopes the dump prefix to the bucket and the stack", () => {
    const doc = hostPolicyDocument(
      { parameterPrefix: "/fawkes/dev", artifactBucketArn: "arn:aws:s3:::b", lockTableArn: "t", fileSystemArn: "f", groupName: "fawkes-dev-web" },
      undefined,
      [],
      { masterSecretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:s", dumpPrefix: "backups/qa-feature-x/" },
    ) as { Statement: Props[] };
    expect(doc.Statement.find((s) => s.Sid === "DatabaseDumps")).toEqual({ Sid: "DatabaseDumps", Effect: "Allow", Action: "s3:PutObject", Resource: "arn:aws:s3:::b/backups/qa-feature-x/*" });
  });

  it("the master secret's ARN is RDS's first secret, and its absence is an error that says why", () => {
    expect(masterSecretArnOf([{ secretArn: "arn:x" }])).toBe("arn:x");
    expect(() => masterSecretArnOf([])).toThrow(/manageMasterUserPassword/);
    expect(() => masterSecretArnOf(undefined)).toThrow(/manageMasterUserPassword/);
  });

  it("a long branch stack's identifier fits RDS's 63 characters and stays a valid identifier", () => {
    const name = budgetName("rdsInstance", "fawkes", "qa-feature-a-really-long-branch-name-that-goes-on-and-on", "db");
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
    expect(name).not.toMatch(/--/);
  });
});
