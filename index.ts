// The Pulumi program: one stack = one environment, from Pulumi's config (the project's catalogue
// and the stack's knobs) through the same loader the CLI uses.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Environment } from "./components/index.ts";
import { ConfigError, loadFromPulumiConfig, type EnvironmentSpec } from "./src/config/index.ts";
import { planEnvironment } from "./src/model/index.ts";
import { ec2UserDataProblems, renderEnvironment } from "./src/render/index.ts";

function loadSpec(): EnvironmentSpec {
  try {
    const spec = loadFromPulumiConfig(pulumi.getProject(), pulumi.getStack(), pulumi.runtime.allConfig());
    const tooBig = ec2UserDataProblems(renderEnvironment(planEnvironment(spec)));
    if (tooBig.length > 0) throw new ConfigError(tooBig);
    return spec;
  } catch (e) {
    // A user error: Pulumi prints a RunError's message without a stack trace.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const spec = loadSpec();
const provider = new aws.Provider("aws", { region: spec.knobs.region });
const environment = new Environment(spec.project, { spec }, { providers: [provider] });

/** Per app: the URL it answers on. */
export const urls = environment.urls;
/** Per role: the Auto Scaling group's name (for `aws autoscaling describe-instance-refreshes`). */
export const fleets = environment.fleets;
export const loadBalancerDnsName = environment.loadBalancerDnsName;
