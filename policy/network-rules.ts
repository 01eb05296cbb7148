// Rules on what the internet reaches: only the load balancer, only on 80/443, only valid headers.
// "The internet" is judged by the addresses rules hold together (ingress.ts), not by their spelling:
// more public addresses than one network holds (cidr.ts' WIDEST), 0.0.0.0/0 or half of it alike.
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { blockOf, isWide, WIDEST, type Family } from "./cidr";
import { describeOpening, entryOf, inlineEntries, isAlbWeb, openings, type IngressEntry } from "./ingress";
import { forTypes, list, refersTo, TIER_TAG, tierOf, truthy, TYPES, type Props } from "./resources";

const EXEMPTION =
  `only the load balancer's security group (tagged ${TIER_TAG}=alb, on the group and its rules) may accept the internet, and only on TCP 80 and 443; ` +
  `elsewhere name the networks that need it (an office's or a VPN's blocks: at most a /${WIDEST[4]} of public IPv4 addresses and a /${WIDEST[6]} of IPv6 on a port, all its rules together), or reach the service through the load balancer`;

/** The blocks of the rules that count towards an opening: those of its families. */
const blocks = (entries: readonly IngressEntry[], families: readonly Family[]) =>
  entries.flatMap((e) => e.cidrs.filter((c) => families.includes(blockOf(c)?.family as Family))).join(", ");

function reportOpenings(entries: IngressEntry[], groupTier: unknown, report: (m: string) => void): void {
  for (const o of openings(entries).filter((x) => !isAlbWeb(x, groupTier))) {
    const who = o.entries.length === 1 ? `${o.entries[0]!.where} accepts` : `${o.entries.map((e) => e.where).join(" and ")} together accept`;
    report(`${who} ${describeOpening(o)} (${blocks(o.entries, o.families)}); ${EXEMPTION}`);
  }
}

/** A standalone rule: aws.vpc.SecurityGroupIngressRule, or aws.ec2.SecurityGroupRule of type ingress (which has no tags). */
function ruleEntry(type: string, where: string, p: Props): IngressEntry | undefined {
  if (type === TYPES.ingressRule) return entryOf(where, p.ipProtocol, p.fromPort, p.toPort, [p.cidrIpv4, p.cidrIpv6], tierOf(p));
  if (type === TYPES.legacyRule && p.type === "ingress") return entryOf(where, p.protocol, p.fromPort, p.toPort, [...list(p.cidrBlocks), ...list(p.ipv6CidrBlocks)], undefined);
  return undefined;
}

export const noOpenIngress: ResourceValidationPolicy = {
  name: "no-open-ingress",
  description: `No security group or rule accepts more public addresses than one network holds (0.0.0.0/0, ::/0, 0.0.0.0/1, or blocks that add up to more than a /${WIDEST[4]} of IPv4 or a /${WIDEST[6]} of IPv6), alone or with the group's other inline rules; ${EXEMPTION}. Egress is not restricted.`,
  enforcementLevel: "mandatory",
  validateResource: [
    forTypes([TYPES.securityGroup], (p, report) => reportOpenings(inlineEntries(p, tierOf(p)), tierOf(p), report)),
    forTypes([TYPES.ingressRule], (p, report) => reportOpenings([ruleEntry(TYPES.ingressRule, "the ingress rule", p)!], tierOf(p), report)),
    // aws.ec2.SecurityGroupRule has no tags, so it can never be the load balancer's exemption.
    forTypes([TYPES.legacyRule], (p, report) => {
      const entry = ruleEntry(TYPES.legacyRule, "the security group rule (untaggable: use aws.vpc.SecurityGroupIngressRule)", p);
      if (entry) reportOpenings([entry], undefined, report);
    }),
  ],
};

const opensAlone = (e: IngressEntry) => ([4, 6] as const).some((f) => isWide(f, e.cidrs));

export const openIngressOnlyOnAlbGroup: StackValidationPolicy = {
  name: "open-ingress-only-on-alb-group",
  description: `An ingress rule tagged ${TIER_TAG}=alb that accepts the internet (more public addresses than no-open-ingress allows) belongs to a security group tagged ${TIER_TAG}=alb: the tag on a rule alone grants nothing.`,
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const albGroups = args.resources.filter((r) => r.type === TYPES.securityGroup && tierOf(r.props) === "alb");
    for (const rule of args.resources.filter((r) => r.type === TYPES.ingressRule && tierOf(r.props) === "alb")) {
      if (!opensAlone(ruleEntry(rule.type, rule.name, rule.props ?? {})!)) continue;
      if (!albGroups.some((g) => refersTo(rule, "securityGroupId", g, [g.props?.id]))) {
        report(`the open ingress rule ${rule.name} is tagged ${TIER_TAG}=alb but its security group is not; ${EXEMPTION}`, rule.urn);
      }
    }
  },
};

/** A security group's ingress, inline and standalone; a rule on a group the stack does not declare goes with the others on that id. */
function ingressByGroup(resources: readonly PolicyResource[]): Array<{ label: string; tier: unknown; urn: string; entries: IngressEntry[]; inline: IngressEntry[] }> {
  const groups = resources.filter((r) => r.type === TYPES.securityGroup);
  const out = groups.map((g) => {
    const inline = inlineEntries(g.props ?? {}, tierOf(g.props ?? {}));
    return { label: String(g.props?.name ?? g.name), tier: tierOf(g.props ?? {}), urn: g.urn, entries: [...inline], inline };
  });
  const foreign = new Map<string, (typeof out)[number]>();
  for (const r of resources) {
    const entry = ruleEntry(r.type, r.name, r.props ?? {});
    if (!entry) continue;
    const i = groups.findIndex((g) => refersTo(r, "securityGroupId", g, [g.props?.id]));
    if (i >= 0) out[i]!.entries.push(entry);
    else {
      const id = String(r.props?.securityGroupId ?? "?");
      if (!foreign.has(id)) foreign.set(id, { label: id, tier: undefined, urn: r.urn, entries: [], inline: [] });
      foreign.get(id)!.entries.push(entry);
    }
  }
  return [...out, ...foreign.values()];
}

export const noOpenIngressAcrossRules: StackValidationPolicy = {
  name: "no-open-ingress-across-rules",
  description: `No security group accepts the internet (as no-open-ingress judges it) through several of its ingress rules (inline or standalone) together, on any protocol and port; ${EXEMPTION}. A rule open alone is no-open-ingress's.`,
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const g of ingressByGroup(args.resources)) {
      for (const o of openings(g.entries)) {
        // Inline rules alone are judged with their group by no-open-ingress.
        if (o.entries.length < 2 || o.entries.every((e) => g.inline.includes(e)) || isAlbWeb(o, g.tier)) continue;
        const through = o.entries.map((e) => `${e.where} (${blocks([e], o.families)})`).join(", ");
        report(`security group ${g.label} accepts ${describeOpening(o)} through ${through}; ${EXEMPTION}`, g.urn);
      }
    }
  },
};

export const albDropsInvalidHeaders: ResourceValidationPolicy = {
  name: "alb-drops-invalid-headers",
  description: "Application load balancers drop HTTP headers with invalid names (request smuggling, header injection).",
  enforcementLevel: "mandatory",
  validateResource: forTypes(TYPES.loadBalancers, (p, report) => {
    const application = p.loadBalancerType === undefined || p.loadBalancerType === "application";
    if (application && !truthy(p.dropInvalidHeaderFields)) report("dropInvalidHeaderFields is not true; set it so the load balancer drops headers with invalid names");
  }),
};
