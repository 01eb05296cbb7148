// Sending the daily traceback mail, with nodemailer: by SMTP from this machine (FAWKES_SMTP_URL,
// default smtp://127.0.0.1:25, the machine's own MTA), by Amazon SES (the SESv2 API, through
// nodemailer's SES transport) on AWS. The SMTP URL may hold credentials: they never reach output.
// nodemailer and the SDK load on first use: every other command starts without them.
import type { EnvironmentSpec } from "../config/index.ts";
import { awsClient } from "../aws/clients.ts";
import { digestOf } from "./report.ts";
import { errorMail, failedMail, type ErrorMail } from "./mail.ts";
import { ErrorsError } from "./source.ts";
import { stackErrorSource, type ErrorTarget, type StackSourceOptions } from "./stack-source.ts";

export const DEFAULT_SMTP_URL = "smtp://127.0.0.1:25";

/** A mail that could not be sent: printed as `error: ...`, never with the SMTP URL's credentials. */
export class MailError extends ErrorsError {}

/** How a mail leaves: an SMTP server, or Amazon SES in a region. */
export type MailRoute = { kind: "smtp"; url: string } | { kind: "ses"; region: string };

interface SmtpUrl {
  url: string;
  /** What may be printed: scheme, host and port. */
  shown: string;
  secrets: string[];
}

/** FAWKES_SMTP_URL checked: smtp:// or smtps://, a host; what may be shown of it and what never. */
export function smtpUrl(raw: string): SmtpUrl {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new MailError("FAWKES_SMTP_URL is not a URL: smtp://[user:password@]host[:port] (STARTTLS when the server offers it) or smtps://... (TLS from the start)");
  }
  if ((u.protocol !== "smtp:" && u.protocol !== "smtps:") || u.hostname === "") {
    throw new MailError(`FAWKES_SMTP_URL ${u.protocol}//${u.host}: must be smtp://[user:password@]host[:port] or smtps://[user:password@]host[:port]`);
  }
  const decoded = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  // A user name of one or two characters would blank out ordinary words of a message.
  const user = u.username.length >= 3 ? [u.username, decoded(u.username)] : [];
  const secrets = [u.password, decoded(u.password), ...user].filter((s) => s !== "");
  return { url: raw, shown: `${u.protocol}//${u.host}`, secrets };
}

/** The route of a stack's mail: SES in the stack's region on AWS, SMTP locally. */
export function mailRoute(spec: Pick<EnvironmentSpec, "knobs">, target: ErrorTarget, env: NodeJS.ProcessEnv = process.env): MailRoute {
  return target === "aws" ? { kind: "ses", region: spec.knobs.region } : { kind: "smtp", url: env.FAWKES_SMTP_URL || DEFAULT_SMTP_URL };
}

export const routeShown = (route: MailRoute) => (route.kind === "ses" ? `Amazon SES (${route.region})` : smtpUrl(route.url).shown);

/** The sender: the knob's, else fawkes@<the stack's domain>. */
export function mailFrom(spec: Pick<EnvironmentSpec, "knobs">): string {
  return spec.knobs.errorMail.from ?? `fawkes@${spec.knobs.domain}`;
}

export interface Envelope {
  from: string;
  to: readonly string[];
  /** Extra headers: which stack, and that no one should answer it automatically. */
  headers?: Record<string, string>;
}

export interface Sent {
  messageId: string;
  /** Recipients the server or SES accepted, and those it refused (the mail went to the others). */
  accepted: string[];
  rejected: string[];
}

async function transportOf(route: MailRoute) {
  const { createTransport } = await import("nodemailer");
  if (route.kind === "smtp") return createTransport(smtpUrl(route.url).url);
  const { SESv2Client, SendEmailCommand } = await import("@aws-sdk/client-sesv2");
  return createTransport({ SES: { sesClient: awsClient(SESv2Client, route.region), SendEmailCommand } });
}

function failure(route: MailRoute, e: unknown): MailError {
  const err = e as { name?: string; code?: string; message?: string; response?: string };
  let reason = `${err.name && err.name !== "Error" ? `${err.name}: ` : ""}${err.message ?? String(e)}`;
  if (route.kind === "smtp") {
    for (const s of smtpUrl(route.url).secrets) reason = reason.split(s).join("***");
    return new MailError(`the SMTP server ${smtpUrl(route.url).shown} did not take the mail: ${reason} (FAWKES_SMTP_URL sets the server)`);
  }
  return new MailError(
    `Amazon SES (${route.region}) did not take the mail: ${reason} (the sender must be an identity verified in SES in ${route.region}; in the SES sandbox every recipient too; the caller needs ses:SendEmail and ses:SendRawEmail)`,
  );
}

/** Sends one mail, a text and an HTML part. */
export async function sendMail(mail: ErrorMail, envelope: Envelope, route: MailRoute): Promise<Sent> {
  const transport = await transportOf(route);
  try {
    const info = (await transport.sendMail({ from: envelope.from, to: [...envelope.to], subject: mail.subject, text: mail.text, html: mail.html, headers: envelope.headers ?? {} })) as {
      messageId?: string;
      accepted?: Array<string | { address: string }>;
      rejected?: Array<string | { address: string }>;
    };
    const addresses = (list: Array<string | { address: string }>) => list.map((a) => (typeof a === "string" ? a : a.address));
    return { messageId: info.messageId ?? "", accepted: addresses(info.accepted ?? [...envelope.to]), rejected: addresses(info.rejected ?? []) };
  } catch (e) {
    throw failure(route, e);
  } finally {
    transport.close();
  }
}

/** What the daily mail did. */
export type MailOutcome =
  | { sent: false; stack: string; reason: string }
  | {
      sent: true;
      stack: string;
      to: string[];
      /** Recipients the server refused. */
      rejected: string[];
      from: string;
      via: string;
      subject: string;
      messageId: string;
      /** Tracebacks and kinds in the window (0 in a failure notice). */
      total: number;
      kinds: number;
      /** Set when the logs could not be read: the mail sent says so, and why. */
      failed?: string;
    };

export interface MailDigestOptions extends StackSourceOptions {
  target: ErrorTarget;
  /** Epoch ms: the end of the 24 h window; now. */
  now?: number;
  env?: NodeJS.ProcessEnv;
}

export const DAY_MS = 86_400_000;

/**
 * The daily mail of one environment, now: its logs of the 24 h before, the top `errorMail.top`
 * kinds per app, to `errorMail.to`. No recipients: nothing sent, said in the outcome. Logs that
 * cannot be read: a short mail saying so, so that a quiet day never reads as a failed one.
 * Throws a MailError when the mail cannot be sent.
 */
export async function mailErrorDigest(spec: EnvironmentSpec, opts: MailDigestOptions): Promise<MailOutcome> {
  const knob = spec.knobs.errorMail;
  if (knob.to.length === 0) {
    return { sent: false, stack: spec.stack, reason: `errorMail.to of stack ${spec.stack} lists no recipient: nothing sent (set fawkes:errorMail: { to: [...] } in its stack file)` };
  }
  const until = opts.now ?? Date.now();
  const since = until - DAY_MS;
  const apps = spec.catalogue.apps.map((a) => a.name);
  const source = stackErrorSource(spec, opts.target, opts);
  const route = mailRoute(spec, opts.target, opts.env);
  const envelope: Envelope = { from: mailFrom(spec), to: knob.to, headers: { "X-Fawkes-Stack": `${spec.project}/${spec.stack}`, "Auto-Submitted": "auto-generated" } };
  let mail: ErrorMail;
  let counts = { total: 0, kinds: 0 };
  let failed: string | undefined;
  try {
    const collected = await source.collect({ since, until, apps });
    const digest = digestOf(collected, { stack: spec.stack, target: opts.target, where: source.where, since, until, apps }, Infinity);
    mail = errorMail(spec.project, digest, knob.top);
    counts = { total: digest.total, kinds: digest.signatures };
  } catch (e) {
    if (!(e instanceof ErrorsError)) throw e;
    failed = e.message;
    mail = failedMail(spec.project, { stack: spec.stack, target: opts.target, since, until }, e.message);
  }
  let sent: Sent;
  try {
    sent = await sendMail(mail, envelope, route);
  } catch (e) {
    if (failed !== undefined && e instanceof MailError) throw new MailError(`${failed}; and the mail saying so was not sent: ${e.message}`);
    throw e;
  }
  return {
    sent: true,
    stack: spec.stack,
    to: sent.accepted,
    rejected: sent.rejected,
    from: envelope.from,
    via: routeShown(route),
    subject: mail.subject,
    messageId: sent.messageId,
    ...counts,
    ...(failed !== undefined ? { failed } : {}),
  };
}
