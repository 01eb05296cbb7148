import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { maintenancePage } from "../src/maintenance/page.ts";
import { listenerRules, type AppOnHost, type ListenerRulePlan } from "../src/model/index.ts";
import { HTTP_PORT, HTTPS_PORT } from "./firewall.ts";
import { nameOf, tagged, type NameParts, type Tags } from "./tags.ts";

/** TLS 1.3 and 1.2 only, forward-secret ciphers. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** What the load balancer needs of an app: where it listens, its names, its health check. */
export type RoutedApp = Pick<AppOnHost, "name" | "port" | "hostnames" | "health">;

export interface LoadBalancerArgs {
  vpcId: pulumi.Input<string>;
  publicSubnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  apps: readonly RoutedApp[];
  idleTimeoutSeconds: number;
  deregistrationDelaySeconds: number;
  /** With a certificate: HTTPS on 443 and 80 redirects to it. Without: plain HTTP on 80. */
  certificateArn?: string;
  /** Apps answered with a 503 maintenance page (the stack's `maintenance` knob) while their hosts keep running. */
  maintenance?: readonly string[];
  nameParts: NameParts;
  tags: Tags;
}

const notFound = [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", messageBody: "not found", statusCode: "404" } }];

/**
 * An internet-facing ALB in the public subnets: a target group per app (its nginx port, its
 * health path), a host-header rule per app, 404 for any other host name. An app in maintenance
 * gets a fixed 503 response rule just before its forward rule: its target group, hosts and
 * health checks stay as they are, so taking it out of maintenance removes one rule.
 */
export class LoadBalancer extends pulumi.ComponentResource {
  readonly dnsName: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  readonly targetGroupArns: Record<string, pulumi.Output<string>>;
  /** What CloudWatch's ApplicationELB metrics name them by (`app/...`, `targetgroup/...`). */
  readonly arnSuffix: pulumi.Output<string>;
  readonly targetGroupArnSuffixes: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fawkes:edge:LoadBalancer", name, {}, opts);
    const { alb, targetGroups } = buildLoadBalancer(this, name, args);
    this.dnsName = alb.dnsName;
    this.arn = alb.arn;
    this.targetGroupArns = Object.fromEntries(Object.entries(targetGroups).map(([app, tg]) => [app, tg.arn]));
    this.arnSuffix = alb.arnSuffix;
    this.targetGroupArnSuffixes = Object.fromEntries(Object.entries(targetGroups).map(([app, tg]) => [app, tg.arnSuffix]));
    this.registerOutputs({ dnsName: this.dnsName, arn: this.arn, targetGroupArns: this.targetGroupArns, arnSuffix: this.arnSuffix, targetGroupArnSuffixes: this.targetGroupArnSuffixes });
  }
}

export function buildTargetGroup(parent: pulumi.Resource, name: string, app: RoutedApp, args: LoadBalancerArgs): aws.lb.TargetGroup {
  const tgName = nameOf("targetGroup", args.nameParts, app.name);
  return new aws.lb.TargetGroup(
    `${name}-${app.name}`,
    {
      name: tgName,
      vpcId: args.vpcId,
      targetType: "instance",
      port: app.port,
      protocol: "HTTP",
      deregistrationDelay: args.deregistrationDelaySeconds,
      healthCheck: {
        enabled: true,
        path: app.health.path,
        port: "traffic-port",
        protocol: "HTTP",
        // The catalogue's statuses, already in the matcher's syntax ("200-399", "200,204"). The method
        // is always GET (no setting; the environment refuses HEAD), the User-Agent ELB-HealthChecker/2.0.
        matcher: app.health.statuses,
        interval: app.health.intervalSeconds,
        timeout: app.health.timeoutSeconds,
        healthyThreshold: app.health.healthyThreshold,
        unhealthyThreshold: app.health.unhealthyThreshold,
      },
      tags: tagged(args.tags, tgName),
    },
    { parent },
  );
}

export function buildLoadBalancer(parent: pulumi.Resource, name: string, args: LoadBalancerArgs): { alb: aws.lb.LoadBalancer; targetGroups: Record<string, aws.lb.TargetGroup> } {
  const opts = { parent };
  const albName = nameOf("alb", args.nameParts);
  const alb = new aws.lb.LoadBalancer(
    `${name}-alb`,
    {
      name: albName,
      loadBalancerType: "application",
      internal: false,
      subnets: args.publicSubnetIds,
      securityGroups: [args.securityGroupId],
      dropInvalidHeaderFields: true,
      idleTimeout: args.idleTimeoutSeconds,
      tags: tagged(args.tags, albName, "alb"),
    },
    opts,
  );
  const http = new aws.lb.Listener(
    `${name}-http`,
    {
      loadBalancerArn: alb.arn,
      port: HTTP_PORT,
      protocol: "HTTP",
      defaultActions: args.certificateArn
        ? [{ type: "redirect", redirect: { port: String(HTTPS_PORT), protocol: "HTTPS", statusCode: "HTTP_301" } }]
        : notFound,
      tags: args.tags,
    },
    opts,
  );
  const https = args.certificateArn
    ? new aws.lb.Listener(
        `${name}-https`,
        { loadBalancerArn: alb.arn, port: HTTPS_PORT, protocol: "HTTPS", sslPolicy: TLS_POLICY, certificateArn: args.certificateArn, defaultActions: notFound, tags: args.tags },
        opts,
      )
    : undefined;
  const routing = https ?? http;

  const targetGroups: Record<string, aws.lb.TargetGroup> = {};
  for (const app of args.apps) targetGroups[app.name] = buildTargetGroup(parent, name, app, args);
  // Rule order follows the catalogue; host names never overlap (the catalogue checks).
  for (const rule of listenerRules(args.apps, args.maintenance)) {
    if (rule.kind === "maintenance") buildMaintenanceRule(parent, `${name}-${rule.key}`, rule, routing, args);
    else {
      new aws.lb.ListenerRule(
        `${name}-${rule.key}`,
        {
          listenerArn: routing.arn,
          priority: rule.priority,
          conditions: [{ hostHeader: { values: rule.hostnames } }],
          actions: [{ type: "forward", targetGroupArn: targetGroups[rule.app]!.arn }],
          tags: args.tags,
        },
        opts,
      );
    }
  }
  return { alb, targetGroups };
}

/**
 * A rule of an app in maintenance: the same host names as its forward rule, a lower number (ALB
 * rules are evaluated from the lowest), a fixed 503 with the maintenance page.
 */
export function buildMaintenanceRule(parent: pulumi.Resource, logicalName: string, rule: ListenerRulePlan, listener: aws.lb.Listener, args: LoadBalancerArgs): aws.lb.ListenerRule {
  return new aws.lb.ListenerRule(
    logicalName,
    {
      listenerArn: listener.arn,
      priority: rule.priority,
      conditions: [{ hostHeader: { values: rule.hostnames } }],
      actions: [{ type: "fixed-response", fixedResponse: { contentType: "text/html", messageBody: maintenancePage(rule.app), statusCode: "503" } }],
      tags: args.tags,
    },
    { parent },
  );
}
