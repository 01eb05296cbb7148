// The Pulumi program: one stack = one environment, from Pulumi's config (the project's catalogue
// and the stack's knobs) through the same loader the CLI uses; or, for a management stack (knob
// console), the deploy console of the stacks it manages, read from their stack files.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeployConsole, Environment, releaseSumsInBucket } from "./components/index.ts";
import { ConfigError, loadFromPulumiConfig, loadStack, type EnvironmentSpec } from "./src/config/index.ts";

/** A user error (bad config, user-data over EC2's limit, a release sum missing): Pulumi prints a RunError without a stack trace. */
async function userErrors<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const spec: EnvironmentSpec = await userErrors(() => loadFromPulumiConfig(pulumi.getProject(), pulumi.getStack(), pulumi.runtime.allConfig(), process.cwd()));
const provider = new aws.Provider("aws", { region: spec.knobs.region });
const management = spec.knobs.console;
// A management stack runs no apps: the console of the stacks it manages, each read as the CLI reads it.
const deployConsole = management
  ? await userErrors(() => new DeployConsole(spec.project, { spec, managed: management.manages.map((s) => loadStack(process.cwd(), s)) }, { providers: [provider] }))
  : undefined;
// Read from the artifact bucket once, at this deploy: the hosts' bundle pins them, and a host
// refuses a release whose tarball (or the store's .sha256) changed since.
const releaseSums = management ? {} : await userErrors(() => releaseSumsInBucket(spec, { provider }));
const environment = management ? undefined : await userErrors(() => new Environment(spec.project, { spec, releaseSums }, { providers: [provider] }));

/** Per app: the URL it answers on. */
export const urls = environment?.urls;
/** Per role: the Auto Scaling group's name (for `aws autoscaling describe-instance-refreshes`). */
export const fleets = environment?.fleets;
/** Per role: launch template id, its newest version and the group: what `fawkes release --target aws` refreshes (and a management stack's console may). */
export const launchTemplates = environment?.launchTemplates;
export const loadBalancerDnsName = environment?.loadBalancerDnsName ?? deployConsole?.loadBalancerDnsName;
/** The VPC and subnets (and region) of a stack with a network of its own: its QA stacks' parent reads them. */
export const network = environment?.network;
/** The database server (endpoint, master secret's ARN, security group) QA stacks with database.shareParentServer use. */
export const database = environment?.database;
/** A management stack's deploy console: its URL, its load balancer (whose signed header it accepts) and its host's role. */
const consoleOutput = deployConsole && { url: deployConsole.url, loadBalancerArn: deployConsole.loadBalancerArn, roleArn: deployConsole.roleArn };
// Exported as `console` (pulumi stack output console) without shadowing the global in this module.
export { consoleOutput as console };
