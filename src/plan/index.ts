// src/plan: comparisons and previews: stack against stack (diff-stacks), later ref against ref.
export { compareStacks, type StackComparison } from "./diff-stacks.ts";
export { diffValues, type ValueDifference } from "./diff-values.ts";
