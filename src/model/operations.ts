// What an environment runs beside its hosts, named once for every target: each app's job queues
// and log group, each role's log group. Pure: the AWS components and the renderers both read it.
import type { EnvironmentSpec } from "../config/index.ts";
import { budgetName } from "../names/index.ts";
import type { Role } from "./role.ts";

/** Where an environment's parameters live (`/fawkes/dev`): the hosts read `<prefix>/<app>/...` at boot. */
export function parameterPrefixOf(project: string, stack: string): string {
  return `/${project}/${stack}`;
}

export interface QueuePlan {
  app: string;
  /** As the catalogue names it: `orders`. */
  name: string;
  /** SQS names of the queue and of its dead-letter queue, through the name budget. */
  queueName: string;
  deadLetterName: string;
  /** The SSM parameter that holds the queue's URL; the hosts read it at boot. */
  parameter: string;
  /** The variable the URL reaches the app as: `FAWKES_QUEUE_ORDERS_URL`. */
  envName: string;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
}

/** `orders` -> `FAWKES_QUEUE_ORDERS_URL`; the bootstrap maps names the same way (`${q^^}`, '-' -> '_'). */
export function queueEnvName(queue: string): string {
  return `FAWKES_QUEUE_${queue.toUpperCase().replace(/-/g, "_")}_URL`;
}

/** Every queue the catalogue declares, app by app, in catalogue order. */
export function queuePlans(spec: EnvironmentSpec): QueuePlan[] {
  const prefix = parameterPrefixOf(spec.project, spec.stack);
  return spec.catalogue.apps.flatMap((app) =>
    app.queues.map((q) => ({
      app: app.name,
      name: q.name,
      queueName: budgetName("sqsQueue", spec.project, spec.stack, app.name, q.name),
      deadLetterName: budgetName("sqsQueue", spec.project, spec.stack, app.name, q.name, "dlq"),
      parameter: `${prefix}/${app.name}/queues/${q.name}`,
      envName: queueEnvName(q.name),
      maxReceiveCount: q.maxReceiveCount,
      visibilityTimeoutSeconds: q.visibilityTimeoutSeconds,
    })),
  );
}

/**
 * CloudWatch log group of an app's process logs: `/fawkes/dev/apps/shop`. Apps and roles live in
 * separate branches, so an app named like a role never shares a group with it.
 */
export function appLogGroup(spec: Pick<EnvironmentSpec, "project" | "stack">, app: string): string {
  return `${parameterPrefixOf(spec.project, spec.stack)}/apps/${app}`;
}

/** CloudWatch log group of a role's system logs (cloud-init, bootstrap, supervisord; per-app nginx logs go to the app's group): `/fawkes/dev/hosts/web`. */
export function hostLogGroup(spec: Pick<EnvironmentSpec, "project" | "stack">, role: Role): string {
  return `${parameterPrefixOf(spec.project, spec.stack)}/hosts/${role}`;
}
