import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

export const NFS_PORT = 2049;

export interface SharedStorageArgs {
  vpcId: pulumi.Input<string>;
  /** One mount target per subnet: the hosts' private subnets. */
  subnetIds: pulumi.Input<string>[];
  /** The only group allowed to mount (NFS 2049). */
  hostsSecurityGroupId: pulumi.Input<string>;
  /** Apps with shared storage: each gets `/apps/<app>` on the file system, made by the first host that mounts it. */
  apps: ReadonlyArray<{ name: string; uid: number }>;
  /** Hosts read `<parameterPrefix>/<app>/efs` (`fs-...`) at boot to mount `shared/`. */
  parameterPrefix: string;
  nameParts: NameParts;
  tags: Tags;
}

/**
 * The file system's policy: no client without TLS, and mounts only through a mount target (which
 * only the hosts' security group reaches), with the root access the bootstrap needs to make each
 * app's dir. The principal is any (`*`): the hosts mount through stunnel without IAM
 * authorisation, which only the EFS mount helper (absent from Debian) performs, and EFS treats
 * such a client as anonymous; an allow naming the hosts' roles would refuse their mounts.
 */
export function fileSystemPolicy(fileSystemArn: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "NoPlainNfs", Effect: "Deny", Principal: { AWS: "*" }, Action: "*", Resource: fileSystemArn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
      {
        Sid: "MountTargetsOnly",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
        Resource: fileSystemArn,
        Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
      },
    ],
  };
}

/**
 * EFS for the apps' `shared/` dirs: encrypted, reachable only from the hosts' security group,
 * TLS required by its policy, and an SSM parameter per app that tells hosts what to mount. Hosts
 * mount `/apps/<app>` over TLS with the image's nfs-common and stunnel4 (the bootstrap's aws_shared_mount): EFS access points can be
 * mounted only by the EFS mount helper, which Debian does not package, so there are none; the
 * bootstrap makes each app's dir, owned by the app, through the file system's root.
 */
export class SharedStorage extends pulumi.ComponentResource {
  readonly fileSystemId: pulumi.Output<string>;
  readonly fileSystemArn: pulumi.Output<string>;

  constructor(name: string, args: SharedStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:storage:SharedStorage", name, {}, opts);
    const fileSystem = buildSharedStorage(this, name, args);
    this.fileSystemId = fileSystem.id;
    this.fileSystemArn = fileSystem.arn;
    this.registerOutputs({ fileSystemId: this.fileSystemId, fileSystemArn: this.fileSystemArn });
  }
}

export function buildSharedStorage(
  parent: pulumi.Resource,
  name: string,
  args: SharedStorageArgs,
): aws.efs.FileSystem {
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
  new aws.efs.FileSystemPolicy(`${name}-policy`, { fileSystemId: fileSystem.id, policy: fileSystem.arn.apply((arn) => JSON.stringify(fileSystemPolicy(arn))) }, opts);
  const mountTargets = args.subnetIds.map(
    (subnetId, i) => new aws.efs.MountTarget(`${name}-mount-${i}`, { fileSystemId: fileSystem.id, subnetId, securityGroups: [sg.id] }, opts),
  );

  for (const app of args.apps) {
    // Published once the mount targets exist: a host that reads it can mount at once.
    new aws.ssm.Parameter(
      `${name}-${app.name}-efs`,
      { name: `${args.parameterPrefix}/${app.name}/efs`, type: "String", insecureValue: fileSystem.id, description: `EFS file system of ${app.name}'s shared/ (its dir /apps/${app.name})`, tags: args.tags },
      { parent, dependsOn: mountTargets },
    );
  }
  return fileSystem;
}
