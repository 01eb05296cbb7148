import { join } from "node:path";
import { maintenancePage, MAINTENANCE_RETRY_AFTER_SECONDS } from "../maintenance/page.ts";
import { HEALTH_CHECK_USER_AGENT, HEALTH_CHECKER_AGENTS } from "../config/index.ts";
import { servedApps, servedNames, type EnvironmentPlan } from "../model/index.ts";
import type { HostSlot } from "./layout.ts";

/**
 * Where HAProxy finds maintenance mode: the list of apps in maintenance (an ACL pattern file,
 * changed at run time through the runtime API and re-read at a reload) and each app's page.
 */
export interface MaintenanceFiles {
  list: string;
  pages: Record<string, string>;
}

export interface HaproxyInput {
  plan: EnvironmentPlan;
  slots: readonly HostSlot[];
  port: number;
  socket: string;
  /** The map of each server's address (serverAddressFile), which health checks send as their Host. */
  addresses: string;
  /** Without it, no rule answers a maintenance page (the files must exist for `haproxy -c`). */
  maintenance?: MaintenanceFiles;
}

/** The maintenance files of an environment's HAProxy, under its dir. */
export function maintenanceFiles(haproxyDir: string, plan: EnvironmentPlan): MaintenanceFiles {
  const dir = join(haproxyDir, "maintenance");
  return { list: join(dir, "apps.lst"), pages: Object.fromEntries(servedApps(plan).map((a) => [a.name, join(dir, `${a.name}.html`)])) };
}

/** Their contents: every served app's page, and the list naming the served apps in maintenance, one a line. */
export function renderMaintenanceFiles(plan: EnvironmentPlan, files: MaintenanceFiles, inMaintenance: readonly string[]): Record<string, string> {
  const served = servedApps(plan).map((a) => a.name);
  const listed = served.filter((a) => inMaintenance.includes(a));
  return {
    [files.list]: listed.map((a) => `${a}\n`).join(""),
    ...Object.fromEntries(served.map((a) => [files.pages[a]!, maintenancePage(a)])),
  };
}

/**
 * Where HAProxy finds each server's address: a map from server name to IPv4 address, read at
 * (re)load. A health check has no sample fetch of its server's address (`dst` is empty there), only
 * `srv_name`: the map turns it into the Host the ALB sends, the target's address and port.
 */
export function serverAddressFile(haproxyDir: string): string {
  return join(haproxyDir, "servers.map");
}

/** Its contents: `<server> <address>` for every host slot (servers are named after their slots). */
export function renderServerAddresses(slots: readonly HostSlot[]): string {
  return slots.map((s) => `${s.name} ${s.ip}\n`).join("");
}

/**
 * HAProxy as the local stand-in for the ALB: one frontend on 127.0.0.1, Host-header routing to a
 * backend per app, HTTP health checks on the app's health path with the server's address as Host
 * (as the ALB's), every server starting in maintenance so that only a host fawkes has seen boot is
 * ever put in rotation. With maintenance files, each app's backend answers its maintenance page
 * (503) while the list names the app.
 */
export function renderHaproxyConfig({ plan, slots, port, socket, addresses, maintenance }: HaproxyInput): string {
  const { spec } = plan;
  const apps = servedApps(plan);
  const lb = spec.catalogue.loadBalancer;
  const lines: string[] = [
    `# HAProxy of the local ${spec.stack} environment, rendered by fawkes: the stand-in for the ALB.`,
    "global",
    "    log stdout format raw local0 info",
    `    stats socket ${socket} mode 600 level admin`,
    "    hard-stop-after 60s",
    "",
    "defaults",
    "    mode http",
    "    log global",
    "    option httplog",
    "    option dontlognull",
    "    timeout connect 5s",
    `    timeout client ${lb.idleTimeoutSeconds}s`,
    `    timeout server ${Math.max(...apps.map((a) => a.requestTimeout), 30) + 5}s`,
    `    timeout http-keep-alive ${lb.idleTimeoutSeconds}s`,
    "    option redispatch",
    "    retries 2",
    "",
    "frontend fawkes",
    `    bind 127.0.0.1:${port}`,
    "    # Host names are matched without their port.",
    "    http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
  ];
  for (const app of apps) {
    // The names FAWKES_HOSTS gives the app: the ALB's and the local target's.
    lines.push(`    use_backend app_${app.name} if { var(txn.host) -m str ${servedNames(app).join(" ")} }`);
  }
  // http-request rules run before backend switching: the 404 lives in a backend of its own.
  lines.push("    default_backend no_app", "", "# Like the ALB's default action: a host name no app claims gets a 404.", "backend no_app", "    http-request return status 404 content-type text/plain string \"no app answers this host name\\n\"", "");
  const webSlots = slots.filter((s) => s.role === "web");
  for (const app of apps) {
    lines.push(
      `backend app_${app.name}`,
      "    balance leastconn",
      "    option httpchk",
      // As the ALB checks a target: Host is the server's address and port, never a name of the app;
      // the method and the statuses are the catalogue's, the ALB's matcher syntax read as is.
      `    http-check send meth ${app.health.method} uri ${app.health.path} ver HTTP/1.1 hdr Host %[srv_name,map(${addresses})]:${app.port} hdr User-Agent ${HEALTH_CHECK_USER_AGENT}`,
      `    http-check expect status ${app.health.statuses}`,
      // A checker's request through the frontend (the checks above never pass it) leaves no log line;
      // anyone else's request to the health path does.
      `    http-request set-log-level silent if { path ${app.health.path} } { req.fhdr(user-agent) -m beg ${HEALTH_CHECKER_AGENTS.join(" ")} }`,
      // Checks run five times a second here (the ALB's interval is the catalogue's), ten times while a
      // server is down or changing: a new host is UP a fifth of a second after its first good check.
      `    default-server inter 200ms fastinter 100ms downinter 100ms rise ${app.health.healthyThreshold} fall ${app.health.unhealthyThreshold}`,
      // Maintenance answers clients only: the servers stay in rotation and their checks go on.
      ...(maintenance
        ? [
            `    http-request return status 503 content-type "text/html; charset=utf-8" file ${maintenance.pages[app.name]} hdr Retry-After ${MAINTENANCE_RETRY_AFTER_SECONDS} hdr Cache-Control no-store if { str(${app.name}) -m str -f ${maintenance.list} }`,
          ]
        : []),
      ...webSlots.map((s) => `    server ${s.name} ${s.ip}:${app.port} check disabled`),
      "",
    );
  }
  return `${lines.join("\n")}\n`;
}
