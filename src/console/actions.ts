// What the console's buttons do: the same library calls as the CLI's commands (release,
// rollback, lock, maintenance, qa), with the signed-in person as who, each line of output sent
// live to the environment's pages, the secret values of the environment cut out of it first.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { EnvironmentSpec } from "../config/index.ts";
import { envLayout } from "../local/index.ts";
import { setMaintenance } from "../maintenance/index.ts";
import { qaDown, qaExtend, qaUpLocal } from "../qa/index.ts";
import { awsRelease, breakDeployLock, giveBackDeployLock, localRelease, readDeployLock, takeDeployLock, type HistoryEntry } from "../release/index.ts";
import { localDatabaseEnvFile, readLocalSecretValues } from "../secrets/index.ts";
import type { ConsoleAction } from "./access.ts";
import type { LiveOutput, LiveRun } from "./live.ts";
import type { ConsoleContext } from "./view.ts";

/** An action refused before it changed anything: shown to the person, recorded as refused. */
export class ActionRefused extends Error {}

export interface ActionRequest {
  action: ConsoleAction;
  stack: string;
  spec: EnvironmentSpec;
  /** As the history and the locks record them: `alice (console)`. */
  who: string;
  /** Who, for good: the lock held by hand records it, and only they give it back. */
  subject: string;
  args: Record<string, string>;
}

export interface ActionEnd {
  result: string;
  message: string;
  entry?: string;
}

/**
 * The secret values an environment's apps get (and its database password): replaced by their
 * names in every line the console shows, whoever looks. Values shorter than 6 characters are left:
 * cutting them would cut ordinary words.
 */
export function secretRedactor(spec: EnvironmentSpec, stack = spec.stack): (text: string) => string {
  // A QA environment being made gets its secrets during the action: read again when the store changes.
  const dir = envLayout(stack).secretsDir;
  let stamp = "";
  let cut: (text: string) => string = (t) => t;
  return (text) => {
    const now = storeStamp(dir);
    if (now !== stamp) {
      stamp = now;
      cut = redactorOf(spec, dir);
    }
    return cut(text);
  };
}

function storeStamp(dir: string): string {
  try {
    return readdirSync(dir)
      .map((f) => `${f}:${statSync(join(dir, f)).mtimeMs}`)
      .join("|");
  } catch {
    return "none";
  }
}

function redactorOf(spec: EnvironmentSpec, dir: string): (text: string) => string {
  const values: Array<[string, string]> = [];
  // Without root the store is unreadable; so, then, is what the console would show of the hosts.
  try {
    for (const app of spec.catalogue.apps) {
      for (const [name, value] of readLocalSecretValues(dir, app.name)) if (value && value.length >= 6) values.push([value, `[secret ${app.name} ${name}]`]);
    }
    const dbEnv = localDatabaseEnvFile(dir);
    if (existsSync(dbEnv)) {
      for (const line of readFileSync(dbEnv, "utf8").split("\n")) {
        const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
        const value = m?.[2]?.replace(/^'(.*)'$/, "$1");
        if (m && value && value.length >= 6 && /PASSWORD|URL/.test(m[1]!)) values.push([value, `[secret ${m[1]}]`]);
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EACCES") throw e;
  }
  // Longest first: a value that contains another is cut whole.
  values.sort((a, b) => b[0].length - a[0].length);
  return (text) => values.reduce((t, [value, name]) => t.split(value).join(name), text.replace(/(\w+:\/\/[^:\s/@]+:)[^@\s/]+@/g, "$1[secret]@"));
}

/** `fawkes release shop r1 --stack dev`: the command line the history and the lock show, as the CLI would write it. */
function commandOf(r: ActionRequest): string {
  const a = r.args;
  switch (r.action) {
    case "release":
      return `fawkes release ${a.app} ${a.release} --stack ${r.stack}`;
    case "rollback":
      return `fawkes rollback ${a.app} --to ${a.to} --stack ${r.stack}`;
    case "maintenance-on":
    case "maintenance-off":
      return `fawkes maintenance ${r.action.slice("maintenance-".length)} ${a.app} --stack ${r.stack}`;
    default:
      return `fawkes ${r.action} --stack ${r.stack}`;
  }
}

function fromEntry(e: HistoryEntry): ActionEnd {
  return { result: e.result, message: e.failure ?? `${e.kind} ${e.result} in ${e.durationSeconds} s`, entry: e.id };
}

/** Runs one action; the lines go to `run` as they come. Throws ActionRefused (nothing changed) or the library's error. */
export async function runAction(ctx: ConsoleContext, req: ActionRequest, live: LiveOutput, run: LiveRun, redact: (text: string) => string): Promise<ActionEnd> {
  const echo = (line: string) => live.line(run, redact(line));
  // The lock and the history show it: what the CLI would have run, and on whose behalf.
  const command = `${commandOf(req)} [by ${req.who}]`;
  const a = req.args;
  const target = ctx.target ?? "local";
  if (target === "aws" && (req.action.startsWith("lock-") || req.action.startsWith("qa-"))) {
    throw new ActionRefused(`${req.action} is not run from the console on AWS yet: from a machine with the stack's credentials, fawkes ${req.action.startsWith("lock-") ? "lock status|break --target aws" : "qa up|down|list"} --stack ${req.stack}`);
  }
  switch (req.action) {
    case "release":
    case "rollback": {
      const release = req.action === "release" ? a.release! : a.to!;
      const request = { root: ctx.root, stack: req.stack, app: a.app!, release, kind: req.action, command, echo, who: req.who, home: ctx.home };
      return fromEntry(target === "aws" ? await awsRelease(request) : await localRelease(request));
    }
    case "maintenance-on":
    case "maintenance-off": {
      const r = await setMaintenance({ root: ctx.root, stack: req.stack, app: a.app!, on: req.action === "maintenance-on", target, command, echo, home: ctx.home, who: req.who });
      echo(r.message);
      return r.entry ? fromEntry(r.entry) : { result: "succeeded", message: r.message };
    }
    case "lock-take": {
      const l = takeDeployLock(req.stack, req.who, a.reason!, ctx.home, req.subject);
      return { result: "succeeded", message: `held by ${l.who} since ${l.since}: ${a.reason}` };
    }
    case "lock-give-back":
    case "lock-give-back-any": {
      const l = giveBackDeployLock(req.stack, ctx.home, a.token);
      return { result: "succeeded", message: l ? `given back (held by ${l.who} since ${l.since})` : "nobody held it" };
    }
    case "lock-break": {
      const held = readDeployLock(req.stack, ctx.home);
      if (held && !held.stale) throw new ActionRefused(`the lock's command still runs ("${held.lock.command}" by ${held.lock.who}); a live command's lock is only broken from the machine it runs on: fawkes lock break --stack ${req.stack} --force`);
      const l = breakDeployLock(req.stack, ctx.home);
      return { result: "succeeded", message: l ? `removed the lock of "${l.command}" by ${l.who}` : "nobody held it" };
    }
    case "qa-up": {
      const r = await qaUpLocal({ root: ctx.root, branch: a.branch!, progress: echo });
      return { result: "succeeded", message: `${r.record.stack} up: ${Object.entries(r.up.urls).map(([app, url]) => `${app} ${url}`).join(", ")}` };
    }
    case "qa-extend": {
      const r = qaExtend(a.branch!, a.by!);
      return { result: "succeeded", message: `${r.stack} kept until ${r.keepUntil}` };
    }
    case "qa-down": {
      // Not while anyone holds the environment: a release running, or a hold by hand.
      const held = readDeployLock(req.stack, ctx.home);
      if (held) throw new ActionRefused(`${req.stack} is locked by ${held.lock.who} since ${held.lock.since} (${held.lock.command}); nothing was torn down`);
      const r = await qaDown(a.branch!, echo);
      return { result: "succeeded", message: `${r.stack} torn down${r.stackFileRemoved ? ", its stack file removed" : ""}` };
    }
  }
}
