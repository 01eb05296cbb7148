// Every stack's resource graph has the resources fawkes promises, with the properties that make
// it secure and the knobs' values where knobs apply.
import { beforeAll, describe, expect, it } from "vitest";
import { HTTP_PORT, ROOT_DEVICE_NAME, HTTPS_PORT, LOG_ACTIONS, NFS_PORT, QUEUE_ACTIONS, servedApps, SSM_CORE_POLICY_ARN, TLS_POLICY, TIER_TAG } from "../../components/index.ts";
import { isQaEnvironment, templateOf } from "../../src/config/index.ts";
import { appLogGroup, hostLogGroup, planEnvironment, queuePlans, type EnvironmentPlan } from "../../src/model/index.ts";
import { ACCOUNT, AMI, captureEnvironment, LATEST_VERSION, ofType, one, specOf, stacksOfTheRepository, ZONES, type StackGraph } from "./harness.ts";

const T = {
  vpc: "aws:ec2/vpc:Vpc",
  subnet: "aws:ec2/subnet:Subnet",
  route: "aws:ec2/route:Route",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  bucket: "aws:s3/bucket:Bucket",
  table: "aws:dynamodb/table:Table",
  fs: "aws:efs/fileSystem:FileSystem",
  mount: "aws:efs/mountTarget:MountTarget",
  param: "aws:ssm/parameter:Parameter",
  lt: "aws:ec2/launchTemplate:LaunchTemplate",
  asg: "aws:autoscaling/group:Group",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  alb: "aws:lb/loadBalancer:LoadBalancer",
  listener: "aws:lb/listener:Listener",
  tg: "aws:lb/targetGroup:TargetGroup",
  rule: "aws:lb/listenerRule:ListenerRule",
};

const id = (name: string) => `${name}-id`;

describe.each(stacksOfTheRepository())("stack %s", (stack) => {
  let g: StackGraph;
  let plan: EnvironmentPlan;
  beforeAll(async () => {
    g = await captureEnvironment(specOf(stack));
    plan = planEnvironment(g.spec);
  });

  // A QA stack uses its parent's network (cost-and-quotas.test.ts); production has a NAT per zone.
  it.runIf(templateOf(stack) !== "qa")("spreads a VPC over two zones: private subnets for hosts, public ones for the load balancer, one NAT (or one per zone)", () => {
    expect(ofType(g, T.vpc)).toHaveLength(1);
    expect(one(g, T.vpc, "fawkes-network-vpc").inputs).toMatchObject({ enableDnsHostnames: true, enableDnsSupport: true });
    const subnets = ofType(g, T.subnet);
    for (const tier of ["public", "private"]) {
      const ofTier = subnets.filter((s) => s.inputs.tags[TIER_TAG] === tier);
      expect(ofTier.map((s) => s.inputs.availabilityZone)).toEqual(ZONES.slice(0, 2));
    }
    for (const s of subnets) expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
    expect(one(g, "aws:ec2/natGateway:NatGateway", "fawkes-network-nat").inputs.subnetId).toBe(id("fawkes-network-public-0"));
    expect(one(g, T.route, "fawkes-network-public-default").inputs).toMatchObject({ destinationCidrBlock: "0.0.0.0/0", gatewayId: id("fawkes-network-igw") });
    expect(one(g, T.route, "fawkes-network-private-default").inputs).toMatchObject({ destinationCidrBlock: "0.0.0.0/0", natGatewayId: id("fawkes-network-nat") });
    expect(ofType(g, "aws:ec2/natGateway:NatGateway")).toHaveLength(g.spec.knobs.network.natPerZone ? 2 : 1);
    expect(ofType(g, "aws:ec2/routeTableAssociation:RouteTableAssociation")).toHaveLength(4);
    expect(g.invokes.filter((i) => i.token === "aws:index/getAvailabilityZones:getAvailabilityZones")).toHaveLength(1);
  });

  it("keeps artifacts in a private, versioned, encrypted bucket and locks in an encrypted table, under the names hosts use", () => {
    const stores = plan.hosts[0]!.stores;
    expect(one(g, T.bucket, "fawkes-artifacts-bucket").inputs.bucket).toBe(stores.artifactBucket);
    expect(one(g, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "fawkes-artifacts-public-access").inputs).toEqual({
      bucket: stores.artifactBucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    });
    expect(one(g, "aws:s3/bucketVersioning:BucketVersioning", "fawkes-artifacts-versioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    const sse = one(g, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "fawkes-artifacts-encryption").inputs;
    expect(["AES256", "aws:kms"]).toContain(sse.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm);
    expect(one(g, T.table, "fawkes-locks-table").inputs).toMatchObject({
      name: stores.lockTable, billingMode: "PAY_PER_REQUEST", hashKey: stores.lockKey, attributes: [{ name: stores.lockKey, type: "S" }], serverSideEncryption: { enabled: true },
    });
  });

  it("shares an encrypted EFS with one SSM parameter per app and no access point (only the EFS mount helper mounts those), NFS open to the hosts only", () => {
    expect(one(g, T.fs, "fawkes-shared-fs").inputs.encrypted).toBe(true);
    expect(ofType(g, T.mount).map((m) => m.inputs.subnetId).sort()).toEqual([id("fawkes-network-private-0"), id("fawkes-network-private-1")]);
    const nfs = ofType(g, T.ingress).filter((r) => r.inputs.securityGroupId === id("fawkes-shared-nfs"));
    expect(nfs.map((r) => r.inputs)).toEqual([expect.objectContaining({ fromPort: NFS_PORT, toPort: NFS_PORT, ipProtocol: "tcp", referencedSecurityGroupId: id("fawkes-firewall-hosts") })]);
    expect(ofType(g, "aws:efs/accessPoint:AccessPoint")).toEqual([]);
    for (const app of g.spec.catalogue.apps) {
      expect(one(g, T.param, `fawkes-shared-${app.name}-efs`).inputs).toMatchObject({
        name: `${plan.hosts[0]!.stores.parameterPrefix}/${app.name}/efs`, insecureValue: "fs-fawkes-shared-fs",
      });
    }
  });

  it("opens the load balancer to 80 (and 443 with a certificate) from anywhere, the hosts to the load balancer only", () => {
    const https = g.spec.knobs.certificateArn !== undefined;
    const albIn = ofType(g, T.ingress).filter((r) => r.inputs.securityGroupId === id("fawkes-firewall-alb"));
    expect(albIn.map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4])).toEqual(
      [[HTTP_PORT, HTTP_PORT, "0.0.0.0/0"], ...(https ? [[HTTPS_PORT, HTTPS_PORT, "0.0.0.0/0"]] : [])],
    );
    const ports = servedApps(plan).map((a) => a.port).sort();
    const hostsIn = ofType(g, T.ingress).filter((r) => r.inputs.securityGroupId === id("fawkes-firewall-hosts"));
    expect(hostsIn.every((r) => r.inputs.referencedSecurityGroupId === id("fawkes-firewall-alb") && r.inputs.cidrIpv4 === undefined)).toBe(true);
    expect(hostsIn.map((r) => r.inputs.fromPort).sort()).toEqual(ports);
    const albOut = ofType(g, T.egress).filter((r) => r.inputs.securityGroupId === id("fawkes-firewall-alb"));
    expect(albOut.every((r) => r.inputs.referencedSecurityGroupId === id("fawkes-firewall-hosts"))).toBe(true);
    expect(albOut.map((r) => r.inputs.toPort).sort()).toEqual(ports);
    expect(one(g, T.egress, "fawkes-firewall-hosts-out").inputs).toMatchObject({ ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" });
    expect(ofType(g, T.ingress).some((r) => r.inputs.fromPort === 22 || r.inputs.toPort === 22)).toBe(false);
  });

  it("gives each role a locked-down launch template with the knob's instance type, booting the stack's pinned AMI", () => {
    for (const host of plan.hosts) {
      const lt = one(g, T.lt, `fawkes-${host.role}-template`).inputs;
      expect(lt).toMatchObject({
        imageId: g.spec.knobs.image!.ami,
        instanceType: g.spec.knobs.instanceType,
        metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" },
        networkInterfaces: [{ associatePublicIpAddress: "false", securityGroups: [id("fawkes-firewall-hosts")] }],
        blockDeviceMappings: [{ deviceName: ROOT_DEVICE_NAME, ebs: { encrypted: "true", volumeType: "gp3" } }],
        iamInstanceProfile: { arn: expect.stringContaining(":instance-profile/") },
      });
      expect(lt.keyName).toBeUndefined();
    }
    // The only AMI lookup left is the Image Builder pipeline's parent: no host image is ever looked up (and a QA stack has no pipeline).
    const parent = g.spec.catalogue.image.parentImage;
    const amiCalls = g.invokes.filter((i) => i.token === "aws:ec2/getAmi:getAmi");
    expect(amiCalls).toHaveLength(isQaEnvironment(g.spec) ? 0 : 1);
    if (amiCalls.length === 0) return;
    expect(amiCalls[0]!.inputs).toMatchObject({ owners: parent.owners, mostRecent: true, filters: [{ name: "name", values: [parent.namePattern] }, { name: "architecture", values: ["x86_64"] }] });
    expect(AMI.id).not.toBe(g.spec.knobs.image!.ami);
  });

  it("grants each host role only its parameters, artifacts, lock table, file system, its apps' queues, its log groups and its database, plus Session Manager", () => {
    const stores = plan.hosts[0]!.stores;
    for (const host of plan.hosts) {
      // Only the queues of the apps this role runs, with what the role does with them.
      const queues = queuePlans(g.spec).filter((q) => host.apps.some((a) => a.name === q.app)).map((q) => `arn:aws:sqs:eu-west-1:${ACCOUNT}:${q.queueName}`);
      const role = one(g, T.role, `fawkes-${host.role}-role`).inputs;
      expect(role.inlinePolicies).toBeUndefined();
      expect(role.managedPolicyArns).toBeUndefined();
      const doc = JSON.parse(one(g, T.rolePolicy, `fawkes-${host.role}-access`).inputs.policy);
      const grants = Object.fromEntries(doc.Statement.map((s: { Sid: string; Action: unknown; Resource: unknown }) => [s.Sid, [s.Action, s.Resource]]));
      expect(grants).toEqual({
        Parameters: [["ssm:GetParameter", "ssm:GetParameters"], `arn:aws:ssm:*:*:parameter${stores.parameterPrefix}/*`],
        ArtifactObjects: ["s3:GetObject", `arn:aws:s3:::${stores.artifactBucket}/*`],
        ArtifactList: ["s3:ListBucket", `arn:aws:s3:::${stores.artifactBucket}`],
        ReleaseLocks: [["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], expect.stringMatching(new RegExp(`:table/${stores.lockTable}$`))],
        SharedStorage: [["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], expect.stringContaining(":file-system/fs-fawkes-shared-fs")],
        // A host whose bootstrap failed marks itself Unhealthy: in its own role's group only.
        OwnHealth: ["autoscaling:SetInstanceHealth", `arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/fawkes-${stack}-${host.role}`],
        ...(queues.length > 0 ? { Queues: [[...QUEUE_ACTIONS[host.role]], queues] } : {}),
        // Its apps' groups and its role's, never another role's or environment's.
        Logs: [[...LOG_ACTIONS], [hostLogGroup(g.spec, host.role), ...host.apps.map((a) => appLogGroup(g.spec, a.name))].map((n) => `arn:aws:logs:*:*:log-group:${n}:*`)],
        // Only a role that runs an app with a database: that database's master secret, and dumps under backups/<stack>/.
        ...(host.database
          ? {
              // A QA stack's hosts read the master secret of the parent's server they share.
              DatabaseMasterSecret: ["secretsmanager:GetSecretValue", `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:rds!db-fawkes-${g.spec.knobs.database.shareParentServer ? g.spec.knobs.parent : stack}-db-AbCdEf`],
              DatabaseDumps: ["s3:PutObject", `arn:aws:s3:::${stores.artifactBucket}/backups/${stack}/*`],
            }
          : {}),
      });
      expect(one(g, T.attachment, `fawkes-${host.role}-ssm`).inputs.policyArn).toBe(SSM_CORE_POLICY_ARN);
    }
  });

  it("runs each role in an Auto Scaling group pinned to its template's version; no refresh left to the provider; grace period = rollout.bootSeconds", () => {
    for (const host of plan.hosts) {
      const asg = one(g, T.asg, `fawkes-${host.role}-group`).inputs;
      const fleet = g.spec.knobs.fleet[host.role];
      expect(asg).toMatchObject({ minSize: fleet.min, maxSize: fleet.max, desiredCapacity: fleet.desired, healthCheckGracePeriod: g.spec.knobs.rollout.bootSeconds });
      expect(asg.vpcZoneIdentifiers).toEqual([id("fawkes-network-private-0"), id("fawkes-network-private-1")]);
      expect(asg.launchTemplate).toEqual({ id: `lt-fawkes-${host.role}-template`, version: String(LATEST_VERSION) });
      expect(asg.launchTemplate.version).not.toMatch(/^\$(Latest|Default)$/);
      // fawkes starts and watches refreshes itself (src/release/refresh.ts): the provider neither waits nor rolls back right.
      expect(asg.instanceRefresh).toBeUndefined();
      expect(one(g, T.lt, `fawkes-${host.role}-template`).inputs.updateDefaultVersion).toBe(false);
      const tags = Object.fromEntries(asg.tags.map((t: { key: string; value: string; propagateAtLaunch: boolean }) => [t.key, t.propagateAtLaunch && t.value]));
      expect(tags).toMatchObject({ Project: "fawkes", Stack: stack, ManagedBy: "fawkes", Name: asg.name });
      if (host.role === "web") {
        expect(asg.healthCheckType).toBe("ELB");
        expect(asg.targetGroupArns).toEqual(servedApps(plan).map((a) => expect.stringContaining(`:targetgroup/fawkes-${stack}-${a.name}/`)));
      } else expect(asg.targetGroupArns).toEqual([]);
    }
    expect(g.outputs.fleets).toEqual(Object.fromEntries(plan.hosts.map((h) => [h.role, `fawkes-${stack}-${h.role}`])));
  });

  it("fronts the apps with an ALB that drops invalid headers: a target group and host rule per app, HTTPS when the stack has a certificate", () => {
    const cert = g.spec.knobs.certificateArn;
    expect(one(g, T.alb, "fawkes-lb-alb").inputs).toMatchObject({
      internal: false, loadBalancerType: "application", dropInvalidHeaderFields: true,
      idleTimeout: g.spec.catalogue.loadBalancer.idleTimeoutSeconds, subnets: [id("fawkes-network-public-0"), id("fawkes-network-public-1")], securityGroups: [id("fawkes-firewall-alb")],
    });
    const http = one(g, T.listener, "fawkes-lb-http").inputs;
    const listeners = ofType(g, T.listener);
    if (cert) {
      expect(http.defaultActions[0]).toMatchObject({ type: "redirect", redirect: { port: "443", protocol: "HTTPS", statusCode: "HTTP_301" } });
      expect(one(g, T.listener, "fawkes-lb-https").inputs).toMatchObject({ port: 443, protocol: "HTTPS", certificateArn: cert, sslPolicy: TLS_POLICY });
    } else expect(listeners).toHaveLength(1);
    const routing = cert ? "fawkes-lb-https" : "fawkes-lb-http";
    expect(one(g, T.listener, routing).inputs.defaultActions[0]).toMatchObject({ type: "fixed-response", fixedResponse: { statusCode: "404" } });
    const served = servedApps(plan);
    expect(ofType(g, T.tg)).toHaveLength(served.length);
    for (const app of served) {
      const h = app.health;
      expect(one(g, T.tg, `fawkes-lb-${app.name}`).inputs).toMatchObject({
        port: app.port, protocol: "HTTP", deregistrationDelay: g.spec.catalogue.loadBalancer.deregistrationDelaySeconds,
        healthCheck: { path: h.path, port: "traffic-port", matcher: "200-399", interval: h.intervalSeconds, timeout: h.timeoutSeconds, healthyThreshold: h.healthyThreshold, unhealthyThreshold: h.unhealthyThreshold },
      });
      const rule = one(g, T.rule, `fawkes-lb-${app.name}`).inputs;
      expect(rule.conditions).toEqual([{ hostHeader: { values: app.hostnames } }]);
      expect(rule.actions).toEqual([{ type: "forward", targetGroupArn: expect.stringContaining(`:targetgroup/fawkes-${stack}-${app.name}/`) }]);
      expect(rule.listenerArn).toContain(`/${routing}`);
      expect(g.outputs.urls[app.name]).toBe(`${cert ? "https" : "http"}://${app.hostnames[0]}`);
    }
  });

  it("tags every taggable resource with project, stack and ManagedBy", () => {
    const tagged = g.resources.filter((r) => r.inputs.tags !== undefined && !Array.isArray(r.inputs.tags));
    expect(tagged.length).toBeGreaterThan(30);
    for (const r of tagged) expect(r.inputs.tags, `${r.type} ${r.name}`).toMatchObject({ Project: "fawkes", Stack: stack, ManagedBy: "fawkes" });
  });
});
