// Every stack declares the EC2 Image Builder pipeline that makes its AMI from image/recipe.yaml,
// and its hosts boot the AMI the stack file pins: the pipeline's parent is looked up, the hosts'
// image never is. A new pin is a plan that replaces every host of the stack.
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BUILD_INSTANCE_TYPES, IMAGE_BUILDER_POLICY_ARN, IMAGE_TEST_TIMEOUT_MINUTES, RECIPE_TAG, ROOT_DEVICE_NAME, ROOT_VOLUME_GIB, SSM_CORE_POLICY_ARN, TIER_TAG } from "../../components/index.ts";
import { architectureOf, type EnvironmentSpec } from "../../src/config/index.ts";
import { recipeHash } from "../../src/model/index.ts";
import { planStack } from "../../src/plan/preview.ts";
import { imageBuilderComponent } from "../../src/render/index.ts";
import { AMI, captureEnvironment, ofType, one, specOf, stacksWithoutParent, type StackGraph } from "./harness.ts";

const T = {
  component: "aws:imagebuilder/component:Component",
  recipe: "aws:imagebuilder/imageRecipe:ImageRecipe",
  infrastructure: "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration",
  distribution: "aws:imagebuilder/distributionConfiguration:DistributionConfiguration",
  pipeline: "aws:imagebuilder/imagePipeline:ImagePipeline",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  lt: "aws:ec2/launchTemplate:LaunchTemplate",
};
const id = (name: string) => `${name}-id`;

// QA stacks boot the AMI their parent's pipeline makes: they have none (cost-and-quotas.test.ts).
describe.each(stacksWithoutParent())("stack %s", (stack) => {
  let g: StackGraph;
  let hash: string;
  beforeAll(async () => {
    g = await captureEnvironment(specOf(stack));
    hash = recipeHash(g.spec.catalogue.image);
  });

  it("has one ImagePipeline component with the five Image Builder resources under it", () => {
    const component = g.resources.filter((r) => r.type === "fawkes:image:ImagePipeline");
    expect(component.map((r) => r.name)).toEqual(["fawkes-image"]);
    for (const type of [T.component, T.recipe, T.infrastructure, T.distribution, T.pipeline]) expect(ofType(g, type), type).toHaveLength(1);
  });

  it("renders the recipe as the component's document: apt, every recipe step, the marker; boot tools checked in validate and test", () => {
    const c = one(g, T.component, "fawkes-image-component").inputs;
    expect(c).toMatchObject({ platform: "Linux", version: "1.0.0", name: `fawkes-${stack}-image-${hash}` });
    expect(c.data).toBe(imageBuilderComponent(g.spec.catalogue.image, "fawkes"));
    const doc = parse(c.data) as { phases: Array<{ name: string; steps: Array<{ name: string; inputs: { commands: string[] } }> }> };
    expect(doc.phases.map((p) => p.name)).toEqual(["build", "validate", "test"]);
    const build = doc.phases[0]!.steps;
    expect(build.map((s) => s.name)).toEqual(["InstallPackages", ...g.spec.catalogue.image.steps.map((s) => s.name), "CleanAptCaches", "WriteImageMarker"]);
    expect(build[0]!.inputs.commands).toContain("apt-get update -q");
    expect(build[0]!.inputs.commands).toContain("export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8");
    for (const phase of doc.phases.slice(1)) expect(phase.steps[0]!.inputs.commands).toEqual(expect.arrayContaining(["cloud-init --version", "supervisord --version", "nginx -v"]));
  });

  it("starts from Debian's AMI, looked up by the recipe's owner and name on the stack's architecture, with an encrypted root of the hosts' size", () => {
    const parent = g.spec.catalogue.image.parentImage;
    const lookups = g.invokes.filter((i) => i.token === "aws:ec2/getAmi:getAmi");
    expect(lookups.map((l) => l.inputs)).toEqual([
      { owners: parent.owners, mostRecent: true, filters: [{ name: "name", values: [parent.namePattern] }, { name: "architecture", values: [g.spec.knobs.image!.architecture] }] },
    ]);
    const r = one(g, T.recipe, "fawkes-image-recipe").inputs;
    expect(r).toMatchObject({
      parentImage: AMI.id,
      components: [{ componentArn: expect.stringContaining("fawkes-image-component") }],
      blockDeviceMappings: [{ deviceName: ROOT_DEVICE_NAME, ebs: { volumeSize: ROOT_VOLUME_GIB, volumeType: "gp3", encrypted: "true" } }],
      systemsManagerAgent: { uninstallAfterBuild: false },
    });
    // Recipes are immutable: a new recipe hash or a new parent is a new name, so create-before-delete never clashes.
    expect(r.name).toMatch(new RegExp(`^fawkes-${stack}-image-${hash}-[0-9a-f]{6}$`));
  });

  it("builds on the knob's architecture, in a private subnet of the hosts, behind a group with no ingress, then terminates failed builds", () => {
    const arch = g.spec.knobs.image!.architecture;
    expect(arch).toBe(architectureOf(g.spec.knobs.instanceType));
    expect(one(g, T.infrastructure, "fawkes-image-infrastructure").inputs).toMatchObject({
      instanceTypes: [BUILD_INSTANCE_TYPES[arch]],
      instanceProfileName: `fawkes-${stack}-image-builder`,
      subnetId: id("fawkes-network-private-0"),
      securityGroupIds: [id("fawkes-image-sg")],
      instanceMetadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
      terminateInstanceOnFailure: true,
    });
    expect(architectureOf(BUILD_INSTANCE_TYPES[arch])).toBe(arch);
    expect(one(g, T.sg, "fawkes-image-sg").inputs.tags[TIER_TAG]).toBe("build");
    expect(ofType(g, T.ingress).filter((r) => r.inputs.securityGroupId === id("fawkes-image-sg"))).toEqual([]);
    expect(ofType(g, T.egress).filter((r) => r.inputs.securityGroupId === id("fawkes-image-sg")).map((r) => r.inputs)).toEqual([expect.objectContaining({ ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" })]);
  });

  it("gives build instances AWS's Image Builder and Session Manager policies and nothing else", () => {
    const role = `fawkes-${stack}-image-builder`;
    expect(ofType(g, T.attachment).filter((a) => a.inputs.role === role).map((a) => a.inputs.policyArn).sort()).toEqual([IMAGE_BUILDER_POLICY_ARN, SSM_CORE_POLICY_ARN].sort());
    expect(ofType(g, T.rolePolicy).filter((p) => p.inputs.role === role)).toEqual([]);
  });

  it("tags each AMI with its recipe hash and names it by project, hash and build date", () => {
    const d = one(g, T.distribution, "fawkes-image-distribution").inputs;
    expect(d.distributions).toEqual([
      expect.objectContaining({
        region: g.spec.knobs.region,
        amiDistributionConfiguration: expect.objectContaining({
          name: `fawkes-${hash}-{{imagebuilder:buildDate}}`,
          amiTags: expect.objectContaining({ [RECIPE_TAG]: hash, Project: "fawkes", "fawkes:distribution": "debian-13" }),
        }),
      }),
    ]);
  });

  it("runs only when started: no schedule, image tests on", () => {
    const p = one(g, T.pipeline, "fawkes-image-pipeline").inputs;
    expect(p.schedule).toBeUndefined();
    expect(p).toMatchObject({
      status: "ENABLED",
      imageTestsConfiguration: { imageTestsEnabled: true, timeoutMinutes: IMAGE_TEST_TIMEOUT_MINUTES },
      imageRecipeArn: expect.stringContaining("fawkes-image-recipe"),
      infrastructureConfigurationArn: expect.stringContaining("fawkes-image-infrastructure"),
      distributionConfigurationArn: expect.stringContaining("fawkes-image-distribution"),
    });
    for (const r of [T.component, T.recipe, T.infrastructure, T.distribution, T.pipeline]) expect(ofType(g, r)[0]!.inputs.tags).toMatchObject({ Project: "fawkes", Stack: stack, ManagedBy: "fawkes" });
  });
});

describe("a new pinned AMI", () => {
  const withAmi = (spec: EnvironmentSpec, ami: string): EnvironmentSpec => ({ ...spec, knobs: { ...spec.knobs, image: { ...spec.knobs.image!, ami } } });
  let before: StackGraph;
  let after: StackGraph;
  beforeAll(async () => {
    const staging = specOf("staging");
    before = await captureEnvironment(staging);
    after = await captureEnvironment(withAmi(staging, "ami-0fedcba9876543210"));
  });

  it("is what the launch templates boot, and nothing else changes", () => {
    for (const lt of ofType(after, T.lt)) expect(lt.inputs.imageId).toBe("ami-0fedcba9876543210");
    const plan = planStack("fawkes", "staging", { resources: before.resources, spec: before.spec }, { resources: after.resources, spec: after.spec });
    expect(plan.resources.map((r) => [r.type, r.name, r.action, r.changes.map((c) => c.path)])).toEqual([
      [T.lt, "fawkes-web-template", "update", ["imageId"]],
      [T.lt, "fawkes-worker-template", "update", ["imageId"]],
    ]);
  });

  it("is planned as the replacement of every host of the stack, by an instance refresh", () => {
    const plan = planStack("fawkes", "staging", { resources: before.resources, spec: before.spec }, { resources: after.resources, spec: after.spec });
    const fleet = after.spec.knobs.fleet;
    expect(plan.fleets.map((f) => [f.role, f.hosts, f.replaced, f.groupReplaced, f.reasons])).toEqual([
      ["web", fleet.web.desired, true, false, ["the pinned AMI (ami-0123456789abcdef0 → ami-0fedcba9876543210)"]],
      ["worker", fleet.worker.desired, true, false, ["the pinned AMI (ami-0123456789abcdef0 → ami-0fedcba9876543210)"]],
    ]);
    expect(plan.dangers).toEqual([]);
  });
});
