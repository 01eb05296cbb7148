import { z } from "zod";
import { ACCOUNT_ID } from "../names/aws-rules.ts";
import { HEALTHY_PERCENT_LIMITS } from "./aws-limits.ts";
import { AccessKnobsSchema, DEFAULT_ACCESS, ErrorMailKnobsSchema } from "./console-knobs.ts";
import { architectureMismatch, ImageKnobSchema } from "./image-knob.ts";
import { ManagementConsoleSchema } from "./management-knob.ts";
import { AppName, DnsName, Duration, ReleaseId, Seconds } from "./primitives.ts";

export const FleetSizeSchema = z
  .strictObject({
    min: z.number().int().min(0).max(100),
    max: z.number().int().min(1).max(100),
    desired: z.number().int().min(0).max(100),
  })
  .superRefine((f, ctx) => {
    if (!(f.min <= f.desired && f.desired <= f.max)) {
      ctx.addIssue({ code: "custom", message: `needs min <= desired <= max, got min ${f.min}, desired ${f.desired}, max ${f.max}` });
    }
  });
export type FleetSize = z.infer<typeof FleetSizeSchema>;

/** rollout.bootSeconds: below 180 s no host boots (cloud-init, fetch, unpack, hooks); above 2 h a broken host idles too long. */
export const BOOT_SECONDS = { min: 180, max: 7200, default: 600 } as const;

export const RolloutSchema = z
  .strictObject({
    canaryPercent: z.number().int().min(1).max(100).default(10).describe("Share of hosts replaced first, then held at a checkpoint."),
    batchPercent: z.number().int().min(1).max(100).default(50).describe("Share of hosts replaced per batch after the canary."),
    minHealthyPercent: z.number().int().min(0).max(100).default(100).describe("Capacity kept in service during a rollout."),
    maxHealthyPercent: z.number().int().min(100).max(200).default(200).describe("Capacity allowed during a rollout (launch before terminate)."),
    warmupSeconds: Seconds(0, 3600).default(60),
    checkpointDelaySeconds: Seconds(0, 172800).default(120).describe("Pause at each checkpoint while health is watched."),
    bootSeconds: z
      .number()
      .int("must be a whole number of seconds")
      .superRefine((n, ctx) => {
        if (n < BOOT_SECONDS.min || n > BOOT_SECONDS.max) {
          ctx.addIssue({ code: "custom", message: `must be between ${BOOT_SECONDS.min} and ${BOOT_SECONDS.max} seconds (the time a new host has to boot and report healthy), got ${n}` });
        }
      })
      .default(BOOT_SECONDS.default)
      .describe("Seconds a new host has to boot and report healthy: the auto scaling group's health check grace period; the bootstrap fails itself 90 s before it, and waits at most that long for another host's release hooks."),
  })
  .superRefine((r, ctx) => {
    if (r.minHealthyPercent === 100 && r.maxHealthyPercent === 100) {
      ctx.addIssue({ code: "custom", path: ["maxHealthyPercent"], message: "with minHealthyPercent 100 it must be above 100, or no host can ever be replaced" });
    }
    const spread = r.maxHealthyPercent - r.minHealthyPercent;
    if (spread > HEALTHY_PERCENT_LIMITS.maxSpread) {
      ctx.addIssue({ code: "custom", path: ["maxHealthyPercent"], message: `is ${spread} above minHealthyPercent ${r.minHealthyPercent}; Auto Scaling refuses a difference over ${HEALTHY_PERCENT_LIMITS.maxSpread}: set maxHealthyPercent to at most ${r.minHealthyPercent + HEALTHY_PERCENT_LIMITS.maxSpread} or minHealthyPercent to at least ${r.maxHealthyPercent - HEALTHY_PERCENT_LIMITS.maxSpread}` });
    }
  });
export type Rollout = z.infer<typeof RolloutSchema>;

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const LogRetentionDays = z
  .number()
  .int("must be a whole number of days")
  .superRefine((days, ctx) => {
    if (!Number.isInteger(days) || (LOG_RETENTION_DAYS as readonly number[]).includes(days)) return;
    const nearest = LOG_RETENTION_DAYS.reduce((a, b) => (Math.abs(b - days) < Math.abs(a - days) ? b : a));
    ctx.addIssue({ code: "custom", message: `must be one of CloudWatch Logs' retention periods (${LOG_RETENTION_DAYS.join(", ")}), got ${days}; the nearest is ${nearest}` });
  });

export const DatabaseKnobsSchema = z.strictObject({
  instanceClass: z
    .string()
    .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "must be an RDS instance class like \"db.t4g.micro\"")
    .default("db.t4g.micro")
    .describe("RDS instance class of the environment's PostgreSQL (AWS only)."),
  allocatedStorageGb: z.number().int().min(20).max(65536).default(20).describe("Storage of the RDS instance in GiB (AWS only)."),
  deletionProtection: z.boolean().default(false).describe("RDS deletion protection, and a final snapshot when the instance is deleted: set it for production."),
  backupBeforeRelease: z.boolean().default(true).describe("Dump each affected app's database before a release's hooks run; `fawkes backup list` shows the dump with its release id."),
  multiAz: z.boolean().default(false).describe("A standby RDS instance in a second zone that takes over on failure (AWS only): set it for production; it doubles the instance's cost."),
  shareParentServer: z
    .boolean()
    .default(false)
    .describe("A QA stack's databases live on its parent stack's RDS server (one database and role per app and stack) instead of an instance of its own (AWS only)."),
});
export type DatabaseKnobs = z.infer<typeof DatabaseKnobsSchema>;

export const NetworkKnobsSchema = z.strictObject({
  natPerZone: z
    .boolean()
    .default(false)
    .describe("A NAT gateway (and Elastic IP) in each zone, so hosts of one zone keep their way out when the other zone fails: set it for production; off, one NAT serves both zones."),
});
export type NetworkKnobs = z.infer<typeof NetworkKnobsSchema>;

export const ArtifactKnobsSchema = z.strictObject({
  noncurrentDays: z
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(30)
    .describe("Days the artifact bucket keeps an object version after a newer one replaced it (pinned releases are current versions and never expire)."),
});
export type ArtifactKnobs = z.infer<typeof ArtifactKnobsSchema>;

/** The stack a QA stack shares its network with when its files name none. */
export const DEFAULT_PARENT = "staging";

const DEFAULT_FLEET = { web: { min: 1, max: 2, desired: 1 }, worker: { min: 0, max: 1, desired: 0 } };

/** The only keys a stack file may set. Everything else is the catalogue, the same for every stack. */
export const KnobsSchema = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$/, "must be an AWS region like \"eu-west-1\"")
    .default("eu-west-1")
    .describe("AWS region (the stack key is aws:region)."),
  accountId: z
    // Pulumi's config reader parses "123456789012" as JSON, a number: the digits are the id.
    .preprocess(
      (v) => (typeof v === "number" && Number.isSafeInteger(v) ? String(v) : v),
      z.string().regex(ACCOUNT_ID, { error: (i) => `must be a 12-digit AWS account id in quotes, like "123456789012", got ${JSON.stringify(i.input)}` }),
    )
    .optional()
    .describe("The AWS account the stack deploys to: part of the artifact bucket's globally unique name; `fawkes check --target aws` (run first by release and qa up) refuses credentials of another account, and `fawkes check` warns when it is not set."),
  instanceType: z
    .string()
    .regex(/^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|metal|[0-9]{0,3}xlarge)$/, "must be an EC2 instance type like \"t3.small\" or \"m6i.xlarge\"")
    .default("t3.small"),
  fleet: z
    .strictObject({
      web: FleetSizeSchema.default(DEFAULT_FLEET.web),
      worker: FleetSizeSchema.default(DEFAULT_FLEET.worker),
    })
    .default(DEFAULT_FLEET),
  domain: DnsName.describe("Apps answer on <label>.<domain>."),
  certificateArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate\/[A-Za-z0-9-]+$/, "must be an ACM certificate ARN like \"arn:aws:acm:eu-west-1:123456789012:certificate/...\"")
    .optional()
    .describe("Certificate of the HTTPS listener; without it the load balancer serves plain HTTP."),
  releases: z.record(AppName, ReleaseId).default({}).describe("Release pin per app."),
  rollout: RolloutSchema.default(RolloutSchema.parse({})),
  backupRetentionDays: z
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(7)
    .describe("Days AWS Backup keeps each daily recovery point of the shared storage and the database (RDS's own automated backups keep at most 35)."),
  database: DatabaseKnobsSchema.default(DatabaseKnobsSchema.parse({})).describe("The environment's PostgreSQL, for the apps with database: true."),
  parent: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,52}$/, "must be a stack name like \"staging\"")
    .optional()
    .describe(`QA stacks only (default "${DEFAULT_PARENT}"): the stack whose VPC, subnets and NAT the QA stack uses through a stack reference, instead of a network of its own.`),
  network: NetworkKnobsSchema.default(NetworkKnobsSchema.parse({})).describe("The stack's own VPC (stacks without a parent)."),
  artifacts: ArtifactKnobsSchema.default(ArtifactKnobsSchema.parse({})).describe("Lifecycle of the artifact bucket; database dumps in it expire after backupRetentionDays."),
  logRetentionDays: LogRetentionDays.default(30).describe("Days CloudWatch Logs keeps the apps' and hosts' logs."),
  alarmEmail: z.email("must be an email address").optional().describe("Subscribed by email to the environment's alarm topic; without it the topic has no subscriber."),
  qaTtl: Duration.default("3d").describe("A QA stack with no push for this long is destroyed by `fawkes qa gc`."),
  maintenance: z
    .array(AppName)
    .superRefine((apps, ctx) => {
      const twice = apps.filter((a, i) => apps.indexOf(a) !== i);
      if (twice.length > 0) ctx.addIssue({ code: "custom", message: `lists ${[...new Set(twice)].map((a) => `"${a}"`).join(", ")} more than once` });
    })
    .default([])
    .describe("Apps the load balancer answers with a 503 maintenance page while their hosts keep running; set by `fawkes maintenance on|off`."),
  access: AccessKnobsSchema.default(DEFAULT_ACCESS),
  errorMail: ErrorMailKnobsSchema.default(ErrorMailKnobsSchema.parse({})),
  console: ManagementConsoleSchema.optional(),
  image: ImageKnobSchema.optional().describe("The pinned AMI of the AWS target (ami, architecture, recipe); the local target builds its own image from the recipe."),
}).superRefine(
  (k, ctx) => {
    const message = k.image && architectureMismatch(k.instanceType, k.image.architecture);
    if (message) ctx.addIssue({ code: "custom", path: ["image", "architecture"], message });
  },
  // Checked whenever both knobs are well-formed, even if other knobs are not: every problem at once.
  { when: (p) => !p.issues.some((i) => i.path?.[0] === "image" || i.path?.[0] === "instanceType") },
);
export type Knobs = z.infer<typeof KnobsSchema>;
export const KNOB_NAMES: readonly string[] = Object.keys(KnobsSchema.shape);

/** Knobs whose stack key lives in a provider's namespace rather than the project's. */
export const PROVIDER_KNOBS: Readonly<Record<string, string>> = { "aws:region": "region" };
