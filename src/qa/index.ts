// src/qa: ephemeral QA environments per git branch. The registry of local records (branch, last
// push, TTL) with expiry and gc selection, what list and gc print, up/down/list/gc on the local
// target, and on AWS through Pulumi's Automation API (behind the QaStacks interface), where the
// same facts live in stack tags, and a teardown that empties what would stop `pulumi destroy`.
export { expiresAt, gcSelection, expired, listRecords, QaError, QaRecordSchema, qaDir, readRecord, recordFile, removeRecord, timeLeft, ttlMs, writeRecord, type QaRecord } from "./registry.ts";
export { formatGcLine, formatList, formatSpan, listRow, type QaFacts, type QaGcResult, type QaListRow, type QaTarget } from "./report.ts";
export { headOf } from "./git.ts";
export { buildAndPin, type BranchReleases, type BuildFn } from "./releases.ts";
export { qaDown, qaExtend, qaGc, qaList, qaUpLocal, type QaUpOptions, type QaUpResult } from "./local.ts";
export {
  atLeast, isCliMissing, lineWriter, MIN_PULUMI_CLI, PULUMI_CLI_MISSING, PulumiCliMissingError, pulumiStacks, translated, withClearErrors, type QaStacks, type QaStackSummary,
} from "./automation.ts";
export { factsOf, QA_TAGS, qaDownAws, qaGcAws, qaListAws, qaUpAws, removeQaStack, tagValue, type QaAwsDeps, type QaUpAwsOptions, type QaUpAwsResult } from "./aws.ts";
export { artifactStoreUrns, urnOf, type ArtifactStoreUrns } from "./urns.ts";
export { stepText, teardownPlan, type StateResource, type TeardownPlan, type TeardownStep } from "./aws-teardown.ts";
export { deleteLogGroup, emptyBucket, runSteps, sdkTeardown, type QaTeardown, type StepResult } from "./aws-teardown-sdk.ts";
