// `nginx -t` over a host's rendered sites, included from a minimal main config in a temp dir. The
// sites are checked as rendered: their log files under /var/log/fawkes/<app> open inside a
// private mount namespace (../host-sandbox.ts) where those dirs exist as on a booted host.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AppOnHost } from "../../../src/model/index.ts";
import { hostSandbox } from "../host-sandbox.ts";
import { goldenImage, requireImageTools } from "../image-root.ts";
import { filesMatching, webApps, writeHostTree, type RenderedHost, type RenderedStack } from "../rendered-hosts.ts";
import { BASE_ENV, TOOLS, describeRun, run } from "../tools.ts";

export const SITES = /^\/etc\/nginx\/sites-enabled\/[^/]+$/;
const siteOf = (app: string) => `/etc/nginx/sites-enabled/${app}.conf`;

function mainConf(dir: string, root: string): string {
  return [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/nginx-error.log;`,
    "events {}",
    "http {",
    "    include /etc/nginx/mime.types;",
    `    include ${root}/etc/nginx/conf.d/*.conf;`,
    `    include ${root}/etc/nginx/sites-enabled/*.conf;`,
    "}",
    "",
  ].join("\n");
}

/** One site per web app, nothing else, and `nginx -t` says ok with no warning. */
export async function nginxTest(stack: RenderedStack, host: RenderedHost, dir: string): Promise<string[]> {
  const image = await goldenImage();
  requireImageTools(image, TOOLS.nginx);
  const problems: string[] = [];
  const sites = filesMatching(host.image, SITES).map((f) => f.path).sort();
  const want = webApps(host.plan).map((a) => siteOf(a.name)).sort();
  if (sites.join(" ") !== want.join(" ")) problems.push(`nginx sites [${sites.join(", ")}], want [${want.join(", ")}]`);
  if (want.length === 0) return problems;
  const tree = writeHostTree(host.image, join(dir, "root"));
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, mainConf(dir, tree.root));
  const sandbox = hostSandbox(stack, host, tree, dir, image);
  const r = await run(sandbox.wrap([TOOLS.nginx.path, "-t", "-c", conf, "-p", `${dir}/`, "-e", `${dir}/nginx-error.log`]), { timeoutMs: 20_000, env: BASE_ENV });
  const ok = r.exitCode === 0 && r.output.includes("syntax is ok") && r.output.includes("test is successful");
  if (!ok) return [...problems, `nginx rejects the sites: ${describeRun(r)}`];
  for (const line of r.output.split("\n")) if (/\[(warn|alert|crit|emerg)\]/.test(line)) problems.push(`nginx -t: ${line.trim()}`);
  return problems;
}

/** The site listens on the app's port (the load balancer's target) and proxies to gunicorn's socket. */
export function nginxSiteWiring(host: RenderedHost, app: AppOnHost): string[] {
  const site = filesMatching(host.image, new RegExp(`^${siteOf(app.name).replace(/\./g, "\\.")}$`))[0];
  if (!site) return [`${siteOf(app.name)} is not rendered`];
  const problems: string[] = [];
  const listens = [...site.content.matchAll(/(?:^|[\s{;])listen\s+([^;{}]+);/g)].map((m) => m[1]!.trim());
  if (!listens.some((l) => new RegExp(`^(\\S*:)?${app.port}(\\s|$)`).test(l))) problems.push(`${app.name} listens on ${JSON.stringify(listens)}; the load balancer sends its traffic to port ${app.port}`);
  const socket = app.gunicorn?.socket;
  if (socket && !site.content.includes(`unix:${socket}`)) problems.push(`the ${app.name} site does not proxy to unix:${socket}, where gunicorn binds`);
  return problems;
}
