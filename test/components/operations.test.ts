// What every environment has beside its hosts, on every stack: the apps' log groups and queues,
// alarms to one encrypted topic, backups of the shared storage, and the four access roles (their
// policies proven with an IAM simulator in access-roles.test.ts).
import { beforeAll, describe, expect, it } from "vitest";
import {
  ACCESS_TAG,
  ADMINISTRATOR_POLICY_ARN,
  BACKUP_POLICY_ARNS,
  DEAD_LETTER_RETENTION_SECONDS,
  ERROR_RATE_EXPRESSION,
  ERROR_RATE_PERCENT,
  GITHUB_OIDC_HOST,
  LOG_ACTIONS,
  logGroupArnPattern,
  REFRESH_FAILURES,
  servedApps,
} from "../../components/index.ts";
import { templateOf, type EnvironmentSpec } from "../../src/config/index.ts";
import { appLogGroup, hostLogGroup, planEnvironment, queuePlans, type EnvironmentPlan } from "../../src/model/index.ts";
import { compareGraphs } from "../../src/plan/stack-graph.ts";
import { appLogFiles, CLOUDWATCH_AGENT_CONFIG_PATH } from "../../src/render/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";
import { ACCOUNT, captureEnvironment, ofType, one, specOf, stacksOfTheRepository, type Props, type StackGraph } from "./harness.ts";

const T = {
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  queue: "aws:sqs/queue:Queue",
  redriveAllow: "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
  param: "aws:ssm/parameter:Parameter",
  key: "aws:kms/key:Key",
  alias: "aws:kms/alias:Alias",
  topic: "aws:sns/topic:Topic",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  vault: "aws:backup/vault:Vault",
  plan: "aws:backup/plan:Plan",
  selection: "aws:backup/selection:Selection",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
};

const REGION = "eu-west-1";
const queueArn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
const statements = (policy: string): Props[] => JSON.parse(policy).Statement;
const bySid = (policy: string) => Object.fromEntries(statements(policy).map((s) => [s.Sid, s]));

describe.each(stacksOfTheRepository())("stack %s", (stack) => {
  let g: StackGraph;
  let plan: EnvironmentPlan;
  beforeAll(async () => {
    g = await captureEnvironment(specOf(stack));
    plan = planEnvironment(g.spec);
  });

  it("keeps each app's logs and each role's host logs in a log group that expires them after logRetentionDays", () => {
    const days = g.spec.knobs.logRetentionDays;
    const expected = [...g.spec.catalogue.apps.map((a) => appLogGroup(g.spec, a.name)), ...plan.hosts.map((h) => hostLogGroup(g.spec, h.role))];
    const groups = ofType(g, T.logGroup);
    expect(groups.map((r) => r.inputs.name).sort()).toEqual(expected.sort());
    for (const r of groups) expect(r.inputs.retentionInDays).toBe(days);
    expect(one(g, T.logGroup, "fawkes-apps-logs-shop").inputs.name).toBe(`/fawkes/${stack}/apps/shop`);
  });

  it("ships each host's log files into the log groups the stack creates, and lets its role write to those only", () => {
    for (const [host, image] of plan.hosts.map((h, i) => [h, renderWithTestArtifacts(plan)[i]!] as const)) {
      const config = JSON.parse(image.files.find((f) => f.path === CLOUDWATCH_AGENT_CONFIG_PATH)!.content);
      const entries: Array<{ file_path: string; log_group_name: string }> = config.logs.logs_collected.files.collect_list;
      // Every process log of every app on the host goes to the group AppResources made for that app.
      for (const app of host.apps) {
        const group = one(g, T.logGroup, `fawkes-apps-logs-${app.name}`).inputs.name;
        expect(entries.filter((e) => e.log_group_name === group).map((e) => e.file_path)).toEqual(appLogFiles(host, app).map((f) => f.path));
        expect(appLogFiles(host, app).map((f) => f.path)).toEqual(expect.arrayContaining(app.processes.map((p) => p.logFile)));
      }
      const hostGroup = one(g, T.logGroup, `fawkes-apps-host-logs-${host.role}`).inputs.name;
      expect(entries.filter((e) => e.log_group_name === hostGroup).map((e) => e.file_path)).toEqual(["/var/log/cloud-init-output.log", "/var/log/fawkes/bootstrap.log", "/var/log/supervisor/supervisord.log"]);
      const written = [...new Set(entries.map((e) => e.log_group_name))];
      expect(written).toHaveLength(host.apps.length + 1);
      const logs = bySid(one(g, T.rolePolicy, `fawkes-${host.role}-access`).inputs.policy).Logs!;
      expect(logs.Action).toEqual([...LOG_ACTIONS]);
      expect(logs.Resource).toEqual(written.map(logGroupArnPattern));
      // No other statement of the host's policy touches CloudWatch Logs.
      const others = statements(one(g, T.rolePolicy, `fawkes-${host.role}-access`).inputs.policy).filter((st) => st.Sid !== "Logs");
      expect(others.flatMap((st) => [st.Action].flat()).filter((a) => String(a).startsWith("logs:"))).toEqual([]);
    }
  });

  it("gives each declared queue an encrypted SQS queue, a dead-letter queue it redrives to, and its URL in the app's parameters", () => {
    const queues = queuePlans(g.spec);
    expect(queues.map((q) => `${q.app}/${q.name}`)).toEqual(["shop/orders"]);
    expect(ofType(g, T.queue)).toHaveLength(2 * queues.length);
    for (const q of queues) {
      const label = `fawkes-apps-${q.app}-${q.name}`;
      const dlq = one(g, T.queue, `${label}-dlq`).inputs;
      expect(dlq).toMatchObject({ name: q.deadLetterName, sqsManagedSseEnabled: true, messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS });
      const queue = one(g, T.queue, `${label}-queue`).inputs;
      expect(queue).toMatchObject({ name: q.queueName, sqsManagedSseEnabled: true, visibilityTimeoutSeconds: 30 });
      expect(JSON.parse(queue.redrivePolicy)).toEqual({ deadLetterTargetArn: queueArn(q.deadLetterName), maxReceiveCount: 5 });
      const allow = one(g, T.redriveAllow, `${label}-dlq-allow`).inputs;
      expect(allow.queueUrl).toBe(`https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${q.deadLetterName}`);
      expect(JSON.parse(allow.redriveAllowPolicy)).toEqual({ redrivePermission: "byQueue", sourceQueueArns: [queueArn(q.queueName)] });
      // Where the bootstrap reads it, under the prefix the hosts may read.
      expect(one(g, T.param, `${label}-url`).inputs).toMatchObject({
        name: `${plan.hosts[0]!.stores.parameterPrefix}/${q.app}/queues/${q.name}`,
        type: "String",
        insecureValue: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${q.queueName}`,
      });
      expect(q).toMatchObject({ queueName: `fawkes-${stack}-shop-orders`, deadLetterName: `fawkes-${stack}-shop-orders-dlq`, envName: "FAWKES_QUEUE_ORDERS_URL" });
    }
  });

  it("reports to one topic, encrypted with its own rotated key that CloudWatch and EventBridge may use, mailed to alarmEmail when set", () => {
    const key = one(g, T.key, "fawkes-ops-key").inputs;
    expect(key.enableKeyRotation).toBe(true);
    const keyPolicy = bySid(key.policy);
    expect(keyPolicy.Account).toMatchObject({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*" });
    expect(keyPolicy.CloudWatchAlarms).toMatchObject({ Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"] });
    expect(keyPolicy.EventBridgeRules).toMatchObject({ Principal: { Service: "events.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"] });
    expect(keyPolicy.EventBridgeRules.Condition).toBeUndefined();
    expect(one(g, T.alias, "fawkes-ops-key-alias").inputs).toMatchObject({ name: `alias/fawkes-${stack}-alarms`, targetKeyId: "fawkes-ops-key-id" });
    expect(ofType(g, T.topic)).toHaveLength(1);
    const topic = one(g, T.topic, "fawkes-ops-topic").inputs;
    expect(topic).toMatchObject({ name: `fawkes-${stack}-alarms`, kmsMasterKeyId: expect.stringContaining("fawkes-ops-key") });
    const email = g.spec.knobs.alarmEmail;
    expect(ofType(g, T.subscription).map((s) => s.inputs)).toEqual(email ? [expect.objectContaining({ protocol: "email", endpoint: email, topic: expect.stringContaining("fawkes-ops-topic") })] : []);
  });

  it("alarms per served app on its 5xx rate and on unhealthy hosts, from its target group's metrics", () => {
    const alarms = ofType(g, T.alarm);
    // Two more on the database, when the environment has a server of its own (database.test.ts).
    expect(alarms).toHaveLength(2 * servedApps(plan).length + (plan.database && !g.spec.knobs.database.shareParentServer ? 2 : 0));
    const topicArn = expect.stringContaining("fawkes-ops-topic");
    for (const app of servedApps(plan)) {
      const dimensions = { LoadBalancer: `app/fawkes-${stack}/0`, TargetGroup: `targetgroup/fawkes-${stack}-${app.name}/0` };
      const errors = one(g, T.alarm, `fawkes-ops-${app.name}-5xx`).inputs;
      expect(errors).toMatchObject({
        name: `fawkes-${stack}-${app.name}-5xx`,
        comparisonOperator: "GreaterThanThreshold",
        threshold: ERROR_RATE_PERCENT,
        treatMissingData: "notBreaching",
        alarmActions: [topicArn],
        okActions: [topicArn],
      });
      const q = Object.fromEntries(errors.metricQueries.map((m: Props) => [m.id, m]));
      expect(q.errors.metric).toEqual({ namespace: "AWS/ApplicationELB", metricName: "HTTPCode_Target_5XX_Count", dimensions, period: 60, stat: "Sum" });
      expect(q.requests.metric).toEqual({ namespace: "AWS/ApplicationELB", metricName: "RequestCount", dimensions, period: 60, stat: "Sum" });
      expect(q.rate).toMatchObject({ expression: ERROR_RATE_EXPRESSION, returnData: true });
      expect([q.errors.returnData, q.requests.returnData]).toEqual([false, false]);
      expect(one(g, T.alarm, `fawkes-ops-${app.name}-unhealthy`).inputs).toMatchObject({
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        dimensions,
        statistic: "Maximum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        alarmActions: [topicArn],
      });
    }
  });

  it("sends each fleet's failed, cancelled or rolled-back instance refresh to the topic, and lets only those rules and alarms publish", () => {
    const rules = ofType(g, T.rule);
    expect(rules).toHaveLength(plan.hosts.length);
    for (const host of plan.hosts) {
      const rule = one(g, T.rule, `fawkes-ops-${host.role}-refresh`).inputs;
      expect(JSON.parse(rule.eventPattern)).toEqual({
        source: ["aws.autoscaling"],
        "detail-type": [...REFRESH_FAILURES],
        detail: { AutoScalingGroupName: [`fawkes-${stack}-${host.role}`] },
      });
      expect(REFRESH_FAILURES).toEqual(expect.arrayContaining(["EC2 Auto Scaling Instance Refresh Failed", "EC2 Auto Scaling Instance Refresh Cancelled"]));
      const target = one(g, T.target, `fawkes-ops-${host.role}-refresh`).inputs;
      expect(target).toMatchObject({ rule: rule.name, arn: expect.stringContaining("fawkes-ops-topic") });
    }
    const policy = bySid(one(g, T.topicPolicy, "fawkes-ops-topic-policy").inputs.policy);
    expect(policy.Alarms).toMatchObject({ Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish" });
    expect(policy.Alarms.Condition.ArnEquals["aws:SourceArn"]).toHaveLength(ofType(g, T.alarm).length);
    expect(policy.FailedRollouts).toMatchObject({ Principal: { Service: "events.amazonaws.com" }, Action: "sns:Publish" });
    expect(policy.FailedRollouts.Condition.ArnEquals["aws:SourceArn"]).toHaveLength(rules.length);
  });

  // A QA stack keeps no backups: its data goes with it (cost-and-quotas.test.ts).
  it.runIf(templateOf(stack) !== "qa")("backs the shared storage and the database up daily into a vault, keeping each recovery point backupRetentionDays", () => {
    expect(one(g, T.vault, "fawkes-backups-vault").inputs).toMatchObject({ name: `fawkes-${stack}-vault`, forceDestroy: false });
    const backupPlan = one(g, T.plan, "fawkes-backups-plan").inputs;
    expect(backupPlan.rules).toEqual([
      expect.objectContaining({ ruleName: "daily", targetVaultName: `fawkes-${stack}-vault`, schedule: "cron(0 3 * * ? *)", lifecycle: { deleteAfter: g.spec.knobs.backupRetentionDays } }),
    ]);
    const selection = one(g, T.selection, "fawkes-backups-selection").inputs;
    expect(selection).toMatchObject({ planId: "fawkes-backups-plan-id", iamRoleArn: `arn:aws:iam::${ACCOUNT}:role/fawkes-${stack}-backup` });
    expect(selection.resources).toEqual([
      expect.stringContaining(":file-system/fs-fawkes-shared-fs"),
      ...(plan.database ? [`arn:aws:rds:${REGION}:${ACCOUNT}:db:fawkes-${stack}-db`] : []),
    ]);
    const role = one(g, T.role, "fawkes-backups-role").inputs;
    expect(statements(role.assumeRolePolicy)).toEqual([expect.objectContaining({ Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" })]);
    const attached = ofType(g, T.attachment).filter((a) => a.inputs.role === `fawkes-${stack}-backup`).map((a) => a.inputs.policyArn);
    expect(attached.sort()).toEqual([...BACKUP_POLICY_ARNS].sort());
  });

  it("has viewer, plan, deployer and admin roles that the account may assume (admin with MFA), with inline policies only; no GitHub trust without a repository", () => {
    for (const access of ["viewer", "plan", "deployer", "admin"]) {
      const role = one(g, T.role, `fawkes-access-${access}`).inputs;
      expect(role.name).toBe(`fawkes-${stack}-${access}`);
      expect(role.tags[ACCESS_TAG]).toBe(access);
      const trust = statements(role.assumeRolePolicy);
      expect(trust).toEqual([expect.objectContaining({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" })]);
      expect(trust[0]!.Condition).toEqual(access === "admin" ? { Bool: { "aws:MultiFactorAuthPresent": "true" } } : undefined);
    }
    const access = ofType(g, T.attachment).filter((a) => /-(viewer|plan|deployer|admin)$/.test(String(a.inputs.role)));
    expect(access.map((a) => a.inputs.policyArn)).toEqual([ADMINISTRATOR_POLICY_ARN]);
    for (const role of ["viewer", "plan"]) {
      const denied = statements(one(g, T.rolePolicy, `fawkes-access-${role}-access`).inputs.policy).filter((st) => st.Effect === "Deny");
      expect(denied.map((st) => st.Sid)).toEqual(["NoParameterValues", "NoSecretValues", "NoDecrypt", "NoDumps"]);
      expect(bySid(one(g, T.rolePolicy, `fawkes-access-${role}-access`).inputs.policy).NoDumps!.Resource).toBe(`arn:aws:s3:::${plan.hosts[0]!.stores.artifactBucket}/backups/${stack}/*`);
    }
  });

  it("lets the deployer release and roll back this environment only: its artifacts, parameters, launch templates, groups and host roles", () => {
    const doc = one(g, T.rolePolicy, "fawkes-access-deployer-access").inputs.policy;
    const s = bySid(doc);
    const stores = plan.hosts[0]!.stores;
    expect(s.ArtifactObjects.Resource).toBe(`arn:aws:s3:::${stores.artifactBucket}/*`);
    // Releases read no parameter value: `check` asks for names only.
    expect(statements(doc).filter((st) => st.Effect === "Allow").flatMap((st) => [st.Action].flat())).not.toContain("ssm:GetParameter");
    const templates = plan.hosts.map((h) => expect.stringContaining(`:launch-template/lt-fawkes-${h.role}-template`));
    expect(s.LaunchTemplates.Resource).toEqual(templates);
    expect(s.Fleets.Resource).toEqual(plan.hosts.map((h) => `arn:aws:autoscaling:*:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/fawkes-${stack}-${h.role}`));
    expect(s.Fleets.Action).toContain("autoscaling:StartInstanceRefresh");
    expect(s.Fleets.Action).toContain("autoscaling:RollbackInstanceRefresh");
    expect(s.LaunchFromTemplates.Condition.ArnEquals["ec2:LaunchTemplate"]).toEqual(templates);
    expect(s.PassHostRoles.Resource).toEqual(plan.hosts.map((h) => `arn:aws:iam::${ACCOUNT}:role/fawkes-${stack}-${h.role}`));
    // `*` appears only for reads AWS authorises on `*` alone, or under a condition that ties it to this environment's templates or launches.
    for (const st of statements(doc)) {
      const resources = [st.Resource].flat();
      const reads = [st.Action].flat().every((a: string) => /^[a-z0-9-]+:(Describe|Get|List)/.test(a));
      if (resources.includes("*") && st.Effect === "Allow" && !reads) expect(st.Condition, st.Sid).toBeDefined();
      expect([st.Action].flat()).not.toContain("*");
    }
  });
});

describe("with a GitHub repository in the catalogue", () => {
  const withGitHub = (stack: string): EnvironmentSpec => {
    const spec = specOf(stack);
    return { ...spec, catalogue: { ...spec.catalogue, github: { repository: "acme/shop-infra" } } };
  };
  let dev: StackGraph;
  let staging: StackGraph;
  beforeAll(async () => {
    dev = await captureEnvironment(withGitHub("dev"));
    staging = await captureEnvironment(withGitHub("staging"));
  });

  it("plan trusts that repository's pull requests, the deployer its jobs in the GitHub environment <project>-<stack>; viewer and admin no GitHub token", () => {
    const gitHub = (access: string) => statements(one(dev, T.role, `fawkes-access-${access}`).inputs.assumeRolePolicy).filter((st) => st.Principal.Federated !== undefined);
    const trusting = (sub: string) => ({
      Effect: "Allow",
      Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITHUB_OIDC_HOST}` },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: { StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com", [`${GITHUB_OIDC_HOST}:sub`]: sub } },
    });
    expect(gitHub("plan")).toEqual([expect.objectContaining(trusting("repo:acme/shop-infra:pull_request"))]);
    expect(gitHub("deployer")).toEqual([expect.objectContaining(trusting("repo:acme/shop-infra:environment:fawkes-dev"))]);
    for (const access of ["viewer", "admin"]) expect(gitHub(access)).toEqual([]);
  });

  it("keeps the stacks identical by construction: the environment's name is the stack's", () => {
    expect(compareGraphs(dev, staging).unexplained).toEqual([]);
  });
});
