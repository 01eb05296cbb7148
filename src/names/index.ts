// src/names: the name budget, the one way every AWS resource and host gets its name; and the one
// rule of each kind of name a person gives (stack, app, host, release, backup), with its checker.
export { budgetName, NAME_LIMITS, shortHash, slug, type NameKind } from "./budget.ts";
export { isQaStack, QA_STACK_MAX, qaStackName } from "./branch.ts";
export { DATABASE_MASTER_USER, HOST_ACCOUNTS, reservedAppNameProblem } from "./reserved.ts";
export { checkedStackName, stackNameProblem } from "./stack.ts";
export { PROJECT_NAME_MAX, projectNameProblem } from "./project.ts";
export { APP_NAME, APP_NAME_RULE, appNameProblem } from "./app.ts";
export { BACKUP_ID, backupIdProblem } from "./backup.ts";
export { hostNameProblem } from "./host.ts";
export { reasonProblem } from "./reason.ts";
export { RELEASE_ID, RELEASE_ID_RULE, releaseIdProblem } from "./release.ts";
