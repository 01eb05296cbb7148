// Where `fawkes run --target aws` may run: the running instances of the stack's Auto Scaling groups
// of the roles that run the app, found by the tag Auto Scaling puts on each (EC2 DescribeInstances).
// The SDK loads on first use.
import type { EC2Client } from "@aws-sdk/client-ec2";
import { awsClient } from "../aws/clients.ts";
import type { Role } from "../model/index.ts";
import { budgetName } from "../names/index.ts";
import { RunError, type RunHost } from "./plan.ts";

type Sender = { send(command: object): Promise<unknown> };

export const errorName = (e: unknown) => (e as { name?: string })?.name ?? "";
/** An SDK error as one line: its name (AccessDeniedException, ...) and message. */
export const awsMessage = (e: unknown) => `${errorName(e) && errorName(e) !== "Error" ? `${errorName(e)}: ` : ""}${(e as Error)?.message ?? String(e)}`;

/** The stack's Auto Scaling group of a role, as components/fleet.ts names it. */
export const groupNameOf = (project: string, stack: string, role: Role) => budgetName("autoScalingGroup", project, stack, role);

/** Running instances of the groups of `roles`, web first, the newest first within a role (likelier on the current release). */
export async function awsRunHosts(spec: { project: string; stack: string; knobs: { region: string } }, roles: readonly Role[]): Promise<RunHost[]> {
  const sdk = await import("@aws-sdk/client-ec2");
  const ec2 = awsClient(sdk.EC2Client, spec.knobs.region) as EC2Client as Sender;
  const hosts: Array<RunHost & { launched: number }> = [];
  for (const role of roles) {
    const group = groupNameOf(spec.project, spec.stack, role);
    let token: string | undefined;
    do {
      let page: { Reservations?: Array<{ Instances?: Array<{ InstanceId?: string; LaunchTime?: Date }> }>; NextToken?: string };
      try {
        page = (await ec2.send(
          new sdk.DescribeInstancesCommand({
            Filters: [
              { Name: "tag:aws:autoscaling:groupName", Values: [group] },
              { Name: "instance-state-name", Values: ["running"] },
            ],
            ...(token ? { NextToken: token } : {}),
          }),
        )) as typeof page;
      } catch (e) {
        throw new RunError(`finding the running instances of ${spec.stack}'s ${role} group ${group} failed: ${awsMessage(e)} (the caller needs ec2:DescribeInstances; credentials come from the SDK's default chain)`);
      }
      for (const i of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (i.InstanceId) hosts.push({ name: i.InstanceId, role, launched: i.LaunchTime?.getTime() ?? 0 });
      }
      token = page.NextToken;
    } while (token);
  }
  return hosts.sort((a, b) => roles.indexOf(a.role) - roles.indexOf(b.role) || b.launched - a.launched || a.name.localeCompare(b.name)).map(({ name, role }) => ({ name, role }));
}
