// The load balancer's listener rules under Pulumi's mocks: AWS allows 5 condition values per rule
// (each host name of a host-header condition is one), so an app with more host names gets one rule
// per 5 of them, all forwarding to its one target group; maintenance splits the same way.
import { beforeAll, describe, expect, it } from "vitest";
import { ALB_LIMITS } from "../../src/config/aws-limits.ts";
import { captureEnvironment, ofType, one, specOf, type StackGraph } from "./harness.ts";

const RULE = "aws:lb/listenerRule:ListenerRule";
const LABELS = ["shop", "store", "buy", "cart", "pay", "checkout", "orders"];

let g: StackGraph;
let down: StackGraph;
beforeAll(async () => {
  const staging = specOf("staging");
  const apps = staging.catalogue.apps.map((a) => (a.name === "shop" ? { ...a, domains: LABELS } : a));
  const many = { ...staging, catalogue: { ...staging.catalogue, apps } };
  g = await captureEnvironment(many);
  down = await captureEnvironment({ ...many, knobs: { ...many.knobs, maintenance: ["shop"] } });
});

/** An app's rules in the order the ALB evaluates them (lowest priority first). */
const rulesOf = (graph: StackGraph, app: string) =>
  ofType(graph, RULE)
    .filter((r) => r.name === `fawkes-lb-${app}` || r.name.startsWith(`fawkes-lb-${app}.`))
    .sort((a, b) => (a.inputs.priority as number) - (b.inputs.priority as number));
const values = (r: { inputs: Record<string, unknown> }) => (r.inputs.conditions as Array<{ hostHeader: { values: string[] } }>).flatMap((c) => c.hostHeader.values);

describe("an app with more host names than one listener rule carries", () => {
  it("gets a rule per 5 names, each name in exactly one, all forwarding to its target group", () => {
    const rules = rulesOf(g, "shop");
    expect(rules.map((r) => r.name)).toEqual(["fawkes-lb-shop", "fawkes-lb-shop.1"]);
    for (const r of rules) expect(values(r).length).toBeLessThanOrEqual(ALB_LIMITS.conditionValuesPerRule);
    expect(rules.flatMap(values)).toEqual(LABELS.map((l) => `${l}.staging.fawkes.test`));
    const target = one(g, RULE, "fawkes-lb-shop").inputs.actions;
    expect(one(g, RULE, "fawkes-lb-shop.1").inputs.actions).toEqual(target);
  });

  it("never gives two rules of the listener one priority, maintenance rules included and first", () => {
    const all = ofType(down, RULE);
    const priorities = all.map((r) => r.inputs.priority as number);
    expect(new Set(priorities).size).toBe(all.length);
    const shop = rulesOf(down, "shop");
    const maintenance = shop.filter((r) => r.name.includes(".maintenance"));
    expect(maintenance.map(values).flat()).toEqual(LABELS.map((l) => `${l}.staging.fawkes.test`));
    const firstForward = Math.min(...shop.filter((r) => !r.name.includes(".maintenance")).map((r) => r.inputs.priority as number));
    for (const r of maintenance) expect(r.inputs.priority as number).toBeLessThan(firstForward);
    for (const r of all) expect(values(r).length).toBeLessThanOrEqual(ALB_LIMITS.conditionValuesPerRule);
  });
});
