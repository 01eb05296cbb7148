import { checkProject } from "../../check/index.ts";
import { formatProblem } from "../../config/index.ts";
import type { Command } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

export const check: Command = {
  name: "check",
  summary: "Validate the catalogue and every stack (or one), then plan and render each; report every problem at once.",
  usage: "fawkes check [--stack S] [--json]",
  help: `Flags:
  --stack S   check only stack S (repeatable); default every stacks/Pulumi.<stack>.yaml
  --json      print the result as JSON on stdout

Exit codes: 0 every stack is valid; 1 configuration problems (each names file, key and fix); 2 usage error.`,
  options: { stack: { type: "string", multiple: true }, json: { type: "boolean" } },
  async run({ values }, io) {
    const root = findProjectRoot(io.cwd, values.project);
    const report = checkProject(root, values.stack as string[] | undefined);
    const ok = report.problems.length === 0;
    if (values.json) {
      io.out(`${JSON.stringify({
        ok,
        problems: report.problems,
        stacks: report.stacks.map((s) => ({ stack: s.stack, template: s.spec.template, roles: s.images.map((i) => i.role), apps: s.spec.catalogue.apps.map((a) => a.name), warnings: s.warnings })),
      }, null, 2)}\n`);
      return ok ? 0 : 1;
    }
    for (const s of report.stacks) {
      io.out(`ok ${s.stack}: ${s.spec.catalogue.apps.length} apps on ${s.images.map((i) => `${i.role} x${s.spec.knobs.fleet[i.role].desired}`).join(", ")}\n`);
      for (const w of s.warnings) io.out(`  warning: ${w}\n`);
    }
    if (!ok) {
      io.err(`${report.problems.length} configuration problem${report.problems.length === 1 ? "" : "s"}:\n${report.problems.map((p) => `  ${formatProblem(p)}\n`).join("")}`);
    }
    return ok ? 0 : 1;
  },
};
