import { loadStack } from "../../config/index.ts";
import { compareStacks } from "../../plan/index.ts";
import type { Command } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

const show = (v: unknown) => (v === undefined ? "(unset)" : JSON.stringify(v));

export const diffStacks: Command = {
  name: "diff-stacks",
  summary: "Show that two stacks differ only in knobs, and list the knob differences.",
  usage: "fawkes diff-stacks A B [--json]",
  help: `Compares the catalogue of A and B (must be identical), lists every knob that differs, and
re-renders A's catalogue with B's knobs to prove that B's host images differ from A's only
because of those knobs.

Flags:
  --json   print the comparison as JSON

Exit codes: 0 the stacks differ only in knobs; 1 something else differs (or a config problem);
2 usage error.`,
  options: { json: { type: "boolean" } },
  positionals: { min: 2, max: 2, args: [{ name: "A", kind: "stack" }, { name: "B", kind: "stack" }] },
  async run({ values, positionals }, io) {
    const root = findProjectRoot(io.cwd, values.project);
    const [a, b] = positionals as [string, string];
    const cmp = compareStacks(loadStack(root, a), loadStack(root, b));
    const onlyKnobs = cmp.catalogue.length === 0 && cmp.unexplained.length === 0;
    if (values.json) {
      io.out(`${JSON.stringify({ ...cmp, onlyKnobs }, null, 2)}\n`);
      return onlyKnobs ? 0 : 1;
    }
    io.out(`${a} -> ${b}\n`);
    io.out(cmp.catalogue.length === 0 ? "catalogue: identical\n" : `catalogue: ${cmp.catalogue.length} differences (environments must be identical by construction)\n`);
    for (const d of cmp.catalogue) io.out(`  ${d.path}: ${show(d.a)} -> ${show(d.b)}\n`);
    io.out(`knobs: ${cmp.knobs.length === 0 ? "identical" : `${cmp.knobs.length} differences`}\n`);
    for (const d of cmp.knobs) io.out(`  ${d.path}: ${show(d.a)} -> ${show(d.b)}\n`);
    io.out(`host images: ${cmp.files.length} files differ, ${cmp.unexplained.length} not explained by knobs\n`);
    for (const f of cmp.unexplained) io.out(`  unexplained: ${f.role} ${f.path}\n`);
    io.out(onlyKnobs ? `${a} and ${b} differ only in knobs\n` : `${a} and ${b} differ beyond knobs\n`);
    return onlyKnobs ? 0 : 1;
  },
};
