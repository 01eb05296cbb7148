// Debian's gunicorn checks every rendered gunicorn.conf.py with the sample app it serves, with the
// app's catalogue env (DJANGO_SETTINGS_MODULE, ...), on every web host of every stack.
import { afterAll, describe, expect, test } from "vitest";
import { gunicornCheckConfig } from "../helpers/checks/gunicorn.ts";
import { renderAllStacks, scratchDir, webApps } from "../helpers/rendered-hosts.ts";

const stacks = renderAllStacks();
const scratch = scratchDir("gunicorn");
afterAll(() => scratch.remove());

describe.concurrent("gunicorn", () => {
  for (const stack of stacks) {
    for (const host of stack.hosts) {
      for (const app of webApps(host.plan)) {
        test(`${host.label}: \`gunicorn --check-config\` accepts ${app.paths.config}/gunicorn.conf.py with ${app.gunicorn.wsgi}`, async () => {
          expect(await gunicornCheckConfig(stack, host, app, scratch.sub(`${host.label}-${app.name}`)), `${host.label} ${app.name}`).toEqual([]);
        });
      }
    }
  }
});
