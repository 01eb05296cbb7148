// Rules on what the internet reaches: only the load balancer, only on 80/443, only valid headers.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypes, list, refersTo, TIER_TAG, tierOf, truthy, TYPES, type Props } from "./resources";

const OPEN = ["0.0.0.0/0", "::/0"];
const WEB_PORTS = [80, 443];

const EXEMPTION = `only the load balancer's security group (tagged ${TIER_TAG}=alb, on the group and its rules) may accept 0.0.0.0/0 or ::/0, and only TCP 80 and 443`;

/** Whether an open rule is the load balancer's web traffic: tcp, one port, 80 or 443, tier alb. */
function isAlbWebRule(tier: unknown, protocol: unknown, from: unknown, to: unknown): boolean {
  return tier === "alb" && ["tcp", "6"].includes(String(protocol).toLowerCase()) && Number(from) === Number(to) && WEB_PORTS.includes(Number(from));
}

function checkOpen(what: string, cidrs: unknown[], tier: unknown, protocol: unknown, from: unknown, to: unknown, report: (m: string) => void): void {
  const open = cidrs.filter((c) => typeof c === "string" && OPEN.includes(c));
  if (open.length === 0 || isAlbWebRule(tier, protocol, from, to)) return;
  report(`${what} accepts ${open.join(" and ")} on ${String(protocol)} ${String(from)}-${String(to)}; ${EXEMPTION}`);
}

export const noOpenIngress: ResourceValidationPolicy = {
  name: "no-open-ingress",
  description: `No security group accepts traffic from anywhere; ${EXEMPTION}. Egress is not restricted.`,
  enforcementLevel: "mandatory",
  validateResource: [
    forTypes([TYPES.securityGroup], (p, report) => {
      list(p.ingress).forEach((r: Props, i) =>
        checkOpen(`ingress[${i}]`, [...list(r?.cidrBlocks), ...list(r?.ipv6CidrBlocks)], tierOf(p), r?.protocol, r?.fromPort, r?.toPort, report),
      );
    }),
    forTypes([TYPES.ingressRule], (p, report) => checkOpen("the ingress rule", [p.cidrIpv4, p.cidrIpv6], tierOf(p), p.ipProtocol, p.fromPort, p.toPort, report)),
    // aws.ec2.SecurityGroupRule has no tags, so it can never be the load balancer's exemption.
    forTypes([TYPES.legacyRule], (p, report) => {
      if (p.type === "ingress") checkOpen("the security group rule (untaggable: use aws.vpc.SecurityGroupIngressRule)", [...list(p.cidrBlocks), ...list(p.ipv6CidrBlocks)], undefined, p.protocol, p.fromPort, p.toPort, report);
    }),
  ],
};

export const openIngressOnlyOnAlbGroup: StackValidationPolicy = {
  name: "open-ingress-only-on-alb-group",
  description: `An ingress rule tagged ${TIER_TAG}=alb that accepts 0.0.0.0/0 or ::/0 belongs to a security group tagged ${TIER_TAG}=alb: the tag on a rule alone grants nothing.`,
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const albGroups = args.resources.filter((r) => r.type === TYPES.securityGroup && tierOf(r.props) === "alb");
    for (const rule of args.resources.filter((r) => r.type === TYPES.ingressRule && tierOf(r.props) === "alb")) {
      if (!OPEN.includes(rule.props?.cidrIpv4) && !OPEN.includes(rule.props?.cidrIpv6)) continue;
      if (!albGroups.some((g) => refersTo(rule, "securityGroupId", g, [g.props?.id]))) {
        report(`the open ingress rule ${rule.name} is tagged ${TIER_TAG}=alb but its security group is not; ${EXEMPTION}`, rule.urn);
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
