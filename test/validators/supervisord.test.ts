// supervisord's own config loader (supervisor 4.2.5) over the program files of every host of every
// stack: it must accept every section and load exactly the programs the model planned, each one
// stopped as a process group and given longer to stop than gunicorn's graceful shutdown.
import { afterAll, describe, expect, test } from "vitest";
import { supervisordLoad } from "../helpers/checks/supervisord.ts";
import { renderAllStacks, scratchDir } from "../helpers/rendered-hosts.ts";

const stacks = renderAllStacks();
const scratch = scratchDir("supervisord");
afterAll(() => scratch.remove());

describe.concurrent("supervisord", () => {
  for (const stack of stacks) {
    for (const host of stack.hosts) {
      const programs = host.plan.apps.flatMap((a) => a.processes.map((p) => p.program));
      test(`${host.label}: supervisord's loader accepts the program files and loads ${programs.join(", ")} as planned`, async () => {
        expect(await supervisordLoad(stack, host, scratch.sub(host.label)), host.label).toEqual([]);
      });
    }
  }
});
