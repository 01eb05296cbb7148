import { DANGER_KINDS, type DangerKind } from "../../plan/preview.ts";
import { UsageError, type Command } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

const FORMATS = ["text", "md", "json"] as const;

function allowedOf(value: unknown): DangerKind[] {
  if (value === undefined) return [];
  const kinds = String(value)
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  if (kinds.includes("all")) return [...DANGER_KINDS];
  const unknown = kinds.filter((k) => !(DANGER_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0 || kinds.length === 0) throw new UsageError(`--allow ${String(value)}: kinds are ${DANGER_KINDS.join(", ")} or all`);
  return kinds as DangerKind[];
}

export const plan: Command = {
  name: "plan",
  summary: "Preview a change offline: this tree against a git ref, per stack: resources, host-image file diffs, fleets replaced, dangers.",
  usage: "fawkes plan (--stack S | --all) [--base REF] [--format text|md|json] [--allow KIND[,KIND]|all]",
  help: `Checks REF out in a temporary git worktree, runs its Pulumi program and this tree's for each
stack under Pulumi's mocks (no cloud account, no Pulumi CLI), and reports per stack:
  - resources to create, update, replace or delete, with the inputs that changed (secret values
    never shown); a replacement is read from the fields AWS cannot change in place
  - the host images (each role's user-data) decoded into files, with a unified diff per file:
    cloud-config, supervisord programs, gunicorn and nginx configs, the bootstrap script
  - which fleets are replaced and how: the instance refresh's canary and batches from the
    stack's rollout knobs, or the whole group at once when the group itself is replaced
  - dangers: shared storage (EFS, the artifact bucket, the lock table) or the load balancer
    replaced or deleted ("storage", "load-balancer"), and a difference between a stack and
    production that no knob explains ("stack-difference")

Flags:
  --stack S       plan one stack
  --all           plan every stack of either side
  --base REF      the git ref to compare with (default HEAD: what uncommitted changes do)
  --format F      text (default), md (a pull-request comment: summary table, details folded,
                  starts with ${"<!-- fawkes-plan -->"} so a bot can find and update it), json
  --allow KINDS   dangers to accept: storage, load-balancer, stack-difference, or all

Progress goes to stderr, the plan to stdout.

Exit codes: 0 no danger (or all allowed); 1 a danger not allowed, or the plan could not be made
(no such ref, a program that fails, a configuration problem); 2 usage error.`,
  options: { stack: { type: "string", kind: "stack" }, all: { type: "boolean" }, base: { type: "string" }, format: { type: "string" }, allow: { type: "string" } },
  async run({ values }, io) {
    if ((typeof values.stack === "string") === (values.all === true)) throw new UsageError("give one of --stack S or --all");
    const format = (values.format ?? "text") as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`--format ${String(values.format)}: formats are ${FORMATS.join(", ")}`);
    const allowed = allowedOf(values.allow);
    const root = findProjectRoot(io.cwd, values.project);
    // Loaded only here: Pulumi's runtime is heavy, and no other command needs it.
    const { planChange, unallowedDangers } = await import("../../plan/run.ts");
    const { formatJson, formatMarkdown, formatText } = await import("../../plan/format.ts");
    const { PlanError } = await import("../../plan/tree.ts");
    try {
      const result = await planChange({
        root,
        base: typeof values.base === "string" ? values.base : "HEAD",
        ...(typeof values.stack === "string" ? { stacks: [values.stack] } : {}),
        progress: (m) => io.err(`${m}\n`),
      });
      io.out(format === "md" ? formatMarkdown(result, allowed) : format === "json" ? formatJson(result, allowed) : formatText(result, allowed));
      return unallowedDangers(result, allowed).length > 0 ? 1 : 0;
    } catch (e) {
      if (e instanceof PlanError) {
        io.err(`error: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
  },
};
