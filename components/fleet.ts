import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { HostPlan } from "../src/model/index.ts";
import { cloudWatchLogGroups, type HostBundle } from "../src/render/index.ts";
import { buildHostRole, type HostRoleArgs } from "./host-role.ts";
import { launchTags, nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

export const ROOT_VOLUME_GIB = 20;

/**
 * The root device of Debian's AMIs, and so of every AMI Image Builder makes from them: Debian's
 * cloud team registers each EC2 image with RootDeviceName /dev/xvda (debian-cloud-images,
 * src/debian_cloud_images/cli/upload_ec2.py), and an AMI made from an instance keeps the root
 * device name of the AMI that instance booted. Under another name the launch template would add a
 * second, empty volume instead of sizing and encrypting the root one.
 */
export const ROOT_DEVICE_NAME = "/dev/xvda";

export interface FleetArgs {
  /** The hosts of one role: role, fleet size, instance type, store names. */
  host: HostPlan;
  /** The rendered user-data of this role, byte for byte what cloud-init gets: the stage-1 script. */
  userDataBytes: Uint8Array;
  /** The role's bundle (every other file), stored in the artifact bucket under its sha256 key. */
  bundle: HostBundle;
  /** The artifact bucket's name (HostPlan.stores.artifactBucket, made by ArtifactStore). */
  artifactBucket: pulumi.Input<string>;
  /** The stack's pinned AMI (knob image.ami): hosts boot exactly this image, never a lookup's latest. */
  imageId: string;
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  /** Target groups the hosts join (web: one per app); none for workers. */
  targetGroupArns: pulumi.Input<string>[];
  grants: HostRoleArgs["grants"];
  /** The queues of the apps this role runs; none when they declare none. */
  queues?: HostRoleArgs["queues"];
  /** The database's master secret and the dump prefix, for a role that runs an app with a database. */
  database?: HostRoleArgs["database"];
  nameParts: NameParts;
  tags: Tags;
}

/** EC2 wants user-data base64-encoded; the bytes are the renderer's, unchanged. */
export function userDataBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * The hosts of one role: a launch template carrying the role's user-data, and an Auto Scaling
 * group pinned to an explicit version of it. A new user-data is a new version and replaces no host:
 * `fawkes release` starts and watches the instance refresh to it (src/release/refresh.ts), so that
 * AWS's rollback returns to the version the group ran. `launchTemplateVersion` is the newest.
 */
export class Fleet extends pulumi.ComponentResource {
  readonly groupName: pulumi.Output<string>;
  readonly launchTemplateId: pulumi.Output<string>;
  readonly launchTemplateVersion: pulumi.Output<string>;
  readonly launchTemplateArn: pulumi.Output<string>;

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:compute:Fleet", name, {}, opts);
    const { template, group } = buildFleet(this, name, args);
    this.groupName = group.name;
    this.launchTemplateId = template.id;
    this.launchTemplateVersion = template.latestVersion.apply(String);
    this.launchTemplateArn = template.arn;
    this.registerOutputs({ groupName: this.groupName, launchTemplateId: this.launchTemplateId, launchTemplateVersion: this.launchTemplateVersion, launchTemplateArn: this.launchTemplateArn });
  }
}

/**
 * The bundle as an S3 object. Binary content goes as contentBase64 (`content` is UTF-8 text and
 * diffs forever on a tarball: hashicorp/terraform issue 15594). A new bundle is a new key, so a
 * replacement; the old object is retained (retainOnDelete), because the launch template's earlier
 * versions, which a rollback boots, still fetch it.
 */
export function buildBundleObject(parent: pulumi.Resource, name: string, args: FleetArgs): aws.s3.BucketObjectv2 {
  return new aws.s3.BucketObjectv2(
    `${name}-bundle`,
    {
      bucket: args.artifactBucket,
      key: args.bundle.key,
      contentBase64: Buffer.from(args.bundle.bytes).toString("base64"),
      contentType: "application/gzip",
      // S3 checks the upload against this and refuses a body damaged on the way.
      checksumAlgorithm: "SHA256",
      tags: tagged(args.tags, args.bundle.key),
    },
    { parent, retainOnDelete: true },
  );
}

export function buildLaunchTemplate(parent: pulumi.Resource, name: string, args: FleetArgs, profile: aws.iam.InstanceProfile, bundle: aws.s3.BucketObjectv2): aws.ec2.LaunchTemplate {
  const ltName = nameOf("launchTemplate", args.nameParts, args.host.role);
  return new aws.ec2.LaunchTemplate(
    `${name}-template`,
    {
      name: ltName,
      description: `fawkes ${args.host.role} hosts`,
      imageId: args.imageId,
      instanceType: args.host.instanceType,
      userData: userDataBase64(args.userDataBytes),
      iamInstanceProfile: { arn: profile.arn },
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      networkInterfaces: [{ deviceIndex: 0, associatePublicIpAddress: "false", deleteOnTermination: "true", securityGroups: [args.securityGroupId] }],
      blockDeviceMappings: [
        {
          deviceName: ROOT_DEVICE_NAME,
          ebs: { volumeSize: ROOT_VOLUME_GIB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
        },
      ],
      tagSpecifications: [{ resourceType: "volume", tags: tagged(args.tags, ltName) }],
      // The group names its version; the default version serves nobody and stays put.
      updateDefaultVersion: false,
      tags: tagged(args.tags, ltName),
    },
    // A host boots from this template only once its bundle is in the bucket.
    { parent, dependsOn: [bundle] },
  );
}

export function buildFleet(parent: pulumi.Resource, name: string, args: FleetArgs): { template: aws.ec2.LaunchTemplate; group: aws.autoscaling.Group } {
  const profile = buildHostRole(parent, name, { role: args.host.role, grants: args.grants, ...(args.queues ? { queues: args.queues } : {}), ...(args.database ? { database: args.database } : {}), logGroups: cloudWatchLogGroups(args.host), nameParts: args.nameParts, tags: args.tags });
  const template = buildLaunchTemplate(parent, name, args, profile, buildBundleObject(parent, name, args));
  const groupName = nameOf("autoScalingGroup", args.nameParts, args.host.role);
  const behindLoadBalancer = args.targetGroupArns.length > 0;
  const group = new aws.autoscaling.Group(
    `${name}-group`,
    {
      name: groupName,
      minSize: args.host.fleet.min,
      maxSize: args.host.fleet.max,
      desiredCapacity: args.host.fleet.desired,
      vpcZoneIdentifiers: args.subnetIds,
      // A web host that fails the load balancer's health check is replaced; workers have no
      // target group, so EC2 status is all the group can see.
      healthCheckType: behindLoadBalancer ? "ELB" : "EC2",
      // rollout.bootSeconds: how long a new host has to boot before health counts.
      healthCheckGracePeriod: args.host.boot.graceSeconds,
      targetGroupArns: args.targetGroupArns,
      // An explicit version number (rollback needs one), set at creation; later versions reach the
      // group only through a refresh fawkes starts, which moves it when it succeeds.
      launchTemplate: { id: template.id, version: template.latestVersion.apply(String) },
      terminationPolicies: ["OldestLaunchTemplate", "OldestInstance"],
      tags: launchTags(tagged(args.tags, groupName)),
    },
    { parent, ignoreChanges: ["launchTemplate.version"] },
  );
  return { template, group };
}
