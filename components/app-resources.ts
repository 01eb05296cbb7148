import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { QueuePlan } from "../src/model/index.ts";
import { tagged, type Tags } from "./tags.ts";

/** A dead-letter queue keeps what failed for the longest SQS allows: 14 days, to be looked at. */
export const DEAD_LETTER_RETENTION_SECONDS = 1_209_600;
/** A job waits up to 4 days (SQS's default) before it expires unprocessed. */
export const QUEUE_RETENTION_SECONDS = 345_600;

export interface AppResourcesArgs {
  /** One log group per app: `appLogGroup(spec, app)`. */
  appLogGroups: Readonly<Record<string, string>>;
  /** One log group per role for the hosts' own logs: `hostLogGroup(spec, role)`. */
  hostLogGroups: Readonly<Record<string, string>>;
  /** The `logRetentionDays` knob. */
  logRetentionDays: number;
  /** Every queue of the catalogue: `queuePlans(spec)`. */
  queues: readonly QueuePlan[];
  tags: Tags;
}

export interface QueueParts {
  queue: aws.sqs.Queue;
  deadLetter: aws.sqs.Queue;
}

/**
 * What each app has beside its hosts: a CloudWatch log group (and one per role for the hosts'
 * system logs), kept `logRetentionDays`; per declared queue an SQS queue with SSE, a dead-letter
 * queue it redrives to after `maxReceiveCount` receives, and an SSM parameter with its URL that
 * the hosts read at boot. The CloudWatch agent that ships logs into the groups is configured by
 * the host image, not here.
 */
export class AppResources extends pulumi.ComponentResource {
  /** Per app: the ARNs of its queues (not the dead-letter queues). */
  readonly queueArns: Record<string, pulumi.Output<string>[]>;
  readonly logGroupNames: pulumi.Output<string>[];

  constructor(name: string, args: AppResourcesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:apps:AppResources", name, {}, opts);
    const logGroups = buildLogGroups(this, name, args);
    const queues = buildQueues(this, name, args);
    this.logGroupNames = logGroups.map((g) => g.name);
    this.queueArns = {};
    for (const [i, q] of args.queues.entries()) (this.queueArns[q.app] ??= []).push(queues[i]!.queue.arn);
    this.registerOutputs({ queueArns: this.queueArns, logGroupNames: this.logGroupNames });
  }
}

export function buildLogGroups(parent: pulumi.Resource, name: string, args: AppResourcesArgs): aws.cloudwatch.LogGroup[] {
  const group = (label: string, groupName: string) =>
    new aws.cloudwatch.LogGroup(`${name}-${label}`, { name: groupName, retentionInDays: args.logRetentionDays, tags: tagged(args.tags, groupName) }, { parent });
  return [
    ...Object.entries(args.appLogGroups).map(([app, g]) => group(`logs-${app}`, g)),
    ...Object.entries(args.hostLogGroups).map(([role, g]) => group(`host-logs-${role}`, g)),
  ];
}

export function buildQueues(parent: pulumi.Resource, name: string, args: AppResourcesArgs): QueueParts[] {
  const opts = { parent };
  return args.queues.map((q) => {
    const label = `${name}-${q.app}-${q.name}`;
    const deadLetter = new aws.sqs.Queue(
      `${label}-dlq`,
      { name: q.deadLetterName, sqsManagedSseEnabled: true, messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS, tags: tagged(args.tags, q.deadLetterName) },
      opts,
    );
    const queue = new aws.sqs.Queue(
      `${label}-queue`,
      {
        name: q.queueName,
        sqsManagedSseEnabled: true,
        visibilityTimeoutSeconds: q.visibilityTimeoutSeconds,
        messageRetentionSeconds: QUEUE_RETENTION_SECONDS,
        redrivePolicy: deadLetter.arn.apply((arn) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: q.maxReceiveCount })),
        tags: tagged(args.tags, q.queueName),
      },
      opts,
    );
    // Only this queue may move messages into its dead-letter queue.
    new aws.sqs.RedriveAllowPolicy(
      `${label}-dlq-allow`,
      { queueUrl: deadLetter.url, redriveAllowPolicy: queue.arn.apply((arn) => JSON.stringify({ redrivePermission: "byQueue", sourceQueueArns: [arn] })) },
      opts,
    );
    new aws.ssm.Parameter(
      `${label}-url`,
      { name: q.parameter, type: "String", insecureValue: queue.url, description: `URL of ${q.app}'s queue ${q.name}, given to the app as ${q.envName}`, tags: args.tags },
      opts,
    );
    return { queue, deadLetter };
  });
}
