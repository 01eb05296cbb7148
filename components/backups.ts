import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

/** AWS's managed policies for the role AWS Backup takes to back up and to restore. */
export const BACKUP_POLICY_ARNS = [
  "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
  "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
] as const;

/** Daily at 03:00 UTC; AWS Backup may start it within the hour and must finish within 6. */
export const BACKUP_SCHEDULE = "cron(0 3 * * ? *)";
export const BACKUP_WINDOW_MINUTES = { start: 60, completion: 360 };

export const BACKUP_ASSUME_ROLE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export interface BackupsArgs {
  /** The `backupRetentionDays` knob: each recovery point is deleted after this many days. */
  retentionDays: number;
  /** What is backed up, by ARN: the shared storage's file system and, when there is one, the RDS instance. */
  resourceArns: pulumi.Input<string>[];
  nameParts: NameParts;
  tags: Tags;
}

/**
 * AWS Backup for the environment's data: a vault (recovery points are always encrypted; without
 * a key of ours, with AWS Backup's managed key, which outlives this stack), a daily plan that keeps
 * each recovery point `backupRetentionDays`, the role AWS Backup takes, and a selection by ARN.
 */
export class Backups extends pulumi.ComponentResource {
  readonly vaultName: pulumi.Output<string>;
  readonly planId: pulumi.Output<string>;

  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:ops:Backups", name, {}, opts);
    const { vault, plan } = buildBackups(this, name, args);
    this.vaultName = vault.name;
    this.planId = plan.id;
    this.registerOutputs({ vaultName: this.vaultName, planId: this.planId });
  }
}

export function buildBackups(parent: pulumi.Resource, name: string, args: BackupsArgs): { vault: aws.backup.Vault; plan: aws.backup.Plan; selection: aws.backup.Selection } {
  const opts = { parent };
  const vaultName = nameOf("backup", args.nameParts, "vault");
  // Never forceDestroy: recovery points outlive a mistaken `pulumi destroy`.
  const vault = new aws.backup.Vault(`${name}-vault`, { name: vaultName, forceDestroy: false, tags: tagged(args.tags, vaultName) }, opts);
  const planName = nameOf("backup", args.nameParts, "daily");
  const plan = new aws.backup.Plan(
    `${name}-plan`,
    {
      name: planName,
      rules: [
        {
          ruleName: "daily",
          targetVaultName: vault.name,
          schedule: BACKUP_SCHEDULE,
          startWindow: BACKUP_WINDOW_MINUTES.start,
          completionWindow: BACKUP_WINDOW_MINUTES.completion,
          lifecycle: { deleteAfter: args.retentionDays },
          recoveryPointTags: args.tags,
        },
      ],
      tags: tagged(args.tags, planName),
    },
    opts,
  );
  const roleName = nameOf("iamRole", args.nameParts, "backup");
  const role = new aws.iam.Role(
    `${name}-role`,
    { name: roleName, assumeRolePolicy: BACKUP_ASSUME_ROLE_POLICY, description: "AWS Backup: back up and restore this environment's data", tags: tagged(args.tags, roleName) },
    opts,
  );
  const attachments = BACKUP_POLICY_ARNS.map(
    (policyArn) => new aws.iam.RolePolicyAttachment(`${name}-${policyArn.endsWith("ForBackup") ? "backup" : "restore"}-policy`, { role: role.name, policyArn }, opts),
  );
  const selection = new aws.backup.Selection(
    `${name}-selection`,
    { name: nameOf("backup", args.nameParts, "data"), planId: plan.id, iamRoleArn: role.arn, resources: args.resourceArns },
    { parent, dependsOn: attachments },
  );
  return { vault, plan, selection };
}
