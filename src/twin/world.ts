// What `pulumi up` of a stack makes in AWS, made in the twin's moto from the resources the stack's
// program registers (run under Pulumi's mocks, the same program `pulumi up` runs): the resources
// its hosts and fawkes call at run time, in dependency order, through the SDK clients fawkes
// itself uses (src/aws/clients.ts, the endpoint from AWS_ENDPOINT_URL). The mocks make up ids
// (`fs-<name>`, `<name>-id`); moto makes real ones, and a value that names a made-up id (an SSM
// parameter naming the file system, a launch template naming a security group) gets moto's.
// What the hosts never call (the ALB, alarms, backups, the image pipeline, KMS) is not made: the
// front plays the ALB, and docs/VERIFIED.md says what only AWS proves.
import { AutoScalingClient, CreateAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import { CloudWatchLogsClient, CreateLogGroupCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateTableCommand, DynamoDBClient, type KeySchemaElement, type AttributeDefinition } from "@aws-sdk/client-dynamodb";
import { CreateLaunchTemplateCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client, type RequestLaunchTemplateData } from "@aws-sdk/client-ec2";
import { CreateFileSystemCommand, EFSClient } from "@aws-sdk/client-efs";
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { awsClient, s3Client } from "../aws/clients.ts";
import { MOCK_ACCOUNT, type CapturedResource, type Props } from "../plan/program.ts";
import type { Progress } from "../local/steps.ts";

/** The program's resources the twin makes, by type, in the order it makes them. */
export const WORLD_ORDER = [
  "aws:ec2/vpc:Vpc",
  "aws:ec2/subnet:Subnet",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:s3/bucket:Bucket",
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketObjectv2:BucketObjectv2",
  "aws:dynamodb/table:Table",
  "aws:sqs/queue:Queue",
  "aws:cloudwatch/logGroup:LogGroup",
  "aws:efs/fileSystem:FileSystem",
  "aws:rds/instance:Instance",
  "aws:iam/role:Role",
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/instanceProfile:InstanceProfile",
  "aws:ssm/parameter:Parameter",
  "aws:ec2/launchTemplate:LaunchTemplate",
  "aws:autoscaling/group:Group",
] as const;

export type WorldType = (typeof WORLD_ORDER)[number];

/**
 * The program's resources the twin makes, in order: by type, then a queue named as another's dead
 * letter queue after it, as AWS needs the target to exist.
 */
export function worldResources(resources: readonly CapturedResource[]): CapturedResource[] {
  const rank = (r: CapturedResource) => WORLD_ORDER.indexOf(r.type as WorldType);
  const dlqFirst = (r: CapturedResource) => (r.type === "aws:sqs/queue:Queue" && typeof r.inputs.redrivePolicy === "string" ? 1 : 0);
  return resources.filter((r) => r.custom && rank(r) >= 0).sort((a, b) => rank(a) - rank(b) || dlqFirst(a) - dlqFirst(b));
}

/** Replaces every made-up id the map knows inside a value (a string, or strings inside JSON-like data). */
export function rewriteIds<T>(value: T, ids: ReadonlyMap<string, string>): T {
  if (typeof value === "string") {
    // Longest first: "fs-x" must not rewrite inside "fs-x-2".
    let s: string = value;
    for (const [from, to] of [...ids].sort((a, b) => b[0].length - a[0].length)) s = s.split(from).join(to);
    return s as T;
  }
  if (Array.isArray(value)) return value.map((v) => rewriteIds(v, ids)) as T;
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteIds(v, ids)])) as T;
  return value;
}

/** The master user's secret RDS makes (name rds!db-<identifier>): username and password as JSON. */
export function rdsSecretName(identifier: string): string {
  return `rds!db-${identifier}`;
}

export interface World {
  /** Made-up id (and ARN) → what moto made. */
  ids: Record<string, string>;
  /** Each Auto Scaling group: its launch template (moto's id and the version) and sizes. */
  groups: Array<{ name: string; launchTemplateId: string; version: string; desired: number; min: number; max: number; healthCheckType: string; targetGroupArns: string[] }>;
}

export interface WorldOptions {
  region: string;
  /** The account moto answers as: the mocks' made-up account in ARNs and queue URLs becomes it. */
  account: string;
  /** RDS master passwords by instance identifier (the services host's PostgreSQL has them too). */
  masterPasswords: Record<string, string>;
}

/** A bucket object of the program as S3's PutObject: binary content comes as contentBase64. */
export function putObjectOf(i: Props): PutObjectCommand {
  const body = i.contentBase64 !== undefined ? Buffer.from(String(i.contentBase64), "base64") : Buffer.from(String(i.content ?? ""), "utf8");
  return new PutObjectCommand({ Bucket: i.bucket, Key: i.key, Body: body, ContentType: i.contentType, ChecksumAlgorithm: i.checksumAlgorithm });
}

export function putParameterOf(i: Props): PutParameterCommand {
  return new PutParameterCommand({ Name: i.name, Value: parameterValueOf(i), Type: i.type ?? "String", Description: i.description, Overwrite: true });
}

export const parameterValueOf = (i: Props): string => String(i.insecureValue ?? i.value);

/** A launch template's inputs as EC2's LaunchTemplateData (ids already moto's). */
export function launchTemplateDataOf(i: Props): RequestLaunchTemplateData {
  return {
    ImageId: i.imageId,
    InstanceType: i.instanceType,
    UserData: i.userData,
    IamInstanceProfile: i.iamInstanceProfile?.arn ? { Arn: i.iamInstanceProfile.arn } : undefined,
    MetadataOptions: i.metadataOptions ? { HttpTokens: i.metadataOptions.httpTokens, HttpEndpoint: i.metadataOptions.httpEndpoint, HttpPutResponseHopLimit: i.metadataOptions.httpPutResponseHopLimit } : undefined,
    SecurityGroupIds: (i.networkInterfaces as Array<{ securityGroups?: string[] }> | undefined)?.flatMap((n) => n.securityGroups ?? []),
  };
}

const tagList = (tags: Props | undefined) => Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value: String(Value) }));

/** Makes the world in moto; returns what it made. Stops at the first call AWS (moto) refuses, naming the resource. */
export async function makeWorld(resources: readonly CapturedResource[], opts: WorldOptions, progress: Progress): Promise<World> {
  const region = opts.region;
  const ec2 = awsClient(EC2Client, region);
  const s3 = await s3Client(S3Client, region);
  const ddb = awsClient(DynamoDBClient, region);
  const sqs = awsClient(SQSClient, region);
  const logs = awsClient(CloudWatchLogsClient, region);
  const efs = awsClient(EFSClient, region);
  const sm = awsClient(SecretsManagerClient, region);
  const iam = awsClient(IAMClient, region);
  const ssm = awsClient(SSMClient, region);
  const asg = awsClient(AutoScalingClient, region);
  const ids = new Map<string, string>();
  if (opts.account !== MOCK_ACCOUNT) {
    ids.set(`:${MOCK_ACCOUNT}:`, `:${opts.account}:`);
    ids.set(`/${MOCK_ACCOUNT}/`, `/${opts.account}/`);
  }
  const world: World = { ids: {}, groups: [] };
  const list = worldResources(resources);
  for (const r of list) {
    const i = rewriteIds(r.inputs, ids);
    try {
      switch (r.type as WorldType) {
        case "aws:ec2/vpc:Vpc": {
          const out = await ec2.send(new CreateVpcCommand({ CidrBlock: i.cidrBlock, TagSpecifications: [{ ResourceType: "vpc", Tags: tagList(i.tags) }] }));
          ids.set(r.id, out.Vpc!.VpcId!);
          break;
        }
        case "aws:ec2/subnet:Subnet": {
          const out = await ec2.send(new CreateSubnetCommand({ VpcId: i.vpcId, CidrBlock: i.cidrBlock, AvailabilityZone: i.availabilityZone, TagSpecifications: [{ ResourceType: "subnet", Tags: tagList(i.tags) }] }));
          ids.set(r.id, out.Subnet!.SubnetId!);
          break;
        }
        case "aws:ec2/securityGroup:SecurityGroup": {
          const out = await ec2.send(new CreateSecurityGroupCommand({ GroupName: i.name, Description: i.description, VpcId: i.vpcId }));
          ids.set(r.id, out.GroupId!);
          break;
        }
        case "aws:s3/bucket:Bucket":
          await s3.send(new CreateBucketCommand({ Bucket: i.bucket, ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }) }));
          break;
        case "aws:s3/bucketVersioning:BucketVersioning":
          await s3.send(new PutBucketVersioningCommand({ Bucket: i.bucket, VersioningConfiguration: { Status: i.versioningConfiguration?.status ?? "Enabled" } }));
          break;
        case "aws:s3/bucketObjectv2:BucketObjectv2":
          await s3.send(putObjectOf(i));
          break;
        case "aws:dynamodb/table:Table": {
          const attrs = (i.attributes as Array<{ name: string; type: string }>).map((a): AttributeDefinition => ({ AttributeName: a.name, AttributeType: a.type as "S" }));
          const keys: KeySchemaElement[] = [{ AttributeName: i.hashKey, KeyType: "HASH" }, ...(i.rangeKey ? [{ AttributeName: i.rangeKey as string, KeyType: "RANGE" as const }] : [])];
          await ddb.send(new CreateTableCommand({ TableName: i.name, AttributeDefinitions: attrs, KeySchema: keys, BillingMode: i.billingMode ?? "PAY_PER_REQUEST" }));
          break;
        }
        case "aws:sqs/queue:Queue": {
          const attributes: Record<string, string> = {};
          if (i.messageRetentionSeconds !== undefined) attributes.MessageRetentionPeriod = String(i.messageRetentionSeconds);
          if (i.visibilityTimeoutSeconds !== undefined) attributes.VisibilityTimeout = String(i.visibilityTimeoutSeconds);
          if (typeof i.redrivePolicy === "string") attributes.RedrivePolicy = i.redrivePolicy;
          await sqs.send(new CreateQueueCommand({ QueueName: i.name, Attributes: attributes }));
          break;
        }
        case "aws:cloudwatch/logGroup:LogGroup":
          await logs.send(new CreateLogGroupCommand({ logGroupName: i.name }));
          break;
        case "aws:efs/fileSystem:FileSystem": {
          const out = await efs.send(new CreateFileSystemCommand({ CreationToken: r.name, Encrypted: i.encrypted, PerformanceMode: i.performanceMode, ThroughputMode: i.throughputMode, Tags: tagList(i.tags) }));
          ids.set(r.id, out.FileSystemId!);
          if (typeof r.state.arn === "string") ids.set(r.state.arn, out.FileSystemArn!);
          break;
        }
        case "aws:rds/instance:Instance": {
          // RDS makes the master user's secret itself (manageMasterUserPassword); the twin's PostgreSQL has the same password.
          const password = opts.masterPasswords[i.identifier];
          if (password === undefined) throw new Error(`no master password for ${i.identifier}`);
          const out = await sm.send(new CreateSecretCommand({ Name: rdsSecretName(i.identifier), SecretString: JSON.stringify({ username: i.username, password }) }));
          const mocked = (r.state.masterUserSecrets as Array<{ secretArn: string }> | undefined)?.[0]?.secretArn;
          if (mocked) ids.set(mocked, out.ARN!);
          break;
        }
        case "aws:iam/role:Role":
          await iam.send(new CreateRoleCommand({ RoleName: i.name, AssumeRolePolicyDocument: i.assumeRolePolicy, Description: i.description, Tags: tagList(i.tags) }));
          break;
        case "aws:iam/rolePolicy:RolePolicy":
          await iam.send(new PutRolePolicyCommand({ RoleName: i.role, PolicyName: i.name, PolicyDocument: i.policy }));
          break;
        case "aws:iam/instanceProfile:InstanceProfile":
          await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: i.name }));
          await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: i.name, RoleName: i.role }));
          break;
        case "aws:ssm/parameter:Parameter":
          await ssm.send(putParameterOf(i));
          break;
        case "aws:ec2/launchTemplate:LaunchTemplate": {
          const out = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: i.name, LaunchTemplateData: launchTemplateDataOf(i) }));
          const id = out.LaunchTemplate!.LaunchTemplateId!;
          ids.set(r.id, id);
          break;
        }
        case "aws:autoscaling/group:Group": {
          const lt = i.launchTemplate as { id: string; version: string };
          await asg.send(
            new CreateAutoScalingGroupCommand({
              AutoScalingGroupName: i.name,
              LaunchTemplate: { LaunchTemplateId: lt.id, Version: lt.version },
              MinSize: i.minSize,
              MaxSize: i.maxSize,
              DesiredCapacity: i.desiredCapacity,
              HealthCheckType: i.healthCheckType,
              HealthCheckGracePeriod: i.healthCheckGracePeriod,
              VPCZoneIdentifier: (i.vpcZoneIdentifiers as string[] | undefined)?.join(","),
              Tags: (i.tags as Array<{ key: string; value: string; propagateAtLaunch: boolean }> | undefined)?.map((t) => ({ Key: t.key, Value: t.value, PropagateAtLaunch: t.propagateAtLaunch })),
            }),
          );
          world.groups.push({ name: i.name, launchTemplateId: lt.id, version: String(lt.version), desired: i.desiredCapacity, min: i.minSize, max: i.maxSize, healthCheckType: i.healthCheckType, targetGroupArns: i.targetGroupArns ?? [] });
          break;
        }
      }
    } catch (e) {
      throw new Error(`twin: making ${r.type} ${r.name} in moto failed: ${(e as Error).message}`, { cause: e });
    }
    progress(`made ${r.type.split(":").at(-1)} ${r.name}`);
  }
  for (const c of [ec2, s3, ddb, sqs, logs, efs, sm, iam, ssm, asg]) c.destroy();
  world.ids = Object.fromEntries(ids);
  return world;
}
