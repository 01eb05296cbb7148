import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

/** Session Manager instead of SSH: no key pair, no port 22. */
export const SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

/** What a host may touch, by ARN: nothing else of the account. */
export interface HostGrants {
  /** e.g. `/fawkes/dev`: the host reads `<prefix>/*` (secrets, EFS ids). */
  parameterPrefix: string;
  artifactBucketArn: string;
  lockTableArn: string;
  fileSystemArn: string;
  /** The host's own auto scaling group: the only one whose instances it may mark Unhealthy. */
  groupName: string;
}

/** Web hosts enqueue jobs; worker hosts also receive, finish (delete) and extend them. */
export const QUEUE_ACTIONS = {
  web: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
  worker: ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
} as const;

/** The queues a host may use: those of the apps it runs, with its role's actions. */
export interface QueueGrants {
  arns: readonly string[];
  actions: readonly string[];
}

/** What hosts that run an app with a database may do with it: read its master secret, upload pre-release dumps. */
export interface DatabaseGrants {
  /** RDS's secret of the master user: the bootstrap creates the apps' roles and databases with it. */
  masterSecretArn: string;
  /** `backups/<stack>/`: the only place in the artifact bucket hosts may write (pg_dump before release hooks). */
  dumpPrefix: string;
}

/** Where a stack's hosts upload the database dumps taken before a release's hooks run. */

/** What the CloudWatch agent needs to write its streams, and nothing to create or read groups. */
export const LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"] as const;

/** A log group's ARN with its streams (`...:log-group:<name>:*`), in any region of any account like the parameters'. */
export const logGroupArnPattern = (group: string) => `arn:aws:logs:*:*:log-group:${group}:*`;

/**
 * The least-privilege policy of a host: read its parameters and artifacts, take locks, mount EFS,
 * use its apps' queues, write to its apps' and its role's log groups (the agent's config names them),
 * and on a role that runs an app with a database: read that database's master secret, upload dumps
 * under `backups/<stack>/`. (The database's SSM parameters are under the prefix already.)
 */
export function hostPolicyDocument(g: HostGrants, queues?: QueueGrants, logGroups: readonly string[] = [], database?: DatabaseGrants): object {
  const databaseStatements = database
    ? [
        { Sid: "DatabaseMasterSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: database.masterSecretArn },
        { Sid: "DatabaseDumps", Effect: "Allow", Action: "s3:PutObject", Resource: `${g.artifactBucketArn}/${database.dumpPrefix}*` },
      ]
    : [];
  const queueStatement = queues && queues.arns.length > 0 ? [{ Sid: "Queues", Effect: "Allow", Action: [...queues.actions], Resource: [...queues.arns] }] : [];
  const logStatement = logGroups.length > 0 ? [{ Sid: "Logs", Effect: "Allow", Action: [...LOG_ACTIONS], Resource: logGroups.map(logGroupArnPattern) }] : [];
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "Parameters", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters"], Resource: `arn:aws:ssm:*:*:parameter${g.parameterPrefix}/*` },
      { Sid: "ArtifactObjects", Effect: "Allow", Action: "s3:GetObject", Resource: `${g.artifactBucketArn}/*` },
      { Sid: "ArtifactList", Effect: "Allow", Action: "s3:ListBucket", Resource: g.artifactBucketArn },
      {
        Sid: "ReleaseLocks",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        Resource: g.lockTableArn,
      },
      // A host whose bootstrap failed says so (set-instance-health Unhealthy): only in its own group.
      { Sid: "OwnHealth", Effect: "Allow", Action: "autoscaling:SetInstanceHealth", Resource: `arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/${g.groupName}` },
      { Sid: "SharedStorage", Effect: "Allow", Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], Resource: g.fileSystemArn },
      ...queueStatement,
      ...logStatement,
      ...databaseStatements,
    ],
  };
}

export const EC2_ASSUME_ROLE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export interface HostRoleArgs {
  role: string;
  grants: { [K in Exclude<keyof HostGrants, "groupName">]: pulumi.Input<string> };
  /** The queues of the apps on these hosts, and what the role may do with them. */
  queues?: { arns: pulumi.Input<string>[]; actions: readonly string[] };
  /** The log groups the hosts' CloudWatch agent writes to: `cloudWatchLogGroups(host)`. */
  logGroups?: readonly string[];
  /** Only for the roles that run an app with a database. */
  database?: { masterSecretArn: pulumi.Input<string>; dumpPrefix: string };
  nameParts: NameParts;
  tags: Tags;
}

/** The IAM role and instance profile of the hosts of one role (web, worker). */
export function buildHostRole(parent: pulumi.Resource, name: string, args: HostRoleArgs): aws.iam.InstanceProfile {
  const opts = { parent };
  const roleName = nameOf("iamRole", args.nameParts, args.role);
  const role = new aws.iam.Role(
    `${name}-role`,
    { name: roleName, assumeRolePolicy: EC2_ASSUME_ROLE_POLICY, description: `fawkes ${args.role} hosts`, tags: tagged(args.tags, roleName) },
    opts,
  );
  const g = args.grants;
  new aws.iam.RolePolicy(
    `${name}-access`,
    {
      role: role.name,
      name: "fawkes-host",
      policy: pulumi
        .all([g.parameterPrefix, g.artifactBucketArn, g.lockTableArn, g.fileSystemArn, pulumi.all(args.queues?.arns ?? []), args.database?.masterSecretArn])
        .apply(([parameterPrefix, artifactBucketArn, lockTableArn, fileSystemArn, queueArns, masterSecretArn]) =>
          JSON.stringify(
            hostPolicyDocument(
              { parameterPrefix, artifactBucketArn, lockTableArn, fileSystemArn, groupName: nameOf("autoScalingGroup", args.nameParts, args.role) },
              { arns: queueArns, actions: args.queues?.actions ?? [] },
              args.logGroups ?? [],
              args.database && masterSecretArn !== undefined ? { masterSecretArn, dumpPrefix: args.database.dumpPrefix } : undefined,
            ),
          ),
        ),
    },
    opts,
  );
  new aws.iam.RolePolicyAttachment(`${name}-ssm`, { role: role.name, policyArn: SSM_CORE_POLICY_ARN }, opts);
  const profileName = nameOf("iamInstanceProfile", args.nameParts, args.role);
  return new aws.iam.InstanceProfile(`${name}-profile`, { name: profileName, role: role.name, tags: tagged(args.tags, profileName) }, opts);
}
