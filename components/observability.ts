import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

/** An app alarms when more than this share of its requests get a 5xx from its hosts... */
export const ERROR_RATE_PERCENT = 5;
/** ...in a minute with at least this many requests (one failed request of two is no outage)... */
export const ERROR_RATE_MIN_REQUESTS = 10;
/** ...in 3 of 5 consecutive minutes. */
export const ERROR_RATE_PERIODS = { evaluate: 5, breaching: 3 };
/** An unhealthy host alarms after 5 minutes: longer than a host takes to fail its way out of a rollout. */
export const UNHEALTHY_MINUTES = 5;
/** The metric math of the 5xx rate, in percent of requests. */
export const ERROR_RATE_EXPRESSION = `IF(requests >= ${ERROR_RATE_MIN_REQUESTS}, 100 * FILL(errors, 0) / requests, 0)`;

/**
 * What a failed rollout looks like to EventBridge. An instance refresh that fails its health gate
 * with automatic rollback on does not end "Failed": it rolls back, so "Rollback Started" is the
 * failed release and "Rollback Failed" a fleet left half-way.
 */
export const REFRESH_FAILURES = [
  "EC2 Auto Scaling Instance Refresh Failed",
  "EC2 Auto Scaling Instance Refresh Cancelled",
  "EC2 Auto Scaling Instance Refresh Rollback Started",
  "EC2 Auto Scaling Instance Refresh Rollback Failed",
] as const;

/** The database alarms when its free storage falls below this share of what is allocated... */
export const DATABASE_FREE_STORAGE_PERCENT = 10;
/** ...or its CPU stays above this for 3 consecutive 5-minute periods. */
export const DATABASE_CPU_PERCENT = 80;
export const DATABASE_PERIODS = { seconds: 300, evaluate: 3 };
const GIB = 1024 ** 3;

/** The environment's RDS instance, by identifier (known before it exists), and its allocated storage. */
export interface ObservedDatabase {
  identifier: string;
  allocatedStorageGb: number;
}

export interface ObservedApp {
  name: string;
  targetGroupArnSuffix: pulumi.Input<string>;
}

export interface ObservabilityArgs {
  accountId: pulumi.Input<string>;
  /** The `alarmEmail` knob: subscribed by email when set. */
  alarmEmail?: string;
  /** Apps behind the load balancer: a 5xx-rate and an unhealthy-host alarm each. */
  apps: readonly ObservedApp[];
  loadBalancerArnSuffix: pulumi.Input<string>;
  /** Per role, its Auto Scaling group's name: a failed instance refresh is reported. */
  fleets: Readonly<Record<string, string>>;
  /** The environment's database, when an app has one: low free storage and high CPU alarm. */
  database?: ObservedDatabase;
  nameParts: NameParts;
  tags: Tags;
}

/**
 * One SNS topic per environment that every alarm and failed rollout reports to, encrypted with a
 * key of its own: CloudWatch and EventBridge cannot publish to a topic encrypted with the
 * AWS-managed SNS key (its policy cannot grant them), so the key's policy names both services.
 */
export class Observability extends pulumi.ComponentResource {
  readonly topicArn: pulumi.Output<string>;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:ops:Observability", name, {}, opts);
    const { topic } = buildObservability(this, name, args);
    this.topicArn = topic.arn;
    this.registerOutputs({ topicArn: this.topicArn });
  }
}

/** The topic key: the account administers it (as every KMS key needs), the two publishers may use it. */
export function alarmKeyPolicy(accountId: string): object {
  const use = ["kms:Decrypt", "kms:GenerateDataKey*"];
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "Account", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" },
      { Sid: "CloudWatchAlarms", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: use, Resource: "*", Condition: { StringEquals: { "aws:SourceAccount": accountId } } },
      // EventBridge sends no aws:SourceArn or aws:SourceAccount to KMS: a condition would drop every event.
      { Sid: "EventBridgeRules", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: use, Resource: "*" },
    ],
  };
}

/** Who may publish to the topic: these alarms and these rules, nothing else. */
export function alarmTopicPolicy(topicArn: string, alarmArns: readonly string[], ruleArns: readonly string[]): object {
  const publish = (sid: string, service: string, sources: readonly string[]) => ({
    Sid: sid,
    Effect: "Allow",
    Principal: { Service: service },
    Action: "sns:Publish",
    Resource: topicArn,
    Condition: { ArnEquals: { "aws:SourceArn": [...sources] } },
  });
  return {
    Version: "2012-10-17",
    Statement: [
      ...(alarmArns.length > 0 ? [publish("Alarms", "cloudwatch.amazonaws.com", alarmArns)] : []),
      ...(ruleArns.length > 0 ? [publish("FailedRollouts", "events.amazonaws.com", ruleArns)] : []),
    ],
  };
}

/** Free storage below DATABASE_FREE_STORAGE_PERCENT of the allocation, CPU above DATABASE_CPU_PERCENT for 15 minutes. */
export function databaseAlarms(
  parent: pulumi.Resource,
  name: string,
  db: ObservedDatabase,
  actions: { alarmActions: pulumi.Input<string>[]; okActions: pulumi.Input<string>[] },
  args: Pick<ObservabilityArgs, "nameParts" | "tags">,
): aws.cloudwatch.MetricAlarm[] {
  const common = {
    namespace: "AWS/RDS",
    dimensions: { DBInstanceIdentifier: db.identifier },
    statistic: "Average",
    period: DATABASE_PERIODS.seconds,
    evaluationPeriods: DATABASE_PERIODS.evaluate,
    datapointsToAlarm: DATABASE_PERIODS.evaluate,
    // A stopped (dev) database sends nothing: keep the last state rather than page or clear.
    treatMissingData: "missing",
    ...actions,
  };
  const storageName = nameOf("alarm", args.nameParts, "database", "storage");
  const cpuName = nameOf("alarm", args.nameParts, "database", "cpu");
  return [
    new aws.cloudwatch.MetricAlarm(
      `${name}-database-storage`,
      {
        ...common,
        name: storageName,
        alarmDescription: `${db.identifier}: free storage below ${DATABASE_FREE_STORAGE_PERCENT}% of the allocated (database.allocatedStorageGb) for 15 minutes`,
        metricName: "FreeStorageSpace",
        comparisonOperator: "LessThanThreshold",
        threshold: Math.round((db.allocatedStorageGb * GIB * DATABASE_FREE_STORAGE_PERCENT) / 100),
        tags: tagged(args.tags, storageName),
      },
      { parent },
    ),
    new aws.cloudwatch.MetricAlarm(
      `${name}-database-cpu`,
      {
        ...common,
        name: cpuName,
        alarmDescription: `${db.identifier}: CPU above ${DATABASE_CPU_PERCENT}% for 15 minutes`,
        metricName: "CPUUtilization",
        comparisonOperator: "GreaterThanThreshold",
        threshold: DATABASE_CPU_PERCENT,
        tags: tagged(args.tags, cpuName),
      },
      { parent },
    ),
  ];
}

export function buildObservability(
  parent: pulumi.Resource,
  name: string,
  args: ObservabilityArgs,
): { topic: aws.sns.Topic; alarms: aws.cloudwatch.MetricAlarm[]; rules: aws.cloudwatch.EventRule[] } {
  const opts = { parent };
  const key = new aws.kms.Key(
    `${name}-key`,
    {
      description: `fawkes alarms of ${args.nameParts.join("/")}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: pulumi.output(args.accountId).apply((id) => JSON.stringify(alarmKeyPolicy(id))),
      tags: tagged(args.tags, nameOf("tag", args.nameParts, "alarms")),
    },
    opts,
  );
  new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${nameOf("kmsAlias", args.nameParts, "alarms")}`, targetKeyId: key.id }, opts);
  const topicName = nameOf("snsTopic", args.nameParts, "alarms");
  const topic = new aws.sns.Topic(`${name}-topic`, { name: topicName, kmsMasterKeyId: key.arn, tags: tagged(args.tags, topicName) }, opts);
  if (args.alarmEmail !== undefined) {
    // AWS mails a confirmation link first: nothing arrives until someone clicks it.
    new aws.sns.TopicSubscription(`${name}-email`, { topic: topic.arn, protocol: "email", endpoint: args.alarmEmail }, opts);
  }

  const actions = { alarmActions: [topic.arn], okActions: [topic.arn] };
  const alarms = args.apps.flatMap((app) => {
    const dimensions = { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: app.targetGroupArnSuffix };
    const metric = (metricName: string) => ({ namespace: "AWS/ApplicationELB", metricName, dimensions, period: 60, stat: "Sum" });
    const errorsName = nameOf("alarm", args.nameParts, app.name, "5xx");
    const errors = new aws.cloudwatch.MetricAlarm(
      `${name}-${app.name}-5xx`,
      {
        name: errorsName,
        alarmDescription: `${app.name}: over ${ERROR_RATE_PERCENT}% of requests answered 5xx by its hosts in ${ERROR_RATE_PERIODS.breaching} of ${ERROR_RATE_PERIODS.evaluate} minutes (minutes with ${ERROR_RATE_MIN_REQUESTS} requests or more)`,
        comparisonOperator: "GreaterThanThreshold",
        threshold: ERROR_RATE_PERCENT,
        evaluationPeriods: ERROR_RATE_PERIODS.evaluate,
        datapointsToAlarm: ERROR_RATE_PERIODS.breaching,
        treatMissingData: "notBreaching",
        metricQueries: [
          { id: "errors", metric: metric("HTTPCode_Target_5XX_Count"), returnData: false },
          { id: "requests", metric: metric("RequestCount"), returnData: false },
          { id: "rate", expression: ERROR_RATE_EXPRESSION, label: `${app.name} 5xx % of requests`, returnData: true },
        ],
        ...actions,
        tags: tagged(args.tags, errorsName),
      },
      opts,
    );
    const unhealthyName = nameOf("alarm", args.nameParts, app.name, "unhealthy");
    const unhealthy = new aws.cloudwatch.MetricAlarm(
      `${name}-${app.name}-unhealthy`,
      {
        name: unhealthyName,
        alarmDescription: `${app.name}: a host has failed the load balancer's health check for ${UNHEALTHY_MINUTES} minutes`,
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        dimensions,
        statistic: "Maximum",
        period: 60,
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        evaluationPeriods: UNHEALTHY_MINUTES,
        datapointsToAlarm: UNHEALTHY_MINUTES,
        treatMissingData: "notBreaching",
        ...actions,
        tags: tagged(args.tags, unhealthyName),
      },
      opts,
    );
    return [errors, unhealthy];
  });
  if (args.database) alarms.push(...databaseAlarms(parent, name, args.database, actions, args));

  const rules = Object.entries(args.fleets).map(([role, groupName]) => {
    const ruleName = nameOf("eventRule", args.nameParts, role, "refresh");
    const rule = new aws.cloudwatch.EventRule(
      `${name}-${role}-refresh`,
      {
        name: ruleName,
        description: `${groupName}: an instance refresh failed, was cancelled or rolled back`,
        eventPattern: JSON.stringify({ source: ["aws.autoscaling"], "detail-type": REFRESH_FAILURES, detail: { AutoScalingGroupName: [groupName] } }),
        tags: tagged(args.tags, ruleName),
      },
      opts,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-${role}-refresh`,
      {
        rule: rule.name,
        arn: topic.arn,
        // A line a person can read in the mail, instead of the event's JSON.
        inputTransformer: {
          inputPaths: { event: "$.detail-type", group: "$.detail.AutoScalingGroupName", refresh: "$.detail.InstanceRefreshId", time: "$.time" },
          inputTemplate: '"<time> <group>: <event> (instance refresh <refresh>). Details: aws autoscaling describe-instance-refreshes --auto-scaling-group-name <group>"',
        },
      },
      opts,
    );
    return rule;
  });

  new aws.sns.TopicPolicy(
    `${name}-topic-policy`,
    {
      arn: topic.arn,
      policy: pulumi
        .all([topic.arn, pulumi.all(alarms.map((a) => a.arn)), pulumi.all(rules.map((r) => r.arn))])
        .apply(([topicArn, alarmArns, ruleArns]) => JSON.stringify(alarmTopicPolicy(topicArn, alarmArns, ruleArns))),
    },
    opts,
  );
  return { topic, alarms, rules };
}
