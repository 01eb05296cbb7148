// What a release reads back from the stack after `pulumi up`: per role, the launch template, its
// newest version and the auto scaling group (the program's `launchTemplates` output, index.ts).
import { execa } from "execa";
import { z } from "zod";
import type { RefreshTarget } from "../model/index.ts";

/** The stack output the Pulumi program exports for the release driver. */
export const LAUNCH_TEMPLATES_OUTPUT = "launchTemplates";

const LaunchTemplatesSchema = z.record(
  z.string(),
  z.strictObject({
    launchTemplateId: z.string().regex(/^lt-[0-9a-f]+$/, "must be a launch template id like lt-0123456789abcdef0"),
    groupName: z.string().min(1),
    version: z.string().regex(/^[1-9][0-9]*$/, "must be a launch template version number"),
  }),
);

/** `pulumi stack output --json` of a stack, as an object; a test passes a double. */
export type StackOutputsReader = (stack: string, cwd: string) => Promise<Record<string, unknown>>;

export const readStackOutputs: StackOutputsReader = async (stack, cwd) => {
  const r = await execa("pulumi", ["stack", "output", "--json", "--stack", stack], { cwd, reject: false, stdin: "ignore" });
  if (r.failed) {
    const why = r.exitCode === undefined ? `could not run pulumi (${r.shortMessage}); install the Pulumi CLI` : `pulumi stack output exited ${r.exitCode}: ${r.stderr.trim().split("\n").at(-1) ?? ""}`;
    throw new Error(`reading the outputs of stack ${stack}: ${why}`);
  }
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

/** The refresh targets of the stack's roles, web first, from its outputs; a clear error when they are missing or malformed. */
export function refreshTargets(stack: string, outputs: Record<string, unknown>): RefreshTarget[] {
  const raw = outputs[LAUNCH_TEMPLATES_OUTPUT];
  if (raw === undefined) {
    throw new Error(`stack ${stack} has no output "${LAUNCH_TEMPLATES_OUTPUT}" (per role: launchTemplateId, groupName, version): run pulumi up with this version of fawkes first`);
  }
  const parsed = LaunchTemplatesSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${[LAUNCH_TEMPLATES_OUTPUT, ...i.path].join(".")}: ${i.message}`).join("; ");
    throw new Error(`stack ${stack}: output ${problems}`);
  }
  const order = (role: string) => (role === "web" ? 0 : 1);
  return Object.entries(parsed.data)
    .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
    .map(([role, o]) => ({ role, groupName: o.groupName, launchTemplateId: o.launchTemplateId, version: o.version }));
}
