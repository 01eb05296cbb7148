import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

export const NFS_PORT = 2049;
/** Mode of each app's root dir on EFS: the app's user and group only. */
export const APP_DIR_MODE = "0750";

export interface SharedStorageArgs {
  vpcId: pulumi.Input<string>;
  /** One mount target per subnet: the hosts' private subnets. */
  subnetIds: pulumi.Input<string>[];
  /** The only group allowed to mount (NFS 2049). */
  hostsSecurityGroupId: pulumi.Input<string>;
  /** Apps with their unix uid (= gid): one access point each, rooted at `/<app>`. */
  apps: ReadonlyArray<{ name: string; uid: number }>;
  /** Hosts read `<parameterPrefix>/<app>/efs` (`fs-...:fsap-...`) at boot to mount `shared/`. */
  parameterPrefix: string;
  nameParts: NameParts;
  tags: Tags;
}

/**
 * EFS for the apps' `shared/` dirs: encrypted, reachable only from the hosts' security group,
 * an access point per app that forces the app's uid/gid and roots it at `/<app>`, and an SSM
 * parameter per app that tells hosts what to mount.
 */
export class SharedStorage extends pulumi.ComponentResource {
  readonly fileSystemId: pulumi.Output<string>;
  readonly fileSystemArn: pulumi.Output<string>;
  readonly accessPointIds: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: SharedStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:storage:SharedStorage", name, {}, opts);
    const { fileSystem, accessPoints } = buildSharedStorage(this, name, args);
    this.fileSystemId = fileSystem.id;
    this.fileSystemArn = fileSystem.arn;
    this.accessPointIds = Object.fromEntries(Object.entries(accessPoints).map(([app, ap]) => [app, ap.id]));
    this.registerOutputs({ fileSystemId: this.fileSystemId, fileSystemArn: this.fileSystemArn, accessPointIds: this.accessPointIds });
  }
}

export function buildSharedStorage(
  parent: pulumi.Resource,
  name: string,
  args: SharedStorageArgs,
): { fileSystem: aws.efs.FileSystem; accessPoints: Record<string, aws.efs.AccessPoint> } {
  const opts = { parent };
  const sgName = nameOf("securityGroup", args.nameParts, "efs");
  const sg = new aws.ec2.SecurityGroup(`${name}-nfs`, { name: sgName, description: "fawkes EFS: NFS from the hosts only", vpcId: args.vpcId, tags: tagged(args.tags, sgName, "efs") }, opts);
  new aws.vpc.SecurityGroupIngressRule(
    `${name}-nfs-from-hosts`,
    { securityGroupId: sg.id, referencedSecurityGroupId: args.hostsSecurityGroupId, ipProtocol: "tcp", fromPort: NFS_PORT, toPort: NFS_PORT, description: "NFS from the hosts", tags: tagged(args.tags, sgName, "efs") },
    opts,
  );

  const fsName = nameOf("tag", args.nameParts, "shared");
  const fileSystem = new aws.efs.FileSystem(
    `${name}-fs`,
    { encrypted: true, performanceMode: "generalPurpose", throughputMode: "elastic", tags: tagged(args.tags, fsName) },
    opts,
  );
  const mountTargets = args.subnetIds.map(
    (subnetId, i) => new aws.efs.MountTarget(`${name}-mount-${i}`, { fileSystemId: fileSystem.id, subnetId, securityGroups: [sg.id] }, opts),
  );

  const accessPoints: Record<string, aws.efs.AccessPoint> = {};
  for (const app of args.apps) {
    const ap = new aws.efs.AccessPoint(
      `${name}-${app.name}`,
      {
        fileSystemId: fileSystem.id,
        posixUser: { uid: app.uid, gid: app.uid },
        rootDirectory: { path: `/${app.name}`, creationInfo: { ownerUid: app.uid, ownerGid: app.uid, permissions: APP_DIR_MODE } },
        tags: tagged(args.tags, nameOf("tag", args.nameParts, "shared", app.name)),
      },
      opts,
    );
    accessPoints[app.name] = ap;
    // Published once the mount targets exist: a host that reads it can mount at once.
    new aws.ssm.Parameter(
      `${name}-${app.name}-efs`,
      { name: `${args.parameterPrefix}/${app.name}/efs`, type: "String", insecureValue: pulumi.interpolate`${fileSystem.id}:${ap.id}`, description: `EFS file system and access point of ${app.name}'s shared/`, tags: args.tags },
      { parent, dependsOn: mountTargets },
    );
  }
  return { fileSystem, accessPoints };
}
