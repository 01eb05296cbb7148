// src/names: the name budget, the one way every AWS resource and host gets its name.
export { budgetName, NAME_LIMITS, shortHash, slug, type NameKind } from "./budget.ts";
