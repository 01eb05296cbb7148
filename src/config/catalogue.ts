import { z } from "zod";
import { AppName, DebianPackage, DnsLabel, EnvName, HttpPath, ProcessName, RelativePath, Seconds, UrlPrefix } from "./primitives.ts";

export const ProcessSchema = z
  .strictObject({
    wsgi: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*(\(\))?$/, "must be a WSGI entry point \"module:callable\", like \"shop.wsgi:application\"")
      .optional()
      .describe("WSGI entry point served by gunicorn behind nginx."),
    command: z.string().min(1).regex(/^[^\n\r]+$/, "must be one command line, without line breaks").optional().describe("Command run from the release dir with the app's venv first on PATH."),
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

/** One shell command line; a line break would end it early in supervisord and cloud-init. */
const HookCommand = z.string().min(1).regex(/^[^\n\r]+$/, "must be one command line, without line breaks");

export const HealthSchema = z.strictObject({
  path: HttpPath.default("/healthz").describe("Answers 200 when the app can serve."),
  intervalSeconds: Seconds(5, 300).default(10),
  timeoutSeconds: Seconds(2, 120).default(5),
  healthyThreshold: z.number().int().min(2).max(10).default(2),
  unhealthyThreshold: z.number().int().min(2).max(10).default(3),
});

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
        build: z.array(HookCommand).default([]).describe("Run by `fawkes build` in the release dir; their output ships in the artifact (collectstatic)."),
        release: z.array(HookCommand).default([]).describe("Run once per release, under a lock, before traffic moves (migrate)."),
      })
      .default({ build: [], release: [] }),
    secrets: z.array(EnvName).default([]).describe("Names of secrets given to the app's environment; values never enter config."),
    env: z.record(EnvName, z.string()).default({}).describe("Plain, non-secret environment variables."),
    domains: z.array(DnsLabel).min(1).optional().describe("Labels in front of the stack's domain; default the app's name."),
    uid: z.number().int().min(1000).max(59999).optional().describe("Unix uid and gid of the app's user; default derived from its name."),
    port: z.number().int().min(1024).max(32767).optional().describe("nginx port the load balancer sends this app's traffic to."),
    bootSeconds: Seconds(1, 300).default(5).describe("How long a process must stay up to count as started (supervisord startsecs)."),
    requestTimeoutSeconds: Seconds(5, 3600).default(30),
    maxBodySize: z.string().regex(/^[1-9][0-9]*[km]?$/, "must be an nginx size like \"10m\"").default("10m"),
  })
  .superRefine((app, ctx) => {
    if (Object.keys(app.processes).length === 0) {
      ctx.addIssue({ code: "custom", path: ["processes"], message: "declares no process; add e.g. web: { wsgi: \"app:application\" }" });
    }
    const webs = Object.entries(app.processes).filter(([, p]) => p.wsgi !== undefined);
    if (webs.length > 1) {
      ctx.addIssue({ code: "custom", path: ["processes"], message: `has ${webs.length} wsgi processes (${webs.map(([n]) => n).join(", ")}); an app serves one WSGI entry point` });
    }
    if (app.media && !app.shared.includes(app.media.dir)) {
      ctx.addIssue({ code: "custom", path: ["media", "dir"], message: `"${app.media.dir}" is not in shared; media lives on shared storage, add it to shared` });
    }
  });
export type App = z.infer<typeof AppSchema>;

/** Packages every host needs whatever the recipe says. */
export const BASE_PACKAGES = [
  "ca-certificates",
  "cloud-init",
  "curl",
  "iproute2",
  "nginx-light",
  "python3",
  "python3-venv",
  "supervisor",
] as const;

export const ImageRecipeSchema = z.strictObject({
  distribution: z.enum(["debian-12"]).default("debian-12").describe("Base distribution of every host (local rootfs and AMI)."),
  packages: z.array(DebianPackage).default([]).describe("Debian packages added to the base packages."),
  ami: z
    .strictObject({ owners: z.array(z.string().regex(/^(\d{12}|self|amazon)$/)).min(1), namePattern: z.string().min(1) })
    .default({ owners: ["136693071363"], namePattern: "debian-12-amd64-*" })
    .describe("AMI lookup on AWS; default Debian's official images."),
});
export type ImageRecipe = z.infer<typeof ImageRecipeSchema>;

export const CatalogueSchema = z
  .strictObject({
    apps: z.array(AppSchema).min(1, "must declare at least one app"),
    image: ImageRecipeSchema.default(ImageRecipeSchema.parse({})),
    loadBalancer: z
      .strictObject({
        idleTimeoutSeconds: Seconds(1, 4000).default(60),
        deregistrationDelaySeconds: Seconds(0, 3600).default(30),
      })
      .default({ idleTimeoutSeconds: 60, deregistrationDelaySeconds: 30 }),
    gunicorn: z
      .strictObject({ gracefulTimeoutSeconds: Seconds(1, 600).default(30) })
      .default({ gracefulTimeoutSeconds: 30 }),
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.apps.forEach((app, i) => {
      const first = seen.get(app.name);
      if (first !== undefined) {
        ctx.addIssue({ code: "custom", path: ["apps", i, "name"], message: `duplicate app "${app.name}" (also apps[${first}]); app names must be unique` });
      } else seen.set(app.name, i);
    });
    const labels = new Map<string, string>();
    const ports = new Map<number, string>();
    c.apps.forEach((app, i) => {
      for (const label of app.domains ?? [app.name]) {
        const owner = labels.get(label);
        if (owner !== undefined && owner !== app.name) {
          ctx.addIssue({ code: "custom", path: ["apps", i, "domains"], message: `domain label "${label}" is already used by app "${owner}"` });
        }
        labels.set(label, app.name);
      }
      if (app.port !== undefined) {
        const owner = ports.get(app.port);
        if (owner !== undefined) ctx.addIssue({ code: "custom", path: ["apps", i, "port"], message: `port ${app.port} is already used by app "${owner}"` });
        ports.set(app.port, app.name);
      }
    });
  });
export type Catalogue = z.infer<typeof CatalogueSchema>;
export const CATALOGUE_KEYS: readonly string[] = Object.keys(CatalogueSchema.shape);
