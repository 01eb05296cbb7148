// What AWS would refuse of a stack that loads and plans: the names fawkes makes from the project
// and stack (src/names/aws-rules.ts) and the listener rules its apps need (src/config/aws-limits.ts).
import { ALB_LIMITS } from "../config/aws-limits.ts";
import { PROJECT_FILE, type App, type EnvironmentSpec, type Problem } from "../config/index.ts";
import { listenerRules, RULES_PER_APP, servedApps, type EnvironmentPlan } from "../model/index.ts";
import { budgetName } from "../names/budget.ts";
import { s3BucketNameProblem, securityGroupNameProblem, ssmParameterNameProblem } from "../names/aws-rules.ts";

/** Problems of one stack, `file` being its stack file. */
export function awsLimitProblems(spec: EnvironmentSpec, plan: EnvironmentPlan, file: string): Problem[] {
  const problems: Problem[] = [];
  const host = plan.hosts[0];
  if (host) {
    const bucket = s3BucketNameProblem(host.stores.artifactBucket);
    if (bucket) problems.push({ file, path: `config.${spec.project}:accountId`, message: `the artifact bucket: ${bucket}`, hint: `it is made of the project name ("${spec.project}" in ${PROJECT_FILE}), the stack, "artifacts", accountId and region` });
    const ssm = ssmParameterNameProblem(`${host.stores.parameterPrefix}/x`);
    if (ssm) problems.push({ file: PROJECT_FILE, path: "name", message: `the stack's parameters under ${host.stores.parameterPrefix}: ${ssm}` });
  }
  // Every security group of a stack is named <project>-<stack>-<tier>: the first part decides.
  const group = securityGroupNameProblem(budgetName("securityGroup", spec.project, spec.stack, "web"));
  if (group) problems.push({ file: PROJECT_FILE, path: "name", message: `the stack's security groups: ${group}` });

  const apps = spec.catalogue.apps;
  const routed = servedApps(plan);
  for (const app of routed) {
    const rules = listenerRules([app]).length;
    if (rules > RULES_PER_APP) {
      const i = apps.findIndex((a) => a.name === app.name);
      problems.push({
        file: PROJECT_FILE,
        path: `config.catalogue.value.apps[${i}].domains`,
        message: `app ${app.name} has ${app.hostnames.length} host names: the load balancer routes at most ${ALB_LIMITS.conditionValuesPerRule} per rule (an AWS limit) and fawkes gives an app ${RULES_PER_APP} rules, so at most ${RULES_PER_APP * ALB_LIMITS.conditionValuesPerRule} host names`,
        hint: "serve the other names from another app, or redirect them to one of its names",
      });
    }
  }
  const all = listenerRules(routed, spec.knobs.maintenance).length;
  if (all > ALB_LIMITS.rulesPerLoadBalancer) {
    problems.push({
      file,
      path: "config.fawkes:maintenance",
      message: `the load balancer would need ${all} listener rules (one per ${ALB_LIMITS.conditionValuesPerRule} host names of each app, twice for apps in maintenance); AWS allows ${ALB_LIMITS.rulesPerLoadBalancer} per load balancer by default`,
      hint: "fewer host names per app, fewer apps in maintenance at once, or a raised 'Rules per Application Load Balancer' quota",
    });
  }
  return problems;
}

/**
 * What an ALB's health check cannot do of an app's `health`: its target group has no method
 * setting and always sends GET. A stack that asks HEAD runs on the local target only; on AWS it is
 * refused (`check --target aws`, `pulumi up`) rather than checked by another method than locally.
 */
export function albHealthProblems(apps: readonly Pick<App, "name" | "health">[]): Problem[] {
  return apps.flatMap((app, i) =>
    app.health.method === "GET"
      ? []
      : [{
          file: PROJECT_FILE,
          path: `config.catalogue.value.apps[${i}].health.method`,
          message: `is ${app.health.method}, but the ALB's health check always sends GET (a target group has no method setting): app ${app.name} would be checked one way locally and another on AWS`,
          hint: "use GET (the default) for a stack that runs on AWS; HEAD works on the local target only",
        }],
  );
}
