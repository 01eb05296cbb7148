import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Architecture, ImageRecipe } from "../src/config/index.ts";
import { recipeHash } from "../src/model/index.ts";
import { shortHash } from "../src/names/index.ts";
import { imageBuilderComponent } from "../src/render/index.ts";
import { ROOT_DEVICE_NAME, ROOT_VOLUME_GIB } from "./fleet.ts";
import { EC2_ASSUME_ROLE_POLICY, SSM_CORE_POLICY_ARN } from "./host-role.ts";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

/** What an Image Builder build instance needs: AWSTOE's components and logs. */
export const IMAGE_BUILDER_POLICY_ARN = "arn:aws:iam::aws:policy/EC2InstanceProfileForImageBuilder";

/** The build instance of each architecture: the image's CPU, with room for apt and dpkg. */
export const BUILD_INSTANCE_TYPES: Readonly<Record<Architecture, string>> = { x86_64: "m6i.large", arm64: "m7g.large" };

/** The tag that says which recipe an AMI was built from; `fawkes image list` and the knob's `recipe` read the same hash. */
export const RECIPE_TAG = "fawkes:recipe";

/** Image tests boot the new AMI and run the component's test phase: an hour is plenty for version checks. */
export const IMAGE_TEST_TIMEOUT_MINUTES = 60;

export interface ImagePipelineArgs {
  /** The project's image recipe (image/recipe.yaml): the same packages and steps as the local golden image. */
  recipe: ImageRecipe;
  /** The stack's knob image.architecture (or its instance type's): the parent image's and the build instance's CPU. */
  architecture: Architecture;
  /** Where the AMI is made and distributed: the stack's region. */
  region: string;
  /** A private subnet of the hosts: builds reach Debian's mirrors, SSM and S3 through the NAT, like hosts. */
  subnetId: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  nameParts: NameParts;
  tags: Tags;
}

/**
 * The AWS half of the image recipe: an EC2 Image Builder pipeline that makes the stack's AMI from
 * Debian's official image with the recipe's packages and steps, tests it by booting it, and tags it
 * with the recipe hash. It has no schedule: someone starts it, then pins its AMI in the stack file
 * (knob image), so a new image reaches hosts only as a previewed change.
 */
export class ImagePipeline extends pulumi.ComponentResource {
  readonly pipelineArn: pulumi.Output<string>;
  /** The recipe hash every AMI of this pipeline carries in its `fawkes:recipe` tag. */
  readonly recipeHash: string;
  /** The Debian AMI builds start from, as found now by owner and name. */
  readonly parentImageId: pulumi.Output<string>;

  constructor(name: string, args: ImagePipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:image:ImagePipeline", name, {}, opts);
    const built = buildImagePipeline(this, name, args);
    this.pipelineArn = built.pipeline.arn;
    this.recipeHash = recipeHash(args.recipe);
    this.parentImageId = built.parentImageId;
    this.registerOutputs({ pipelineArn: this.pipelineArn, recipeHash: this.recipeHash, parentImageId: this.parentImageId });
  }
}

/** The role of the build and test instances: Image Builder's and Session Manager's managed policies, nothing else. */
export function buildBuilderProfile(parent: pulumi.Resource, name: string, args: Pick<ImagePipelineArgs, "nameParts" | "tags">): aws.iam.InstanceProfile {
  const opts = { parent };
  const roleName = nameOf("iamRole", args.nameParts, "image-builder");
  const role = new aws.iam.Role(`${name}-role`, { name: roleName, assumeRolePolicy: EC2_ASSUME_ROLE_POLICY, description: "fawkes image builds", tags: tagged(args.tags, roleName) }, opts);
  new aws.iam.RolePolicyAttachment(`${name}-builder`, { role: role.name, policyArn: IMAGE_BUILDER_POLICY_ARN }, opts);
  new aws.iam.RolePolicyAttachment(`${name}-ssm`, { role: role.name, policyArn: SSM_CORE_POLICY_ARN }, opts);
  const profileName = nameOf("iamInstanceProfile", args.nameParts, "image-builder");
  return new aws.iam.InstanceProfile(`${name}-profile`, { name: profileName, role: role.name, tags: tagged(args.tags, profileName) }, opts);
}

/** The build instances' security group: nothing comes in; out they reach the mirrors, SSM and S3. */
export function buildBuilderSecurityGroup(parent: pulumi.Resource, name: string, args: Pick<ImagePipelineArgs, "vpcId" | "nameParts" | "tags">): aws.ec2.SecurityGroup {
  const opts = { parent };
  const sgName = nameOf("securityGroup", args.nameParts, "image-builder");
  const group = new aws.ec2.SecurityGroup(`${name}-sg`, { name: sgName, description: "fawkes image builds: no ingress; out to Debian's mirrors, SSM and S3", vpcId: args.vpcId, tags: tagged(args.tags, sgName, "build") }, opts);
  new aws.vpc.SecurityGroupEgressRule(
    `${name}-out`,
    { securityGroupId: group.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "Debian's mirrors, SSM and S3 through the NAT", tags: tagged(args.tags, nameOf("tag", args.nameParts, "image-builder"), "build") },
    opts,
  );
  return group;
}

export function buildImagePipeline(parent: pulumi.Resource, name: string, args: ImagePipelineArgs): { pipeline: aws.imagebuilder.ImagePipeline; parentImageId: pulumi.Output<string> } {
  const opts = { parent };
  const [project = "fawkes"] = args.nameParts;
  const hash = recipeHash(args.recipe);
  const named = (...rest: string[]) => nameOf("imageBuilder", args.nameParts, ...rest);
  const profile = buildBuilderProfile(parent, name, args);
  const group = buildBuilderSecurityGroup(parent, name, args);

  // The component is immutable: a new recipe is a new component, under a new name (its hash).
  const component = new aws.imagebuilder.Component(
    `${name}-component`,
    { name: named("image", hash), platform: "Linux", version: "1.0.0", description: `fawkes image recipe ${hash}`, data: imageBuilderComponent(args.recipe, project), tags: tagged(args.tags, named("image", hash)) },
    opts,
  );
  // Looking up the newest parent is safe here: only a started build uses it, and its AMI is pinned by hand.
  const parentImage = aws.ec2.getAmiOutput(
    { owners: [...args.recipe.parentImage.owners], mostRecent: true, filters: [{ name: "name", values: [args.recipe.parentImage.namePattern] }, { name: "architecture", values: [args.architecture] }] },
    { parent },
  );
  // A recipe is immutable too, and a replacement is created before the old one goes: its name
  // carries the recipe hash and the parent it starts from, so the two never clash.
  const recipeName = parentImage.id.apply((id) => named("image", hash, shortHash(id)));
  const recipe = new aws.imagebuilder.ImageRecipe(
    `${name}-recipe`,
    {
      name: recipeName,
      version: "1.0.0",
      description: `fawkes image recipe ${hash} (${args.recipe.distribution}) over Debian's official AMI`,
      parentImage: parentImage.id,
      components: [{ componentArn: component.arn }],
      blockDeviceMappings: [{ deviceName: ROOT_DEVICE_NAME, ebs: { volumeSize: ROOT_VOLUME_GIB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
      // Kept: hosts are reached through Session Manager, never SSH (Debian's AMIs do not carry the agent).
      systemsManagerAgent: { uninstallAfterBuild: false },
      tags: recipeName.apply((n) => tagged(args.tags, n)),
    },
    opts,
  );
  const infrastructureName = named("image-builder");
  const infrastructure = new aws.imagebuilder.InfrastructureConfiguration(
    `${name}-infrastructure`,
    {
      name: infrastructureName,
      description: `fawkes image builds on ${args.architecture}, in a private subnet of the hosts`,
      instanceProfileName: profile.name,
      instanceTypes: [BUILD_INSTANCE_TYPES[args.architecture]],
      subnetId: args.subnetId,
      securityGroupIds: [group.id],
      instanceMetadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
      // A failed build leaves no instance running (and billing) behind.
      terminateInstanceOnFailure: true,
      resourceTags: args.tags,
      tags: tagged(args.tags, infrastructureName),
    },
    opts,
  );
  const amiName = `${nameOf("amiName", [project], hash)}-{{imagebuilder:buildDate}}`;
  const distributionName = named("image");
  const distribution = new aws.imagebuilder.DistributionConfiguration(
    `${name}-distribution`,
    {
      name: distributionName,
      description: `The AMI of image recipe ${hash}, tagged ${RECIPE_TAG}`,
      distributions: [
        {
          region: args.region,
          amiDistributionConfiguration: {
            name: amiName,
            description: `fawkes image recipe ${hash} (${args.recipe.distribution}); pin it as the knob image of a stack`,
            amiTags: { ...args.tags, [RECIPE_TAG]: hash, "fawkes:distribution": args.recipe.distribution },
          },
        },
      ],
      tags: tagged(args.tags, distributionName),
    },
    opts,
  );
  const pipelineName = named("image");
  const pipeline = new aws.imagebuilder.ImagePipeline(
    `${name}-pipeline`,
    {
      name: pipelineName,
      description: "fawkes image builds, on demand (no schedule): start it, then pin its AMI in the stack file",
      imageRecipeArn: recipe.arn,
      infrastructureConfigurationArn: infrastructure.arn,
      distributionConfigurationArn: distribution.arn,
      imageTestsConfiguration: { imageTestsEnabled: true, timeoutMinutes: IMAGE_TEST_TIMEOUT_MINUTES },
      status: "ENABLED",
      tags: tagged(args.tags, pipelineName),
    },
    opts,
  );
  return { pipeline, parentImageId: parentImage.id };
}
