// src/names: the name budget, the one way every AWS resource and host gets its name.
export { budgetName, NAME_LIMITS, shortHash, slug, type NameKind } from "./budget.ts";
export { isQaStack, QA_STACK_MAX, qaStackName } from "./branch.ts";
export { DATABASE_MASTER_USER, HOST_ACCOUNTS, reservedAppNameProblem } from "./reserved.ts";
export { checkedStackName, stackNameProblem } from "./stack.ts";
export { PROJECT_NAME_MAX, projectNameProblem } from "./project.ts";
