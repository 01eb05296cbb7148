// What both secret stores offer (the local 0600 files, SSM Parameter Store on AWS), and the
// rules a value and a name follow on either target. Nothing here ever returns or prints a value
// but `set`'s argument: stores answer which names are set, never with what.
import type { EnvironmentSpec, ResolvedApp } from "../config/index.ts";
import { didYouMean } from "../config/suggest.ts";
import { stackNameProblem } from "../names/index.ts";
import { unquotableReason } from "./quote.ts";

/** A secret problem that changed nothing: printed as `error: ...`, exit 1. Never holds a value. */
export class SecretsError extends Error {}

/** A mistake in the names given (app, secret): the command turns it into a usage error. */
export class SecretNameError extends Error {}

/** A name a store holds: `valid` false when hosts would refuse what is stored, and why. */
export interface SecretState {
  valid: boolean;
  problem?: string;
}

export interface SecretStore {
  /** For messages: a directory, or `ssm:<prefix> (<region>)`. */
  readonly where: string;
  /** The names stored for an app (declared or not), never their values. */
  list(app: string): Promise<Map<string, SecretState>>;
  set(app: string, name: string, value: string): Promise<void>;
  /** false when there was nothing to remove. */
  unset(app: string, name: string): Promise<boolean>;
}

/**
 * SSM's standard tier holds at most 4 KB per parameter: the same limit on both targets, so a value
 * set locally can be set on AWS too.
 */
export const MAX_SECRET_BYTES = 4096;

/**
 * The value as given on stdin or at the prompt, checked: one trailing line break (LF or CRLF)
 * dropped, as `echo` and editors add it; nothing else changed. Throws what is wrong with it,
 * never the value itself.
 */
export function secretValueOf(raw: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new SecretsError("the value is not UTF-8 text; SSM parameters and environment variables hold text (encode binary values, e.g. with base64)");
  }
  const value = text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
  if (value === "") throw new SecretsError("the value is empty; give the secret's value on stdin or at the prompt (to remove a secret: fawkes secret unset)");
  const unquotable = unquotableReason(value);
  if (unquotable !== undefined) throw new SecretsError(`the value cannot be stored: ${unquotable}`);
  if (/[\r\n]$/.test(value)) {
    throw new SecretsError("the value still ends in a line break after the one trailing newline was dropped; hosts on AWS read values through $(...), which drops trailing line breaks, so the app would see another value there: remove it");
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_SECRET_BYTES) throw new SecretsError(`the value is ${bytes} bytes; a secret holds at most ${MAX_SECRET_BYTES} (SSM's standard tier)`);
  return value;
}

/** The app the catalogue declares, or an error listing the apps with a did-you-mean. */
export function appOf(spec: EnvironmentSpec, name: string): ResolvedApp {
  const app = spec.catalogue.apps.find((a) => a.name === name);
  if (app) return app;
  const names = spec.catalogue.apps.map((a) => a.name);
  const hint = didYouMean(name, names);
  throw new SecretNameError(`no app "${name}" in the catalogue (Pulumi.yaml); apps: ${names.join(", ")}${hint ? `; ${hint}` : ""}`);
}

/** `name` when the catalogue declares it for `app`; else an error listing the declared ones with a did-you-mean. */
export function declaredSecret(app: ResolvedApp, name: string, also: readonly string[] = []): string {
  if (app.secrets.includes(name) || also.includes(name)) return name;
  const hint = didYouMean(name, [...app.secrets, ...also]);
  const declared = app.secrets.length === 0 ? `${app.name} declares no secret` : `${app.name} declares: ${app.secrets.join(", ")}`;
  const extra = also.length > 0 ? `; stored but no longer declared: ${also.join(", ")}` : "";
  throw new SecretNameError(
    `${app.name} has no secret "${name}" in the catalogue (Pulumi.yaml, apps.${app.name}.secrets); ${declared}${extra}${hint ? `; ${hint}` : ""}. A new secret is declared there first, for every stack`,
  );
}

/** A stack name safe as a path part and an SSM path segment (Pulumi's own rule: letters, digits, - _ .). */
export function checkStackName(stack: string): string {
  const problem = stackNameProblem(stack);
  if (problem !== undefined) throw new SecretNameError(`--stack ${JSON.stringify(stack)}: ${problem}`);
  return stack;
}
