// src/plan: comparisons and previews: stack against stack (diff-stacks); this tree against a git
// ref (`fawkes plan`: run.ts, loaded only by that command, since it brings in Pulumi's runtime).
export { compareStacks, type StackComparison } from "./diff-stacks.ts";
export { diffValues, type ValueDifference } from "./diff-values.ts";
