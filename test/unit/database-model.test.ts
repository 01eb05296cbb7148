// The database from catalogue to host: `database: true` gives an app its DATABASE_PASSWORD secret,
// needs Debian's PostgreSQL in the image recipe, gives the environment a DatabasePlan, and the app's hosts a bootstrap
// that makes its role and database and dumps it before a release's hooks unless the knob says no.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadEnvironment, loadStack, readRecipe, type ConfigLayer } from "../../src/config/index.ts";
import { databaseNameOf, planEnvironment } from "../../src/model/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";

const ROOT = join(import.meta.dirname, "../..");

function env(apps: unknown[], knobs: Record<string, unknown> = {}, recipe = readRecipe(ROOT, [])) {
  const projectLayer: ConfigLayer = { file: "Pulumi.yaml", values: { "p:catalogue": { apps } } };
  const releases = Object.fromEntries((apps as Array<{ name: string }>).map((a) => [a.name, "r1"]));
  return loadEnvironment({ project: "p", stack: "dev", projectLayer, recipe, stackLayers: [{ file: "stacks/Pulumi.dev.yaml", values: { "p:domain": "dev.p.test", "p:releases": releases, ...knobs } }] });
}

const web = (name: string, extra: Record<string, unknown> = {}) => ({ name, source: name, processes: { web: { wsgi: "app:app" } }, ...extra });
const bootstrapOf = (spec: ReturnType<typeof env>, role: string) => renderWithTestArtifacts(planEnvironment(spec)).find((i) => i.role === role)!.files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content;

describe("an app with database: true", () => {
  it("gets the secret DATABASE_PASSWORD and the environment one database plan", () => {
    const spec = env([web("shop"), web("blog-api", { database: true, secrets: ["KEY"] })]);
    expect(spec.catalogue.apps.find((a) => a.name === "blog-api")!.secrets).toEqual(["KEY", "DATABASE_PASSWORD"]);
    expect(spec.catalogue.apps.find((a) => a.name === "shop")!.secrets).toEqual([]);
    const plan = planEnvironment(spec);
    expect(plan.database).toMatchObject({ majorVersion: "17", port: 5432, masterUser: "fawkes_admin", apps: [{ app: "blog-api", name: "blog_api", role: "blog_api" }] });
    expect(plan.database!.parameters).toEqual({ endpoint: "/p/dev/database/endpoint", masterSecret: "/p/dev/database/master-secret" });
    expect(plan.hosts[0]!.apps.find((a) => a.name === "blog-api")!.database).toEqual({ app: "blog-api", name: "blog_api", role: "blog_api" });
    expect(plan.hosts[0]!.apps.find((a) => a.name === "shop")!.database).toBeUndefined();
  });

  it("needs PostgreSQL's server and client in the image recipe, and says so with the file, the key and the app", () => {
    const repo = readRecipe(ROOT, []);
    const values = repo.values as { packages: string[] };
    const without = { ...repo, values: { ...values, packages: values.packages.filter((p) => !p.startsWith("postgresql")) } };
    expect(() => env([web("blog-api", { database: true })], {}, without)).toThrow(
      'image/recipe.yaml: packages: lacks "postgresql" and "postgresql-client": app "blog-api" has database: true (the local db host runs PostgreSQL from the image; every host runs psql and pg_dump)',
    );
    expect(env([web("shop")], {}, without).catalogue.image.packages).not.toContain("postgresql");
  });

  it("without one, no database plan, no database code in the bootstrap", () => {
    const spec = env([web("shop")]);
    expect(planEnvironment(spec).database).toBeUndefined();
    expect(bootstrapOf(spec, "web")).not.toContain("write_database");
  });

  it("refuses DATABASE_PASSWORD and DATABASE_URL in its own secrets or env: fawkes sets them", () => {
    expect(() => env([web("blog", { database: true, secrets: ["DATABASE_URL"] })])).toThrow(/apps\[0\]\.secrets\[0\]: "DATABASE_URL" is set by fawkes for an app with database: true; remove it from secrets/);
    expect(() => env([web("blog", { database: true, env: { DATABASE_PASSWORD: "x" } })])).toThrow(/apps\[0\]\.env\.DATABASE_PASSWORD: "DATABASE_PASSWORD" is set by fawkes/);
    // Without a database the names are the app's own.
    expect(env([web("blog", { secrets: ["DATABASE_URL"] })]).catalogue.apps[0]!.secrets).toEqual(["DATABASE_URL"]);
  });

  it("names databases and roles as plain SQL identifiers", () => {
    expect(databaseNameOf("shop-api-2")).toBe("shop_api_2");
  });
});

describe("the bootstrap of a host running an app with a database", () => {
  it("makes the role and database before the hooks and dumps before them unless the stack's knob is off (dev)", () => {
    for (const [stack, dump] of [["dev", "false"], ["qa", "false"], ["staging", "true"], ["production", "true"]] as const) {
      const text = bootstrapOf(loadStack(ROOT, stack), "web");
      expect(text, stack).toContain(`readonly DB_BACKUP_BEFORE_RELEASE=${dump}\n`);
      const main = text.slice(text.indexOf("main() {"));
      expect(main.indexOf('step "$APP/database"'), stack).toBeGreaterThan(main.indexOf('step "$APP/secrets"'));
      expect(main.indexOf('step "$APP/database"'), stack).toBeLessThan(main.indexOf('step "$APP/hooks"'));
      const once = text.slice(text.indexOf("run_hooks_once() {"));
      expect(once.indexOf("backup_before_hooks"), stack).toBeLessThan(once.indexOf('for hook in "${HOOKS[@]}"'));
      // On its parent's server (database.shareParentServer), the qa stack's database and role carry its name: staging's blog is another.
      const name = stack === "qa" ? "blog_qa" : "blog";
      expect(text, stack).toContain(`      DB_NAME=${name} DB_ROLE=${name}\n`);
    }
  });

  it("is left out of hosts whose apps have none (the worker runs only the shop)", () => {
    expect(bootstrapOf(loadStack(ROOT, "staging"), "worker")).not.toContain("write_database");
  });

  it("the knob is validated like the others", () => {
    expect(() => env([web("blog", { database: true })], { "p:database": { instanceClass: "t3.small" } })).toThrow(/p:database\.instanceClass: must be an RDS instance class like "db\.t4g\.micro"/);
  });
});
