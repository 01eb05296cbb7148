// Maintenance mode on AWS, under Pulumi's own mocks: an app in the stack's `maintenance` knob gets a
// fixed 503 rule before its forward rule on the routing listener; nothing else changes (no host is
// replaced, the target group and its health checks stay).
import { beforeAll, describe, expect, it } from "vitest";
import { ALB_FIXED_RESPONSE_MAX_BYTES, maintenancePage } from "../../src/maintenance/index.ts";
import { servedApps, planEnvironment } from "../../src/model/index.ts";
import { compareGraphs } from "../../src/plan/stack-graph.ts";
import { captureEnvironment, ofType, one, specOf, type StackGraph } from "./harness.ts";

const RULE = "aws:lb/listenerRule:ListenerRule";
const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const TG = "aws:lb/targetGroup:TargetGroup";

let plain: StackGraph;
let shopDown: StackGraph;
let bothDown: StackGraph;
beforeAll(async () => {
  const staging = specOf("staging");
  plain = await captureEnvironment(staging);
  shopDown = await captureEnvironment({ ...staging, knobs: { ...staging.knobs, maintenance: ["shop"] } });
  bothDown = await captureEnvironment({ ...staging, knobs: { ...staging.knobs, maintenance: ["shop", "blog"] } });
});

const maintenanceRules = (g: StackGraph) => ofType(g, RULE).filter((r) => r.name.endsWith(".maintenance"));

describe("an app in maintenance on the ALB", () => {
  it("gets a fixed 503 text/html response with its page, on its host names, before its forward rule", () => {
    expect(maintenanceRules(plain)).toEqual([]);
    expect(maintenanceRules(shopDown).map((r) => r.name)).toEqual(["fawkes-lb-shop.maintenance"]);
    const rule = one(shopDown, RULE, "fawkes-lb-shop.maintenance");
    const forward = one(shopDown, RULE, "fawkes-lb-shop");
    const shop = servedApps(planEnvironment(shopDown.spec)).find((a) => a.name === "shop")!;
    expect(rule.inputs.conditions).toEqual([{ hostHeader: { values: shop.hostnames } }]);
    expect(rule.inputs.actions).toEqual([{ type: "fixed-response", fixedResponse: { contentType: "text/html", messageBody: maintenancePage("shop"), statusCode: "503" } }]);
    expect(Buffer.byteLength(maintenancePage("shop"))).toBeLessThanOrEqual(ALB_FIXED_RESPONSE_MAX_BYTES);
    // Lower numbers are evaluated first: the 503 wins while it exists.
    expect(rule.inputs.priority as number).toBeLessThan(forward.inputs.priority as number);
    expect(rule.inputs.listenerArn).toBe(forward.inputs.listenerArn);
    expect(rule.inputs.listenerArn).toBeTruthy();
    expect(forward.inputs.actions).toEqual(one(plain, RULE, "fawkes-lb-shop").inputs.actions);
  });

  it("gives every rule of the listener its own priority, with both apps in maintenance", () => {
    const priorities = ofType(bothDown, RULE).map((r) => r.inputs.priority as number);
    expect(new Set(priorities).size).toBe(priorities.length);
    expect(maintenanceRules(bothDown).map((r) => r.name).sort()).toEqual(["fawkes-lb-blog.maintenance", "fawkes-lb-shop.maintenance"]);
    const blogRule = one(bothDown, RULE, "fawkes-lb-blog.maintenance");
    expect(blogRule.inputs.priority as number).toBeLessThan(one(bothDown, RULE, "fawkes-lb-blog").inputs.priority as number);
    expect(blogRule.inputs.priority as number).toBeGreaterThan(one(bothDown, RULE, "fawkes-lb-shop").inputs.priority as number);
  });

  it("changes nothing else: the same user-data (no host replaced), target groups and health checks", () => {
    const c = compareGraphs(plain, shopDown);
    expect(c.unexplained).toEqual([]);
    expect(c.differences.map((d) => [d.resource, d.path])).toEqual([[`${RULE}::fawkes-lb-shop.maintenance`, ""]]);
    expect(ofType(shopDown, LT).map((lt) => lt.inputs.userData)).toEqual(ofType(plain, LT).map((lt) => lt.inputs.userData));
    expect(ofType(shopDown, TG).map((tg) => tg.inputs)).toEqual(ofType(plain, TG).map((tg) => tg.inputs));
  });
});
