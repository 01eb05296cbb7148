import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { architectureOf, ConfigError, isQaEnvironment, type EnvironmentSpec } from "../src/config/index.ts";
import { appLogGroup, dumpPrefixOf, hostLogGroup, planEnvironment, queuePlans, servedApps, storesOf, type EnvironmentPlan } from "../src/model/index.ts";
import { ec2UserDataProblems, renderEnvironment, type ReleaseSums } from "../src/render/index.ts";
import { albHealthProblems } from "../src/check/aws-limits.ts";
import type { AccessScope } from "./access-policies.ts";
import { AccessRoles } from "./access-roles.ts";
import { AppResources } from "./app-resources.ts";
import { ArtifactStore } from "./artifact-store.ts";
import { Backups } from "./backups.ts";
import { Database, SharedDatabase } from "./database.ts";
import { Firewall } from "./firewall.ts";
import { Fleet } from "./fleet.ts";
import { QUEUE_ACTIONS } from "./host-role.ts";
import { ImagePipeline } from "./image-pipeline.ts";
import { LoadBalancer } from "./load-balancer.ts";
import { Network, type SharedNetwork } from "./network.ts";
import { parentStack, type DatabaseOutput, type NetworkOutput } from "./parent-stack.ts";
import { Observability } from "./observability.ts";
import { ReleaseLocks } from "./release-locks.ts";
import { SharedStorage } from "./shared-storage.ts";
import { baseTags, nameOf, type NameParts } from "./tags.ts";

export interface EnvironmentArgs {
  spec: EnvironmentSpec;
  /**
   * Each pinned release's sha256 as the deploy read it from the artifact bucket
   * (releaseSumsInBucket): pinned in the hosts' bundle, which verify against it alone.
   */
  releaseSums: ReleaseSums;
}

export { servedApps };

/** Apps with shared dirs need an access point; every app gets one so adding a dir is no migration. */
function everyApp(plan: EnvironmentPlan): Array<{ name: string; uid: number }> {
  const byName = new Map<string, number>();
  for (const h of plan.hosts) for (const a of h.apps) byName.set(a.name, a.uid);
  return [...byName].map(([name, uid]) => ({ name, uid }));
}

/** URL of each served app: its first host name, https when the stack has a certificate. */
export function appUrls(plan: EnvironmentPlan): Record<string, string> {
  const scheme = plan.spec.knobs.certificateArn ? "https" : "http";
  return Object.fromEntries(servedApps(plan).map((a) => [a.name, `${scheme}://${a.hostnames[0]}`]));
}

/** The GitHub environment whose workflows may assume a stack's deployer role. */
export function gitHubEnvironmentOf(spec: Pick<EnvironmentSpec, "project" | "stack">): string {
  return `${spec.project}-${spec.stack}`;
}

/**
 * The AMI hosts boot: the stack's pinned one. A stack without a pin is fine on the local target,
 * but AWS hosts would have nothing to boot, and fawkes never looks one up for them.
 */
export function pinnedImageOf(spec: EnvironmentSpec): string {
  if (spec.knobs.image) return spec.knobs.image.ami;
  throw new ConfigError([
    {
      file: `stack config of ${spec.stack}`,
      path: `config.${spec.project}:image`,
      message: "missing; AWS hosts boot only a pinned AMI: set image: { ami, architecture, recipe } to an AMI of the stack's Image Builder pipeline (`fawkes image list` shows the pins)",
    },
  ]);
}

/**
 * What an environment's access policies name, from names known before anything exists: its
 * parameters, artifact bucket, dumps, lock table, log groups, groups and host roles. Its deployer
 * role's, and a management stack's console for the stacks it manages (deploy-console.ts).
 */
export function accessScopeOf(plan: EnvironmentPlan): Omit<AccessScope, "accountId" | "launchTemplateArns"> {
  const { spec } = plan;
  const nameParts: NameParts = [spec.project, spec.stack];
  const stores = storesOf(spec);
  return {
    parameterPrefix: stores.parameterPrefix,
    artifactBucket: stores.artifactBucket,
    dumpPrefix: dumpPrefixOf(spec.stack),
    lockTable: stores.lockTable,
    logGroups: [...spec.catalogue.apps.map((a) => appLogGroup(spec, a.name)), ...plan.hosts.map((h) => hostLogGroup(spec, h.role))],
    groupNames: plan.hosts.map((h) => nameOf("autoScalingGroup", nameParts, h.role)),
    hostRoleNames: plan.hosts.map((h) => nameOf("iamRole", nameParts, h.role)),
  };
}

/**
 * One environment (one stack) on AWS, from its EnvironmentSpec alone: plans and renders the
 * hosts itself, then builds network, stores, shared storage, the database (when an app has one),
 * load balancer, a fleet per role on the pinned AMI, the Image Builder pipeline that makes AMIs
 * from the recipe, the apps' log groups and queues, alarms, backups and the access roles.
 */
export class Environment extends pulumi.ComponentResource {
  /** Per app: `https://<first host name>` (`http://` without a certificate). */
  readonly urls: Record<string, string>;
  /** Per role: the Auto Scaling group's name. */
  readonly fleets: pulumi.Output<Record<string, string>>;
  /** Per role: what `fawkes release` refreshes (src/release/stack-outputs.ts reads it). */
  readonly launchTemplates: pulumi.Output<Record<string, LaunchTemplateOutput>>;
  readonly loadBalancerDnsName: pulumi.Output<string>;
  /** The stack's own network, for the QA stacks whose parent it is; absent in a stack that uses its parent's. */
  readonly network?: pulumi.Output<NetworkOutput>;
  /** The stack's own database server, for the QA stacks that share it; absent without one. */
  readonly database?: pulumi.Output<DatabaseOutput>;

  constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:index:Environment", name, {}, opts);
    const built = buildEnvironment(this, name, args.spec, args.releaseSums);
    this.urls = built.urls;
    this.fleets = built.fleets;
    this.launchTemplates = built.launchTemplates;
    this.loadBalancerDnsName = built.loadBalancerDnsName;
    if (built.network) this.network = built.network;
    if (built.database) this.database = built.database;
    this.registerOutputs({ urls: this.urls, fleets: this.fleets, launchTemplates: this.launchTemplates, loadBalancerDnsName: this.loadBalancerDnsName, network: this.network, database: this.database });
  }
}

/** A role's launch template, its newest version and its group: the stack output `launchTemplates`. */
export interface LaunchTemplateOutput {
  launchTemplateId: string;
  groupName: string;
  version: string;
}

export interface BuiltEnvironment {
  urls: Record<string, string>;
  fleets: pulumi.Output<Record<string, string>>;
  launchTemplates: pulumi.Output<Record<string, LaunchTemplateOutput>>;
  loadBalancerDnsName: pulumi.Output<string>;
  network?: pulumi.Output<NetworkOutput>;
  database?: pulumi.Output<DatabaseOutput>;
}

export function buildEnvironment(parent: pulumi.Resource, name: string, spec: EnvironmentSpec, releaseSums: ReleaseSums): BuiltEnvironment {
  const plan = planEnvironment(spec);
  const images = renderEnvironment(plan, releaseSums);
  const tooBig = ec2UserDataProblems(images);
  if (tooBig.length > 0) throw new ConfigError(tooBig);
  // What the ALB's health check cannot ask as the local checkers do (HEAD): refused, never checked another way.
  const unchecked = albHealthProblems(spec.catalogue.apps);
  if (unchecked.length > 0) throw new ConfigError(unchecked);
  const imageId = pinnedImageOf(spec);
  const tags = baseTags(spec.project, spec.stack);
  const nameParts: NameParts = [spec.project, spec.stack];
  const common = { nameParts, tags };
  const opts = { parent };
  const stores = plan.hosts[0]!.stores;
  const served = servedApps(plan);
  const accountId = aws.getCallerIdentityOutput({}, { parent }).accountId;

  // A QA stack lives in its parent's network (and, by knob, on its database server); every other stack has its own.
  const qa = isQaEnvironment(spec);
  const parentRef = spec.knobs.parent !== undefined ? parentStack(parent, name, { project: spec.project, parent: spec.knobs.parent, region: spec.knobs.region }) : undefined;
  const ownNetwork = parentRef ? undefined : new Network(`${name}-network`, { ...common, region: spec.knobs.region, natPerZone: spec.knobs.network.natPerZone }, opts);
  const network: SharedNetwork = ownNetwork ?? parentRef!.network;
  const firewall = new Firewall(`${name}-firewall`, { ...common, vpcId: network.vpcId, apps: served, https: spec.knobs.certificateArn !== undefined }, opts);
  const artifacts = new ArtifactStore(
    `${name}-artifacts`,
    {
      bucketName: stores.artifactBucket,
      forceDestroy: qa,
      noncurrentDays: spec.knobs.artifacts.noncurrentDays,
      dumps: { prefix: dumpPrefixOf(spec.stack), days: spec.knobs.backupRetentionDays },
      tags,
    },
    opts,
  );
  const locks = new ReleaseLocks(`${name}-locks`, { tableName: stores.lockTable, tags }, opts);
  const storage = new SharedStorage(
    `${name}-shared`,
    { ...common, vpcId: network.vpcId, subnetIds: network.privateSubnetIds, hostsSecurityGroupId: firewall.hostsSecurityGroupId, apps: everyApp(plan), parameterPrefix: stores.parameterPrefix },
    opts,
  );
  const lb = new LoadBalancer(
    `${name}-lb`,
    {
      ...common,
      vpcId: network.vpcId,
      publicSubnetIds: network.publicSubnetIds,
      securityGroupId: firewall.albSecurityGroupId,
      apps: served,
      idleTimeoutSeconds: spec.catalogue.loadBalancer.idleTimeoutSeconds,
      deregistrationDelaySeconds: spec.catalogue.loadBalancer.deregistrationDelaySeconds,
      ...(spec.knobs.certificateArn ? { certificateArn: spec.knobs.certificateArn } : {}),
      maintenance: spec.knobs.maintenance,
    },
    opts,
  );

  // A QA stack boots the AMI its parent's pipeline made from the same recipe: no pipeline of its own.
  if (!qa) new ImagePipeline(
    `${name}-image`,
    {
      ...common,
      recipe: spec.catalogue.image,
      architecture: spec.knobs.image?.architecture ?? architectureOf(spec.knobs.instanceType),
      region: spec.knobs.region,
      subnetId: network.privateSubnetIds[0]!,
      vpcId: network.vpcId,
    },
    opts,
  );

  const apps = new AppResources(
    `${name}-apps`,
    {
      appLogGroups: Object.fromEntries(spec.catalogue.apps.map((a) => [a.name, appLogGroup(spec, a.name)])),
      hostLogGroups: Object.fromEntries(plan.hosts.map((h) => [h.role, hostLogGroup(spec, h.role)])),
      logRetentionDays: spec.knobs.logRetentionDays,
      queues: queuePlans(spec),
      tags,
    },
    opts,
  );

  const sharedServer = plan.database !== undefined && spec.knobs.database.shareParentServer && parentRef !== undefined;
  const database =
    plan.database && !sharedServer
      ? new Database(
          `${name}-database`,
          { ...common, plan: plan.database, vpcId: network.vpcId, subnetIds: network.privateSubnetIds, hostsSecurityGroupId: firewall.hostsSecurityGroupId, accountId },
          opts,
        )
      : undefined;
  const onParentServer =
    plan.database && sharedServer
      ? new SharedDatabase(`${name}-database`, { ...common, plan: plan.database, server: parentRef!.database(), hostsSecurityGroupId: firewall.hostsSecurityGroupId }, opts)
      : undefined;
  const databaseServer = database ?? onParentServer;

  const fleets: Record<string, pulumi.Output<string>> = {};
  const launchTemplates: Record<string, pulumi.Output<LaunchTemplateOutput>> = {};
  const launchTemplateArns: pulumi.Output<string>[] = [];
  for (const host of plan.hosts) {
    const image = images.find((i) => i.role === host.role)!;
    const fleet = new Fleet(
      `${name}-${host.role}`,
      {
        ...common,
        host,
        userDataBytes: image.userDataBytes,
        bundle: image.bundle,
        artifactBucket: artifacts.bucketName,
        imageId,
        subnetIds: network.privateSubnetIds,
        securityGroupId: firewall.hostsSecurityGroupId,
        targetGroupArns: host.role === "web" ? served.map((a) => lb.targetGroupArns[a.name]!) : [],
        grants: { parameterPrefix: stores.parameterPrefix, artifactBucketArn: artifacts.bucketArn, lockTableArn: locks.tableArn, fileSystemArn: storage.fileSystemArn },
        queues: { arns: host.apps.flatMap((a) => apps.queueArns[a.name] ?? []), actions: QUEUE_ACTIONS[host.role] },
        ...(databaseServer && host.database ? { database: { masterSecretArn: databaseServer.masterSecretArn, dumpPrefix: host.database.dumpPrefix } } : {}),
      },
      // Hosts boot against the stores, shared storage, queue URLs, NAT route and database: all must exist first.
      { parent, dependsOn: [...(ownNetwork ? [ownNetwork] : []), artifacts, locks, storage, apps, ...(databaseServer ? [databaseServer] : [])] },
    );
    fleets[host.role] = fleet.groupName;
    launchTemplates[host.role] = pulumi.all([fleet.launchTemplateId, fleet.groupName, fleet.launchTemplateVersion]).apply(([launchTemplateId, groupName, version]) => ({ launchTemplateId, groupName, version }));
    launchTemplateArns.push(fleet.launchTemplateArn);
  }

  const groupNames = Object.fromEntries(plan.hosts.map((h) => [h.role, nameOf("autoScalingGroup", nameParts, h.role)]));
  new Observability(
    `${name}-ops`,
    {
      ...common,
      accountId,
      ...(spec.knobs.alarmEmail !== undefined ? { alarmEmail: spec.knobs.alarmEmail } : {}),
      apps: served.map((a) => ({ name: a.name, targetGroupArnSuffix: lb.targetGroupArnSuffixes[a.name]! })),
      loadBalancerArnSuffix: lb.arnSuffix,
      fleets: groupNames,
      ...(database && plan.database ? { database: { identifier: database.identifier, allocatedStorageGb: plan.database.knobs.allocatedStorageGb } } : {}),
    },
    opts,
  );
  // A QA stack's data goes with it: no backup vault whose recovery points would outlive it (and stop its teardown).
  if (!qa) new Backups(
    `${name}-backups`,
    { ...common, retentionDays: spec.knobs.backupRetentionDays, resourceArns: [storage.fileSystemArn, ...(database ? [database.instanceArn] : [])] },
    opts,
  );
  new AccessRoles(
    `${name}-access`,
    {
      ...common,
      accountId,
      ...(spec.catalogue.github ? { githubRepository: spec.catalogue.github.repository } : {}),
      githubEnvironment: gitHubEnvironmentOf(spec),
      scope: accessScopeOf(plan),
      launchTemplateArns,
    },
    opts,
  );
  return {
    urls: appUrls(plan),
    fleets: pulumi.output(fleets),
    launchTemplates: pulumi.output(launchTemplates),
    loadBalancerDnsName: lb.dnsName,
    ...(ownNetwork ? { network: pulumi.output({ region: spec.knobs.region, vpcId: ownNetwork.vpcId, publicSubnetIds: ownNetwork.publicSubnetIds, privateSubnetIds: ownNetwork.privateSubnetIds }) } : {}),
    ...(database ? { database: database.output } : {}),
  };
}
