// `nginx -t` over the rendered sites of every host of every stack (see ../helpers/checks/nginx.ts
// for how the sites' log paths exist without changing the machine), and how each site is wired.
import { afterAll, describe, expect, test } from "vitest";
import { nginxSiteWiring, nginxTest } from "../helpers/checks/nginx.ts";
import { renderAllStacks, scratchDir, webApps } from "../helpers/rendered-hosts.ts";

const stacks = renderAllStacks();
const scratch = scratchDir("nginx");
afterAll(() => scratch.remove());

describe.concurrent("nginx", () => {
  for (const stack of stacks) {
    for (const host of stack.hosts) {
      const apps = webApps(host.plan);
      const what = apps.length > 0 ? `the sites of ${apps.map((a) => a.name).join(", ")}` : "no site (nothing to serve)";
      test(`${host.label}: \`nginx -t\` accepts ${what} with no warning`, async () => {
        expect(await nginxTest(stack, host, scratch.sub(host.label)), host.label).toEqual([]);
      });
      for (const app of apps) {
        test(`${host.label}: the ${app.name} site listens on port ${app.port} and proxies to unix:${app.gunicorn.socket}`, () => {
          expect(nginxSiteWiring(host, app), host.label).toEqual([]);
        });
      }
    }
  }
});
