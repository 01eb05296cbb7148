// src/qa: ephemeral QA environments per git branch. The registry of records (branch, last push,
// TTL) with expiry and gc selection, what list and gc print, and up/down/list/gc on the local
// target. The AWS path (Pulumi Automation API) is not built yet.
export { gcSelection, expired, listRecords, QaError, QaRecordSchema, qaDir, readRecord, recordFile, removeRecord, timeLeft, ttlMs, writeRecord, type QaRecord } from "./registry.ts";
export { formatGcLine, formatList, formatSpan, listRow, type QaListRow } from "./report.ts";
export { headOf, qaDown, qaGc, qaList, qaUpLocal, type QaGcResult, type QaUpOptions, type QaUpResult } from "./local.ts";
