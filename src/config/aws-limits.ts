// Limits AWS enforces on what a stack asks for, beside the names (src/names/aws-rules.ts): the
// figures with where AWS states them, so `fawkes check` refuses what AWS would refuse mid-deploy.

/**
 * Application Load Balancer rules ("Quotas for your Application Load Balancers", Rules): 5
 * condition values per rule (each host name of a host-header condition is one; not adjustable),
 * 100 rules per load balancer excluding the default rules (adjustable, this is the default).
 */
export const ALB_LIMITS = { conditionValuesPerRule: 5, rulesPerLoadBalancer: 100 } as const;

/**
 * Auto Scaling instance refresh and instance maintenance policy (RefreshPreferences,
 * InstanceMaintenancePolicy): MinHealthyPercentage 0-100, MaxHealthyPercentage 100-200, and the
 * difference between them no greater than 100.
 */
export const HEALTHY_PERCENT_LIMITS = { min: [0, 100], max: [100, 200], maxSpread: 100 } as const;

/** Host names split into the groups one listener rule each can carry. */
export function hostNameGroups(hostnames: readonly string[]): string[][] {
  const groups: string[][] = [];
  for (let i = 0; i < hostnames.length; i += ALB_LIMITS.conditionValuesPerRule) groups.push(hostnames.slice(i, i + ALB_LIMITS.conditionValuesPerRule));
  return groups;
}
