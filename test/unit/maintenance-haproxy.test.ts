// Maintenance mode on the local load balancer: the rendered HAProxy config and files, checked by
// `haproxy -c`, and a real HAProxy on 127.0.0.1 (no servers) toggled through its runtime API.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { httpStatus } from "../../src/local/health.ts";
import { maintenanceFiles, renderHaproxyConfig, renderMaintenanceFiles, renderServerAddresses, serverAddressFile } from "../../src/local/haproxy-config.ts";
import { haproxyPaths, maintenanceList, runtimeCommand, syncMaintenance, writeHaproxyFiles } from "../../src/local/haproxy.ts";
import { chooseSubnet, envLayout, hostSlots } from "../../src/local/layout.ts";
import { ALB_FIXED_RESPONSE_MAX_BYTES, maintenancePage } from "../../src/maintenance/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { freePort } from "../helpers/serve.ts";

const ROOT = join(import.meta.dirname, "../..");
const spec = loadStack(ROOT, "staging");
const plan = planEnvironment(spec);
const slots = hostSlots(envLayout("staging", "/var/lib/fawkes"), chooseSubnet("staging", []), plan.hosts, spec.knobs.rollout);

/** The backend section of one app in a rendered config. */
function backendOf(cfg: string, app: string): string {
  const start = cfg.indexOf(`backend app_${app}\n`);
  const end = cfg.indexOf("\n\n", start);
  return cfg.slice(start, end);
}

describe("the maintenance page", () => {
  it("fits the ALB's fixed response (1024 bytes) for the longest app name, names the app, loads nothing else", () => {
    const longest = `a${"-".repeat(22)}z`;
    expect(Buffer.byteLength(maintenancePage(longest))).toBeLessThanOrEqual(ALB_FIXED_RESPONSE_MAX_BYTES);
    const page = maintenancePage("shop");
    expect(page).toContain("<title>shop: down for maintenance</title>");
    expect(page).not.toMatch(/src=|href=|url\(/);
  });
});

describe("HAProxy's config with maintenance files", () => {
  const dir = mkdtempSync(join(tmpdir(), "fawkes-maint-cfg-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files = maintenanceFiles(dir, plan);
  const addresses = serverAddressFile(dir);
  const cfg = renderHaproxyConfig({ plan, slots, port: 18080, socket: join(dir, "admin.sock"), addresses, maintenance: files });
  const contents = renderMaintenanceFiles(plan, files, ["shop"]);

  it("lists only the app in maintenance, gives every served app its page", () => {
    expect(contents[files.list]).toBe("shop\n");
    expect(contents[files.pages.shop!]).toBe(maintenancePage("shop"));
    expect(contents[files.pages.blog!]).toBe(maintenancePage("blog"));
    expect(renderMaintenanceFiles(plan, files, [])[files.list]).toBe("");
  });

  it("puts a 503 rule in each app's backend that fires only for that app's name in the list, before its servers", () => {
    for (const app of ["shop", "blog"]) {
      const backend = backendOf(cfg, app);
      const rule = `    http-request return status 503 content-type "text/html; charset=utf-8" file ${files.pages[app]} hdr Retry-After 300 hdr Cache-Control no-store if { str(${app}) -m str -f ${files.list} }`;
      expect(backend).toContain(rule);
      expect(backend.indexOf(rule)).toBeLessThan(backend.indexOf("    server "));
      // The checks stay: maintenance answers clients, never the servers' health.
      expect(backend).toContain("http-check expect status 200");
    }
    expect(cfg.match(/http-request return status 503/g)).toHaveLength(2);
  });

  it("renders no maintenance rule without maintenance files (the config stays as it was)", () => {
    expect(renderHaproxyConfig({ plan, slots, port: 18080, socket: join(dir, "admin.sock"), addresses })).not.toContain("status 503");
  });

  it("is accepted by haproxy -c", async () => {
    writeHaproxyFiles({ ...contents, [addresses]: renderServerAddresses(slots), [join(dir, "haproxy.cfg")]: cfg });
    const r = await execa("haproxy", ["-c", "-f", join(dir, "haproxy.cfg")], { reject: false, all: true });
    expect(r.all).toContain("Configuration file is valid");
    expect(r.exitCode).toBe(0);
  });
});

describe("a running HAProxy, toggled through its runtime API", () => {
  const dir = mkdtempSync(join(tmpdir(), "fawkes-maint-run-"));
  const hp = haproxyPaths(dir);
  const files = maintenanceFiles(dir, plan);
  let port = 0;
  let haproxy: ReturnType<typeof execa> | undefined;
  const get = async (app: string) => httpStatus("127.0.0.1", port, "/", `${app}.staging.localhost`, 2000);

  beforeAll(async () => {
    port = await freePort();
    // No servers: nothing leaves 127.0.0.1; an app out of maintenance gets HAProxy's own 503.
    const addresses = serverAddressFile(dir);
    const cfg = renderHaproxyConfig({ plan, slots: [], port, socket: hp.socket, addresses, maintenance: files });
    writeHaproxyFiles({ ...renderMaintenanceFiles(plan, files, ["shop"]), [addresses]: renderServerAddresses([]), [hp.config]: cfg });
    haproxy = execa("haproxy", ["-db", "-f", hp.config], { reject: false, all: true, stdin: "ignore", timeout: 60_000 });
    for (let i = 0; i < 50; i++) {
      if (await runtimeCommand(hp.socket, "show info", 500).then(() => true, () => false)) return;
      await sleep(100);
    }
    throw new Error("HAProxy did not come up");
  }, 15_000);

  afterAll(async () => {
    haproxy?.kill("SIGTERM");
    await haproxy;
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers the page for the app the list file names at start, and only for it", async () => {
    const shop = await get("shop");
    expect(shop.status).toBe(503);
    expect(shop.body).toBe(maintenancePage("shop"));
    const blog = await get("blog");
    expect(blog.body).not.toContain("down for maintenance");
    expect(await maintenanceList(hp.socket, files.list)).toEqual(["shop"]);
  });

  it("moves apps in and out without a reload", async () => {
    const pid = /^Pid: (\d+)$/m.exec(await runtimeCommand(hp.socket, "show info"))?.[1];
    expect(await syncMaintenance(hp.socket, files.list, ["blog"])).toEqual({ added: ["blog"], removed: ["shop"] });
    expect((await get("blog")).body).toBe(maintenancePage("blog"));
    expect((await get("www")).body).toBe(maintenancePage("blog"));
    expect((await get("shop")).body).not.toContain("down for maintenance");
    expect(await syncMaintenance(hp.socket, files.list, ["blog"])).toEqual({ added: [], removed: [] });
    expect(await syncMaintenance(hp.socket, files.list, [])).toEqual({ added: [], removed: ["blog"] });
    expect((await get("blog")).body).not.toContain("down for maintenance");
    expect(/^Pid: (\d+)$/m.exec(await runtimeCommand(hp.socket, "show info"))?.[1]).toBe(pid);
    // The file is what a reload reads: the runtime API does not change it.
    expect(readFileSync(files.list, "utf8")).toBe("shop\n");
  });
});
