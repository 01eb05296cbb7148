// The Auto Scaling calls a release makes, and nothing more: a thin edge over the SDK's client, so
// the refresh driver is tested against SDK mock sequences (aws-sdk-client-mock) of this very code.
import {
  ActiveInstanceRefreshNotFoundFault,
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  InstanceRefreshInProgressFault,
  RollbackInstanceRefreshCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { REFRESH_STATUSES, type RefreshStatus, type RefreshView, type StartRefreshInput } from "../model/index.ts";

/** A group as a release needs it: its size, the launch-template version it runs, its instances. */
export interface GroupView {
  name: string;
  desired: number;
  launchTemplateId?: string;
  /** The version the group launches: a number when fawkes made the group. */
  version?: string;
  instanceIds: string[];
}

/** Another refresh holds the group (StartInstanceRefresh's InstanceRefreshInProgress). */
export class RefreshBusyError extends Error {}

export interface FleetApi {
  group(name: string): Promise<GroupView>;
  /** The group's refreshes, newest first; with `id`, that one only. */
  refreshes(name: string, id?: string): Promise<RefreshView[]>;
  /** Starts a refresh; its id. Throws RefreshBusyError while another runs. */
  start(input: StartRefreshInput): Promise<string>;
  /** Asks AWS to roll back the group's running refresh; a refresh that already ended is left as it ended. */
  rollback(name: string): Promise<void>;
  /** Points a group with no instance at a version: nothing to replace, the next host launches it. */
  pin(name: string, launchTemplateId: string, version: string): Promise<void>;
}

function statusOf(s: string | undefined): RefreshStatus {
  if (s !== undefined && (REFRESH_STATUSES as readonly string[]).includes(s)) return s as RefreshStatus;
  throw new Error(`Auto Scaling reported an instance refresh status fawkes does not know: ${String(s)} (known: ${REFRESH_STATUSES.join(", ")})`);
}

export function autoScalingFleet(client: AutoScalingClient): FleetApi {
  return {
    async group(name) {
      const r = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
      const g = r.AutoScalingGroups?.[0];
      if (!g) throw new Error(`no auto scaling group ${name} in this account and region; is the stack up (pulumi up)?`);
      const lt = g.LaunchTemplate;
      return {
        name,
        desired: g.DesiredCapacity ?? 0,
        ...(lt?.LaunchTemplateId !== undefined ? { launchTemplateId: lt.LaunchTemplateId } : {}),
        ...(lt?.Version !== undefined ? { version: lt.Version } : {}),
        instanceIds: (g.Instances ?? []).flatMap((i) => (i.InstanceId ? [i.InstanceId] : [])),
      };
    },
    async refreshes(name, id) {
      const r = await client.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: name, ...(id !== undefined ? { InstanceRefreshIds: [id] } : {}) }));
      return (r.InstanceRefreshes ?? []).map((x) => ({
        id: x.InstanceRefreshId ?? "",
        status: statusOf(x.Status),
        ...(x.PercentageComplete !== undefined ? { percentageComplete: x.PercentageComplete } : {}),
        ...(x.StatusReason ? { statusReason: x.StatusReason } : {}),
      }));
    },
    async start(input) {
      try {
        const r = await client.send(new StartInstanceRefreshCommand(input));
        if (!r.InstanceRefreshId) throw new Error(`StartInstanceRefresh on ${input.AutoScalingGroupName} answered without a refresh id`);
        return r.InstanceRefreshId;
      } catch (e) {
        if (e instanceof InstanceRefreshInProgressFault || (e as Error).name === "InstanceRefreshInProgressFault") throw new RefreshBusyError(`${input.AutoScalingGroupName}: ${(e as Error).message}`);
        throw e;
      }
    },
    async rollback(name) {
      try {
        await client.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: name }));
      } catch (e) {
        // Ended between the poll and the call: the next poll reads how.
        if (e instanceof ActiveInstanceRefreshNotFoundFault || (e as Error).name === "ActiveInstanceRefreshNotFoundFault") return;
        throw e;
      }
    },
    async pin(name, launchTemplateId, version) {
      await client.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: version } }));
    },
  };
}
