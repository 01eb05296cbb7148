// FAWKES_HOSTS (issue 19): every app process gets the names it is served under in its stack, the
// same rendered bytes for both targets, and the host's own addresses (the Host health checks send)
// added where only the boot knows them. fawkes-exec runs here in bash as rendered.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { renderHaproxyConfig } from "../../src/local/haproxy-config.ts";
import { envLayout, hostSlots } from "../../src/local/layout.ts";
import { HOST_ENV, listenerRules, planEnvironment, servedApps, type AppOnHost, type HostPlan } from "../../src/model/index.ts";
import { appEnvFile } from "../../src/render/app-files.ts";
import { execWrapperFile } from "../../src/render/bootstrap.ts";

const ROOT = join(import.meta.dirname, "../..");
const STACKS = ["dev", "staging", "production", "qa"];
const dir = mkdtempSync(join(tmpdir(), "fawkes-hosts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** FAWKES_HOSTS as the rendered app.env of `app` on `host` says it. */
function renderedHosts(host: HostPlan, app: AppOnHost): string {
  const line = appEnvFile(host, app).content.split("\n").find((l) => l.startsWith("FAWKES_HOSTS="));
  if (!line) throw new Error(`${host.stack}/${host.role}: ${app.name}'s app.env has no FAWKES_HOSTS`);
  return line.slice("FAWKES_HOSTS=".length);
}

describe("FAWKES_HOSTS as rendered", () => {
  it("is every name of the app in the stack: <label>.<domain> first, then <label>.<stack>.localhost", () => {
    const want: Record<string, Record<string, string>> = {
      dev: { shop: "shop.dev.fawkes.test,shop.dev.localhost", blog: "blog.dev.fawkes.test,www.dev.fawkes.test,blog.dev.localhost,www.dev.localhost" },
      staging: { shop: "shop.staging.fawkes.test,shop.staging.localhost", blog: "blog.staging.fawkes.test,www.staging.fawkes.test,blog.staging.localhost,www.staging.localhost" },
      production: { shop: "shop.fawkes.test,shop.production.localhost", blog: "blog.fawkes.test,www.fawkes.test,blog.production.localhost,www.production.localhost" },
      qa: { shop: "shop.qa.fawkes.test,shop.qa.localhost", blog: "blog.qa.fawkes.test,www.qa.fawkes.test,blog.qa.localhost,www.qa.localhost" },
    };
    for (const stack of STACKS) {
      for (const host of planEnvironment(loadStack(ROOT, stack)).hosts) {
        // Worker processes get the names too: a mail they send links to the app.
        for (const app of host.apps) expect(renderedHosts(host, app), `${stack}/${host.role}/${app.name}`).toBe(want[stack]![app.name]);
      }
    }
  });

  it("covers every name the ALB routes to the app on AWS and every name HAProxy routes to it locally", () => {
    for (const stack of STACKS) {
      const spec = loadStack(ROOT, stack);
      const plan = planEnvironment(spec);
      const web = plan.hosts.find((h) => h.role === "web")!;
      const haproxy = renderHaproxyConfig({ plan, slots: hostSlots(envLayout(stack, dir), "10.231.9.0/24", plan.hosts, spec.knobs.rollout), port: 8080, socket: join(dir, "haproxy.sock"), addresses: join(dir, "servers.map") });
      for (const app of servedApps(plan)) {
        const names = renderedHosts(web, app).split(",");
        const alb = listenerRules([app]).flatMap((r) => r.hostnames);
        const local = /^ {4}use_backend app_\S+ if \{ var\(txn\.host\) -m str (.+) \}$/m.exec(haproxy.split("\n").find((l) => l.includes(`use_backend app_${app.name} `)) ?? "")?.[1]?.split(" ");
        expect(alb.length, `${stack}/${app.name}`).toBeGreaterThan(0);
        expect(names, `${stack}/${app.name}: the ALB's names`).toEqual(expect.arrayContaining(alb));
        expect(local, `${stack}/${app.name}: HAProxy's names`).toBeDefined();
        expect(names, `${stack}/${app.name}: HAProxy's names`).toEqual(expect.arrayContaining(local!));
        // The first name is the one the ALB's rule and the app's URL use.
        expect(names[0]).toBe(app.hostnames[0]);
      }
    }
  });
});

describe("FAWKES_HOSTS in an app's process", () => {
  // An app named after the user running the test: fawkes-exec runs an app's command as that app only.
  const user = userInfo().username;

  async function execAs(hostEnv: string | undefined): Promise<{ code: number | undefined; out: string }> {
    const plan = planEnvironment(loadStack(ROOT, "dev")).hosts.find((h) => h.role === "web")!;
    const blog = plan.apps.find((a) => a.name === "blog")!;
    const base = join(dir, `exec-${Math.random().toString(36).slice(2)}`);
    const app: AppOnHost = { ...blog, name: user, paths: { ...blog.paths, env: join(base, "app.env"), secretsEnv: join(base, "secrets.env"), current: base } };
    const host = { ...plan, apps: [app] };
    mkdirSync(base, { recursive: true });
    writeFileSync(app.paths.env, appEnvFile(host, app).content);
    const hostFile = join(base, "host.env");
    if (hostEnv !== undefined) writeFileSync(hostFile, hostEnv);
    const exec = join(base, "fawkes-exec");
    const wrapper = execWrapperFile(host).content;
    expect(wrapper).toContain(`host_env=${HOST_ENV}\n`);
    writeFileSync(exec, wrapper.replace(`host_env=${HOST_ENV}\n`, `host_env=${hostFile}\n`));
    chmodSync(exec, 0o755);
    const r = await execa("bash", [exec, user, "/bin/sh", "-c", 'printf "%s|%s" "$FAWKES_HOSTS" "${FAWKES_HOST_ADDRESSES-unset}"'], { env: { PATH: "/usr/bin:/bin" }, extendEnv: false, reject: false, all: true, stdin: "ignore" });
    return { code: r.exitCode, out: r.all ?? "" };
  }

  it("ends with the addresses the bootstrap wrote at boot, the Host the load balancer's health checks send", async () => {
    expect(await execAs("FAWKES_HOST_ADDRESSES=10.231.7.11\\,10.231.8.3\n")).toEqual({
      code: 0,
      out: "blog.dev.fawkes.test,www.dev.fawkes.test,blog.dev.localhost,www.dev.localhost,10.231.7.11,10.231.8.3|unset",
    });
  });

  it("is the rendered names alone where the boot wrote no address", async () => {
    expect(await execAs(undefined)).toEqual({ code: 0, out: "blog.dev.fawkes.test,www.dev.fawkes.test,blog.dev.localhost,www.dev.localhost|unset" });
    expect(await execAs("FAWKES_HOST_ADDRESSES=''\n")).toEqual({ code: 0, out: "blog.dev.fawkes.test,www.dev.fawkes.test,blog.dev.localhost,www.dev.localhost|unset" });
  });
});
