// `fawkes maintenance on|off|status`: the load balancer answers a 503 maintenance page for an app
// while its hosts keep running and passing health checks.
import { maintenanceStatus, setMaintenance, type MaintenanceResult } from "../../maintenance/index.ts";
import type { PulumiRunner } from "../../release/index.ts";
import { UsageError, type Command, type Io } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

function requireStack(values: Record<string, unknown>): string {
  if (typeof values.stack !== "string") throw new UsageError("--stack S is required: maintenance names its environment");
  return values.stack;
}

function targetOf(values: Record<string, unknown>): "local" | "aws" {
  const t = values.target ?? "local";
  if (t !== "local" && t !== "aws") throw new UsageError(`--target ${String(t)}: must be local or aws`);
  return t;
}

/** The runner of `pulumi up` on --target aws; tests put a recording double here. */
export const maintenanceDeps: { pulumi?: PulumiRunner } = {};

function print(io: Io, r: MaintenanceResult, json: boolean): number {
  const failed = r.entry !== undefined && r.entry.result !== "succeeded";
  if (json) io.out(`${JSON.stringify(r, null, 2)}\n`);
  else {
    io.out(`${r.message}\n`);
    if (r.entry) io.out(`  logs: ${r.entry.logs}\n`);
  }
  return failed ? 1 : 0;
}

const FLAGS = `Flags:
  --stack S    the environment (required)
  --target T   local (default: the stack's HAProxy on this machine) or aws (pulumi up)
  --json       print the result as JSON`;

const HELP = `The stack's \`maintenance\` knob (stacks/Pulumi.<S>.yaml, e.g. \`fawkes:maintenance: [shop]\`)
lists the apps in maintenance; this command edits it like a release pin (every other byte of the
file kept) and applies it. The load balancer then answers every host name of APP with a 503
maintenance page (Retry-After, no-store); the app's hosts keep running, stay in rotation and keep
passing health checks, so \`off\` restores service at once.

Locally (--target local): HAProxy's maintenance list is changed through its runtime API, no
reload, no connection of another app dropped. \`local up\`, \`local rebuild\`, releases and
rollbacks keep it: they apply the knob. A stack that is not up locally gets the knob only; its
next \`fawkes local up\` serves the page. Needs root when the stack is up.
On AWS (--target aws): pulumi up --stack S, which adds (or removes) a listener rule answering a
fixed 503 response, at a higher priority than the app's forward rule. If pulumi up fails, the
stack file is restored. Unverified here: no Pulumi CLI, no AWS account.

Under the stack's deploy lock; each change is recorded in fawkes history (kind maintenance).`;

const EXIT = `Exit codes: 0 done, or already so (said); 1 an unknown app (with the closest name), an app
without web processes, a failed pulumi up or an unreachable load balancer: nothing changed;
2 usage; 3 another rollout holds the stack's deploy lock.`;

function toggle(on: boolean): Command {
  const word = on ? "on" : "off";
  return {
    name: `maintenance ${word}`,
    summary: on ? "Answer a 503 maintenance page for APP at the load balancer; its hosts keep running." : "Take APP out of maintenance: the load balancer routes it to its hosts again.",
    usage: `fawkes maintenance ${word} APP --stack S [--target local|aws] [--json]`,
    help: `${HELP}\n\n${FLAGS}\n\n${EXIT}`,
    options: { stack: { type: "string", kind: "stack" }, target: { type: "string" }, json: { type: "boolean" } },
    positionals: { min: 1, max: 1, args: [{ name: "APP", kind: "app" }] },
    async run({ values, positionals }, io) {
      const [app] = positionals as [string];
      const root = findProjectRoot(io.cwd, values.project);
      const stack = requireStack(values);
      const target = targetOf(values);
      const command = `fawkes maintenance ${word} ${app} --stack ${stack}${target === "aws" ? " --target aws" : ""}`;
      const r = await setMaintenance({ root, stack, app, on, target, command, echo: (l) => io.err(`${l}\n`), ...(maintenanceDeps.pulumi ? { pulumi: maintenanceDeps.pulumi } : {}) });
      return print(io, r, values.json === true);
    },
  };
}

export const maintenanceOn = toggle(true);
export const maintenanceOff = toggle(false);

export const maintenanceStatusCmd: Command = {
  name: "maintenance status",
  summary: "The apps of a stack in maintenance, and what this machine's load balancer of it answers.",
  usage: "fawkes maintenance status --stack S [--json]",
  help: `Lists the apps the stack's \`maintenance\` knob puts in maintenance. When the stack is up on this
machine (as root), also the apps its HAProxy answers the maintenance page for, and whether they
agree (a stack file edited by hand is applied by the next local up or maintenance on|off).

Flags:
  --stack S   the environment (required)
  --json      print it as JSON

Exit codes: 0 printed; 1 the stack's config has a problem; 2 usage.`,
  options: { stack: { type: "string", kind: "stack" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const root = findProjectRoot(io.cwd, values.project);
    const s = await maintenanceStatus(root, requireStack(values));
    if (values.json) {
      io.out(`${JSON.stringify(s, null, 2)}\n`);
      return 0;
    }
    io.out(`${s.stack}: ${s.apps.length === 0 ? "no app in maintenance" : `in maintenance: ${s.apps.join(", ")}`}\n`);
    if (!s.local?.up) io.out("  locally: not up\n");
    else if (s.local.apps === undefined) io.out("  locally: up (run as root to read its load balancer)\n");
    else {
      const agree = [...s.local.apps].sort().join(",") === [...s.apps].sort().join(",");
      io.out(`  locally: the load balancer answers the maintenance page for ${s.local.apps.join(", ") || "no app"}${agree ? "" : ` (differs from the knob: fawkes local up --stack ${s.stack} applies it)`}\n`);
    }
    return 0;
  },
};
