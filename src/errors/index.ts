// src/errors: the error digest (`fawkes errors`). Python tracebacks parsed out of log text and
// grouped by signature (pure: traceback.ts, digest.ts, report.ts), read from the local hosts'
// log files or, on AWS, from CloudWatch Logs Insights; and the daily mail of it (pure: mail.ts;
// sent by SMTP or SES: send.ts; on the knob's schedule: schedule.ts).
export { lineTime, parseTracebacks, type ExceptionBlock, type Frame, type Traceback } from "./traceback.ts";
export { groupOccurrences, normaliseFile, normaliseMessage, releaseOf, signatureOf, type ErrorGroup, type Occurrence } from "./digest.ts";
export { ErrorsError, occurrencesIn, type Collected, type ErrorQuery, type ErrorSource } from "./source.ts";
export { hostRelease, localErrorSource, logFilesOldestFirst } from "./local-source.ts";
export { cloudWatchErrorSource, PAGE_ROWS, TRACEBACK_QUERY, type CloudWatchSourceOptions, type LogsSender } from "./cloudwatch.ts";
export { digestJson, digestOf, formatDigest, utc, type Digest } from "./report.ts";
export { stackErrorSource, type ErrorTarget, type StackSourceOptions } from "./stack-source.ts";
export { appSections, errorDigestHtml, errorMail, errorMailSubject, errorMailText, failedMail, printable, type AppSection, type ErrorMail } from "./mail.ts";
export { DAY_MS, DEFAULT_SMTP_URL, MailError, mailErrorDigest, mailFrom, mailRoute, routeShown, sendMail, smtpUrl, type Envelope, type MailDigestOptions, type MailOutcome, type MailRoute, type Sent } from "./send.ts";
export { nextMailAt, startErrorMailSchedule, type ErrorMailScheduleOptions } from "./schedule.ts";
