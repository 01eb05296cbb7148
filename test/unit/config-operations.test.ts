// The catalogue's queues and GitHub repository and the logRetentionDays knob: parsed with every
// default filled in, named within AWS's limits, and handed to the hosts as names only.
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CatalogueSchema, KnobsSchema, loadStack } from "../../src/config/index.ts";
import { LOG_RETENTION_DAYS } from "../../src/config/knobs.ts";
import { appLogGroup, hostLogGroup, planEnvironment, queueEnvName, queuePlans } from "../../src/model/index.ts";
import { NAME_LIMITS } from "../../src/names/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";

const ROOT = join(import.meta.dirname, "../..");
const app = (extra: Record<string, unknown>) => ({ name: "shop", source: "apps/shop", processes: { web: { wsgi: "shop.app:app" } }, ...extra });
const catalogue = (extra: Record<string, unknown>, more: Record<string, unknown> = {}) => CatalogueSchema.safeParse({ apps: [app(extra)], ...more });

describe("queues in the catalogue", () => {
  it("take a bare name or a map, with a dead-letter after 5 receives and a 30 s visibility timeout by default", () => {
    const parsed = catalogue({ queues: ["orders", { name: "mail", maxReceiveCount: 10, visibilityTimeoutSeconds: 300 }] });
    expect(parsed.success).toBe(true);
    expect(parsed.data!.apps[0]!.queues).toEqual([
      { name: "orders", maxReceiveCount: 5, visibilityTimeoutSeconds: 30 },
      { name: "mail", maxReceiveCount: 10, visibilityTimeoutSeconds: 300 },
    ]);
    expect(catalogue({}).data!.apps[0]!.queues).toEqual([]);
  });

  it("reject a bad name, a name ending in -dlq, a duplicate, an unknown key and a receive count of 0, each at its path", () => {
    const problems = (extra: Record<string, unknown>) => catalogue(extra).error!.issues.map((i) => [i.path.join("."), i.message]);
    expect(problems({ queues: ["Orders"] })).toEqual([["apps.0.queues.0.name", expect.stringContaining("must be 1-24 characters")]]);
    expect(problems({ queues: ["orders-dlq"] })).toEqual([["apps.0.queues.0.name", expect.stringContaining('must not end in \'-\' or "-dlq"')]]);
    expect(problems({ queues: ["orders", "orders"] })).toEqual([["apps.0.queues.1", 'duplicate queue "orders" (also queues[0])']]);
    expect(problems({ queues: [{ name: "orders", retries: 3 }] })).toEqual([["apps.0.queues.0", expect.any(String)]]);
    expect(problems({ queues: [{ name: "orders", maxReceiveCount: 0 }] })).toEqual([["apps.0.queues.0.maxReceiveCount", expect.any(String)]]);
  });

  it("of the repository: the shop's orders queue, named per stack within SQS's 80 characters, its URL as FAWKES_QUEUE_ORDERS_URL", () => {
    const spec = loadStack(ROOT, "staging");
    expect(queuePlans(spec)).toEqual([
      {
        app: "shop",
        name: "orders",
        queueName: "fawkes-staging-shop-orders",
        deadLetterName: "fawkes-staging-shop-orders-dlq",
        parameter: "/fawkes/staging/shop/queues/orders",
        envName: "FAWKES_QUEUE_ORDERS_URL",
        maxReceiveCount: 5,
        visibilityTimeoutSeconds: 30,
      },
    ]);
    expect(queueEnvName("bulk-mail")).toBe("FAWKES_QUEUE_BULK_MAIL_URL");
  });

  it("get distinct names within the limit for any stack, app and queue", () => {
    const spec = loadStack(ROOT, "dev");
    const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,23}$/);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,99}$/), label, label, (stack, appName, queue) => {
        fc.pre(!queue.endsWith("-") && !queue.endsWith("-dlq"));
        const apps = [{ ...spec.catalogue.apps[0]!, name: appName, queues: [{ name: queue, maxReceiveCount: 5, visibilityTimeoutSeconds: 30 }] }];
        const [q] = queuePlans({ ...spec, stack, catalogue: { ...spec.catalogue, apps } });
        expect(q!.queueName.length).toBeLessThanOrEqual(NAME_LIMITS.sqsQueue);
        expect(q!.deadLetterName.length).toBeLessThanOrEqual(NAME_LIMITS.sqsQueue);
        expect(q!.queueName).not.toBe(q!.deadLetterName);
      }),
      { numRuns: 300 },
    );
  });

  it("reach the hosts that run the app as names only: the bootstrap fetches the URLs at boot", () => {
    const spec = loadStack(ROOT, "dev");
    for (const image of renderWithTestArtifacts(planEnvironment(spec))) {
      const bootstrap = image.files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content;
      expect(bootstrap).toContain("QUEUE_NAMES=(orders)");
      for (const f of image.files) expect(f.content, f.path).not.toMatch(/https:\/\/sqs\./);
      // Every target adapter answers queues_fetch: the bootstrap calls it for every app with queues.
      for (const target of ["aws", "local"]) expect(bootstrap, target).toMatch(new RegExp(`\\n\\s*${target}_queues_fetch\\(\\) \\{`));
      expect(bootstrap).toMatch(/step "\$APP\/queues"\n\s*write_queues/);
    }
  });
});

describe("the github catalogue key", () => {
  it("takes owner/name and nothing else", () => {
    expect(catalogue({}, { github: { repository: "acme/shop-infra" } }).data!.github).toEqual({ repository: "acme/shop-infra" });
    expect(catalogue({}).data!.github).toBeUndefined();
    for (const bad of ["acme", "acme/", "/x", "acme/x/y", "https://github.com/acme/x"]) {
      expect(catalogue({}, { github: { repository: bad } }).success, bad).toBe(false);
    }
  });
});

describe("the logRetentionDays knob", () => {
  const knobs = (extra: Record<string, unknown>) => KnobsSchema.safeParse({ domain: "dev.acme.test", ...extra });

  it("defaults to 30 days and takes any period CloudWatch Logs offers", () => {
    expect(knobs({}).data!.logRetentionDays).toBe(30);
    for (const days of LOG_RETENTION_DAYS) expect(knobs({ logRetentionDays: days }).data!.logRetentionDays).toBe(days);
  });

  it("refuses any other number, naming the nearest period", () => {
    expect(knobs({ logRetentionDays: 100 }).error!.issues.map((i) => i.message)).toEqual([expect.stringContaining("got 100; the nearest is 90")]);
    expect(knobs({ logRetentionDays: 0 }).success).toBe(false);
    expect(knobs({ logRetentionDays: 7.5 }).error!.issues).toHaveLength(1);
  });

  it("of the repository's stacks: a week in dev and qa, a year in production, the default in staging", () => {
    expect(Object.fromEntries(["dev", "qa", "staging", "production"].map((s) => [s, loadStack(ROOT, s).knobs.logRetentionDays]))).toEqual({ dev: 7, qa: 7, staging: 30, production: 365 });
  });
});

describe("log groups", () => {
  it("are named per app and per role under the environment, in separate branches", () => {
    const spec = loadStack(ROOT, "dev");
    expect(appLogGroup(spec, "shop")).toBe("/fawkes/dev/apps/shop");
    expect(hostLogGroup(spec, "web")).toBe("/fawkes/dev/hosts/web");
    expect(appLogGroup(spec, "web")).not.toBe(hostLogGroup(spec, "web"));
  });
});
