// src/errors: the error digest (`fawkes errors`). Python tracebacks parsed out of log text and
// grouped by signature (pure: traceback.ts, digest.ts, report.ts), read from the local hosts'
// log files or, on AWS, from CloudWatch Logs Insights.
export { lineTime, parseTracebacks, type ExceptionBlock, type Frame, type Traceback } from "./traceback.ts";
export { groupOccurrences, normaliseFile, normaliseMessage, signatureOf, type ErrorGroup, type Occurrence } from "./digest.ts";
export { ErrorsError, occurrencesIn, type Collected, type ErrorQuery, type ErrorSource } from "./source.ts";
export { localErrorSource, logFilesOldestFirst } from "./local-source.ts";
export { cloudWatchErrorSource, PAGE_ROWS, TRACEBACK_QUERY, type CloudWatchSourceOptions, type LogsSender } from "./cloudwatch.ts";
export { digestJson, digestOf, formatDigest, utc, type Digest } from "./report.ts";
