// The comparison at the heart of `fawkes plan`, on resources built by hand: what is a
// replacement, what is a danger, when a fleet is replaced, what a removed stack means.
import { describe, expect, it } from "vitest";
import { formatMarkdown, formatText } from "../../src/plan/format.ts";
import { planStack } from "../../src/plan/preview.ts";
import type { CapturedResource, Props } from "../../src/plan/program.ts";
import type { PlanResult } from "../../src/plan/run.ts";

const r = (type: string, name: string, inputs: Props, id = `${name}-id`): CapturedResource => ({ type, name, urn: `urn:${name}`, id, inputs, state: inputs, custom: true });
const TG = "aws:lb/targetGroup:TargetGroup";
const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const ASG = "aws:autoscaling/group:Group";
const fleet = (lt: Props) => [r(LT, "acme-web-template", lt, "lt-1"), r(ASG, "acme-web-group", { name: "acme-dev-web", desiredCapacity: 2, launchTemplate: { id: "lt-1", version: "1" } })];

describe("planStack", () => {
  it("calls a change of a field AWS cannot update a replacement, and a target group's a load-balancer danger", () => {
    const plan = planStack("acme", "dev", { resources: [r(TG, "acme-lb-blog", { name: "acme-dev-blog", port: 8002 })] }, { resources: [r(TG, "acme-lb-blog", { name: "acme-dev-blog", port: 8003 })] });
    expect(plan.resources).toEqual([{ type: TG, name: "acme-lb-blog", action: "replace", changes: [{ path: "port", before: 8002, after: 8003 }], replacedBy: ["port"] }]);
    expect(plan.dangers.map((d) => d.kind)).toEqual(["load-balancer"]);
  });

  it("updates in place what AWS can change, with no danger", () => {
    const plan = planStack("acme", "dev", { resources: [r(TG, "acme-lb-blog", { name: "acme-dev-blog", deregistrationDelay: 30 })] }, { resources: [r(TG, "acme-lb-blog", { name: "acme-dev-blog", deregistrationDelay: 60 })] });
    expect(plan.resources[0]!.action).toBe("update");
    expect(plan.dangers).toEqual([]);
  });

  it("replaces a fleet for a new launch-template version, not for its tags", () => {
    const tagsOnly = planStack("acme", "dev", { resources: fleet({ instanceType: "t3.small", tags: { a: "1" } }) }, { resources: fleet({ instanceType: "t3.small", tags: { a: "2" } }) });
    expect(tagsOnly.resources.map((c) => c.action)).toEqual(["update"]);
    expect(tagsOnly.fleets).toEqual([]);
    const bigger = planStack("acme", "dev", { resources: fleet({ instanceType: "t3.small" }) }, { resources: fleet({ instanceType: "t3.large" }) });
    expect(bigger.fleets).toMatchObject([{ role: "web", group: "acme-dev-web", hosts: 2, replaced: true, reasons: ["instanceType"], groupReplaced: false }]);
  });

  it("shows a new pinned AMI as the replacement of every host of the stack, naming both AMIs", () => {
    const pinned = (ami: string) => [...fleet({ imageId: ami, instanceType: "t3.small" }), r(LT, "acme-worker-template", { imageId: ami }, "lt-2"), r(ASG, "acme-worker-group", { name: "acme-dev-worker", desiredCapacity: 1, launchTemplate: { id: "lt-2", version: "1" } })];
    const plan = planStack("acme", "dev", { resources: pinned("ami-0123456789abcdef0") }, { resources: pinned("ami-0fedcba9876543210") });
    expect(plan.resources.map((c) => [c.name, c.action])).toEqual([["acme-web-template", "update"], ["acme-worker-template", "update"]]);
    const reason = "the pinned AMI (ami-0123456789abcdef0 → ami-0fedcba9876543210)";
    expect(plan.fleets).toMatchObject([
      { role: "web", hosts: 2, replaced: true, groupReplaced: false, reasons: [reason] },
      { role: "worker", hosts: 1, replaced: true, groupReplaced: false, reasons: [reason] },
    ]);
    const result: PlanResult = { base: { ref: "main", commit: "0".repeat(40) }, head: { uncommitted: true }, reference: "production", stacks: [plan] };
    const text = formatText(result);
    expect(text).toContain(`fleet web (acme-dev-web): its 2 hosts are replaced by an instance refresh`);
    expect(text).toContain(`because ${reason} changed`);
    expect(text).toContain('imageId: "ami-0123456789abcdef0" -> "ami-0fedcba9876543210"');
    expect(formatMarkdown(result)).toContain("| dev | 0 | 2 | 0 | 0 | 0 | web 2, worker 1 | none |");
  });

  it("says a removed stack file destroys nothing", () => {
    const plan = planStack("acme", "old", { resources: [r(TG, "acme-lb-blog", { name: "x" })] }, {});
    expect(plan).toMatchObject({ status: "removed", resources: [], dangers: [] });
  });

  it("keeps Markdown characters and placeholders of messages visible in the comment", () => {
    const result: PlanResult = {
      base: { ref: "main", commit: "0".repeat(40) },
      head: { uncommitted: false },
      reference: "production",
      stacks: [{ stack: "dev", status: "changed", resources: [], files: [], fleets: [], dangers: [{ kind: "stack-difference", message: "dev and production differ at <stack> s3:::b/* and c_*_d" }] }],
    };
    const md = formatMarkdown(result);
    expect(md).toContain("&lt;stack&gt;");
    expect(md).toContain("b/&#42; and c&#95;&#42;&#95;d");
  });
});
