// The load balancer's listener rules of a stack: what components/load-balancer.ts makes and what
// `fawkes check` counts against AWS's limits. An ALB rule carries at most 5 condition values, so an
// app with more host names gets one rule per 5 of them, all forwarding to its target group.
import { hostNameGroups } from "../config/aws-limits.ts";

export interface ListenerRulePlan {
  app: string;
  kind: "forward" | "maintenance";
  /** The rule's logical name after `<component>-`: the app's name for its first forward rule (as before host names were split). */
  key: string;
  /** ALB rules are evaluated from the lowest number: an app's maintenance rules come right before its forward rules. */
  priority: number;
  hostnames: string[];
}

/** The rules of `apps` in catalogue order; apps named in `maintenance` also get their 503 rules. */
export function listenerRules(apps: readonly { name: string; hostnames: readonly string[] }[], maintenance: readonly string[] = []): ListenerRulePlan[] {
  return apps.flatMap((app, i) => {
    const groups = hostNameGroups(app.hostnames);
    const forward = groups.map((hostnames, j): ListenerRulePlan => ({ app: app.name, kind: "forward", key: j === 0 ? app.name : `${app.name}.${j}`, priority: 10 * (i + 1) + j, hostnames }));
    if (!maintenance.includes(app.name)) return forward;
    // A "." no app name has: never the key of another app's rule.
    const down = groups.map((hostnames, j): ListenerRulePlan => ({ app: app.name, kind: "maintenance", key: j === 0 ? `${app.name}.maintenance` : `${app.name}.maintenance.${j}`, priority: 10 * (i + 1) - 5 + j, hostnames }));
    return [...down, ...forward];
  });
}

/** Rules per app before two apps' priorities would meet (forward 10i+10.., maintenance 10i+5..). */
export const RULES_PER_APP = 5;
