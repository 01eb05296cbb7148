import { z } from "zod";
import { reservedAppNameProblem } from "../names/index.ts";
import { appLayoutIssues, EnvValue, programName } from "./app-rules.ts";
import { HealthSchema } from "./health.ts";
import { AppName, BodySize, CommandLine, DnsLabel, EnvName, ProcessName, RelativePath, Seconds, UrlPrefix } from "./primitives.ts";

export { HealthSchema } from "./health.ts";

export const ProcessSchema = z
  .strictObject({
    wsgi: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*(\(\))?$/, "must be a WSGI entry point \"module:callable\", like \"shop.wsgi:application\"")
      .optional()
      .describe("WSGI entry point served by gunicorn behind nginx."),
    command: CommandLine.optional().describe("Command run from the release dir with the app's venv first on PATH."),
    role: z.enum(["web", "worker"]).optional().describe("Host role that runs it; default web for wsgi, worker for command."),
    workers: z.number().int().min(1).max(64).optional().describe("gunicorn workers; default 2 x vCPU + 1 of the instance type."),
  })
  .superRefine((p, ctx) => {
    if ((p.wsgi === undefined) === (p.command === undefined)) {
      ctx.addIssue({ code: "custom", message: "needs exactly one of \"wsgi\" (a web process) or \"command\" (anything else)" });
    }
    if (p.wsgi !== undefined && p.role === "worker") {
      ctx.addIssue({ code: "custom", path: ["role"], message: "a wsgi process is served by nginx and runs on web hosts; use \"command\" for a worker" });
    }
    if (p.workers !== undefined && p.wsgi === undefined) {
      ctx.addIssue({ code: "custom", path: ["workers"], message: "only a wsgi process has gunicorn workers" });
    }
  })
  .transform((p) => ({ ...p, role: p.role ?? (p.wsgi !== undefined ? ("web" as const) : ("worker" as const)) }));
export type Process = z.infer<typeof ProcessSchema>;

/** A queue's name: part of its SQS name (`<project>-<stack>-<app>-<queue>`) and of an env var. */
export const QueueName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,23}$/, "must be 1-24 characters of a-z, 0-9 and '-', starting with a letter (it becomes part of the SQS queue's name and of FAWKES_QUEUE_<NAME>_URL)")
  .refine((n) => !n.endsWith("-") && !n.endsWith("-dlq"), "must not end in '-' or \"-dlq\" (the dead-letter queue of a queue is named <queue>-dlq)");

const QueueObjectSchema = z.strictObject({
  name: QueueName,
  maxReceiveCount: z.number().int().min(1).max(1000).default(5).describe("Receives before a message moves to the dead-letter queue."),
  visibilityTimeoutSeconds: Seconds(0, 43200).default(30).describe("How long a received message stays hidden from other consumers: above the longest job."),
});

/** `emails` or `{ name: emails, maxReceiveCount: 10 }`: a queue of the app, with a dead-letter queue, on AWS an SQS queue. */
export const QueueSchema = z.preprocess((v) => (typeof v === "string" ? { name: v } : v), QueueObjectSchema);
export type Queue = z.infer<typeof QueueSchema>;

/** Whose workflows may assume an environment's deployer role through GitHub's OIDC provider. */
export const GitHubSchema = z.strictObject({
  repository: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, "must be a GitHub repository \"owner/name\", like \"acme/fawkes\"")
    .describe("owner/name; its workflows running in the GitHub environment <project>-<stack> may assume that stack's deployer role."),
});
export type GitHub = z.infer<typeof GitHubSchema>;

/** The secret holding an app's database password: added to the secrets of every app with `database: true`. */
export const DATABASE_PASSWORD = "DATABASE_PASSWORD";
/** Names fawkes gives an app with a database: its password (a secret) and the URL built from it at boot. */
export const DATABASE_RESERVED: readonly string[] = [DATABASE_PASSWORD, "DATABASE_URL"];

export const AppSchema = z
  .strictObject({
    name: AppName,
    source: RelativePath.describe("The app's source dir, relative to the project root."),
    processes: z.record(ProcessName, ProcessSchema).describe("Named processes: web (wsgi) and workers (command)."),
    health: HealthSchema.default(HealthSchema.parse({})),
    static: z
      .strictObject({ url: UrlPrefix.default("/static/"), dir: RelativePath.default("static") })
      .optional()
      .describe("Static files inside the release, served by nginx."),
    media: z
      .strictObject({ url: UrlPrefix.default("/media/"), dir: RelativePath.default("media") })
      .optional()
      .describe("User uploads inside shared/, served by nginx."),
    shared: z.array(RelativePath).default([]).describe("Dirs kept in shared/ (shared storage) and linked into every release."),
    hooks: z
      .strictObject({
        build: z.array(CommandLine).default([]).describe("Run by `fawkes build` in the release dir; their output ships in the artifact (collectstatic)."),
        release: z.array(CommandLine).default([]).describe("Run once per release, under a lock, before traffic moves (migrate)."),
      })
      .default({ build: [], release: [] }),
    secrets: z.array(EnvName).default([]).describe("Names of secrets given to the app's environment; values never enter config."),
    database: z
      .boolean()
      .default(false)
      .describe(`The app's own PostgreSQL database and role on the environment's database server, created by a release hook; DATABASE_URL in its environment, its password the secret ${DATABASE_PASSWORD}.`),
    env: z.record(EnvName, EnvValue).default({}).describe("Plain, non-secret environment variables."),
    queues: z
      .array(QueueSchema)
      .default([])
      .describe("Job queues of the app (on AWS: SQS with a dead-letter queue); each one's URL reaches the app as FAWKES_QUEUE_<NAME>_URL."),
    domains: z.array(DnsLabel).min(1).optional().describe("Labels in front of the stack's domain; default the app's name."),
    uid: z.number().int().min(1000).max(59999).optional().describe("Unix uid and gid of the app's user; default derived from its name."),
    port: z.number().int().min(1024).max(32767).optional().describe("nginx port the load balancer sends this app's traffic to."),
    bootSeconds: Seconds(1, 300).default(5).describe("How long a process must stay up to count as started (supervisord startsecs)."),
    requestTimeoutSeconds: Seconds(5, 3600).default(30),
    maxBodySize: BodySize.default("10m").describe("nginx's client_max_body_size: the largest request body, at most 1024m."),
  })
  .superRefine((app, ctx) => {
    if (Object.keys(app.processes).length === 0) {
      ctx.addIssue({ code: "custom", path: ["processes"], message: "declares no process; add e.g. web: { wsgi: \"app:application\" }" });
    }
    const webs = Object.entries(app.processes).filter(([, p]) => p.wsgi !== undefined);
    if (webs.length > 1) {
      ctx.addIssue({ code: "custom", path: ["processes"], message: `has ${webs.length} wsgi processes (${webs.map(([n]) => n).join(", ")}); an app serves one WSGI entry point` });
    }
    const queues = new Map<string, number>();
    app.queues.forEach((q, i) => {
      const first = queues.get(q.name);
      if (first !== undefined) ctx.addIssue({ code: "custom", path: ["queues", i], message: `duplicate queue "${q.name}" (also queues[${first}])` });
      else queues.set(q.name, i);
    });
    if (app.database) {
      app.secrets.forEach((name, i) => {
        if (DATABASE_RESERVED.includes(name)) ctx.addIssue({ code: "custom", path: ["secrets", i], message: `"${name}" is set by fawkes for an app with database: true; remove it from secrets` });
      });
      for (const name of DATABASE_RESERVED) {
        if (Object.hasOwn(app.env, name)) ctx.addIssue({ code: "custom", path: ["env", name], message: `"${name}" is set by fawkes for an app with database: true; remove it from env` });
      }
    }
    for (const issue of appLayoutIssues(app)) ctx.addIssue({ code: "custom", ...issue });
    if (app.media && !app.shared.includes(app.media.dir)) {
      ctx.addIssue({ code: "custom", path: ["media", "dir"], message: `"${app.media.dir}" is not in shared; media lives on shared storage, add it to shared` });
    }
  });
export type App = z.infer<typeof AppSchema>;


export const CatalogueSchema = z
  .strictObject({
    apps: z.array(AppSchema).min(1, "must declare at least one app"),
    loadBalancer: z
      .strictObject({
        idleTimeoutSeconds: Seconds(1, 4000).default(60),
        deregistrationDelaySeconds: Seconds(0, 3600).default(30),
      })
      .default({ idleTimeoutSeconds: 60, deregistrationDelaySeconds: 30 }),
    gunicorn: z
      .strictObject({
        gracefulTimeoutSeconds: Seconds(1, 600).default(30),
        preloadApp: z
          .boolean()
          .default(true)
          .describe(
            "gunicorn's preload_app: the master imports each app once and forks its workers ready (a faster boot, shared pages). " +
              "Hosts never change code in place, so nothing needs the workers' own import; turn it off for an app that opens connections at import time.",
          ),
      })
      .default({ gracefulTimeoutSeconds: 30, preloadApp: true }),
    github: GitHubSchema.optional().describe("Without it, each environment's roles trust only the AWS account."),
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.apps.forEach((app, i) => {
      const reserved = reservedAppNameProblem(app.name);
      if (reserved !== undefined) ctx.addIssue({ code: "custom", path: ["apps", i, "name"], message: reserved });
      const first = seen.get(app.name);
      if (first !== undefined) {
        ctx.addIssue({ code: "custom", path: ["apps", i, "name"], message: `duplicate app "${app.name}" (also apps[${first}]); app names must be unique` });
      } else seen.set(app.name, i);
    });
    // A label written in `domains` is where a clash is fixed; an app's default label (its name) has no line.
    const labels = new Map<string, { app: string; index: number; written: boolean }>();
    const ports = new Map<number, string>();
    const programs = new Map<string, { app: string; process: string }>();
    c.apps.forEach((app, i) => {
      for (const label of app.domains ?? [app.name]) {
        const owner = labels.get(label);
        if (owner !== undefined && owner.app !== app.name) {
          const at = app.domains !== undefined || !owner.written ? i : owner.index;
          const other = at === i ? owner.app : app.name;
          ctx.addIssue({ code: "custom", path: ["apps", at, "domains"], message: `domain label "${label}" is already used by app "${other}": both would answer on the same host name; give one of them another label` });
        } else if (owner === undefined) labels.set(label, { app: app.name, index: i, written: app.domains !== undefined });
      }
      if (app.port !== undefined) {
        const owner = ports.get(app.port);
        if (owner !== undefined) ctx.addIssue({ code: "custom", path: ["apps", i, "port"], message: `port ${app.port} is already used by app "${owner}"` });
        ports.set(app.port, app.name);
      }
      for (const process of Object.keys(app.processes)) {
        const program = programName(app.name, process);
        const owner = programs.get(program);
        if (owner !== undefined && owner.app !== app.name) {
          ctx.addIssue({ code: "custom", path: ["apps", i, "processes", process], message: `its supervisord program "${program}" would also be process "${owner.process}" of app "${owner.app}" (programs are <app>-<process>); rename one of the processes` });
        } else programs.set(program, { app: app.name, process });
      }
    });
    // AWS names join app and queue with '-': app "a-b" queue "c" and app "a" queue "b-c" would
    // share one, and so would app "a-b" queue "dlq" and the dead-letter queue of app "a" queue "b".
    const queueNames = new Map<string, { app: string; queue: string }>();
    c.apps.forEach((app, i) => {
      app.queues.forEach((q, j) => {
        for (const joined of [`${app.name}-${q.name}`, `${app.name}-${q.name}-dlq`]) {
          const owner = queueNames.get(joined);
          // The same app twice is a duplicate queue, reported above.
          if (owner !== undefined && owner.app !== app.name) {
            ctx.addIssue({
              code: "custom",
              path: ["apps", i, "queues", j],
              message: `queue "${q.name}" of app "${app.name}" and queue "${owner.queue}" of app "${owner.app}" would share the AWS name "${joined}"; rename one`,
            });
            break;
          }
          queueNames.set(joined, { app: app.name, queue: q.name });
        }
      });
    });
  });
export type Catalogue = z.infer<typeof CatalogueSchema>;
export const CATALOGUE_KEYS: readonly string[] = Object.keys(CatalogueSchema.shape);
