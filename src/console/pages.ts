// The console's pages, rendered on the server from plain values. Pure: every value goes through
// the `html` tag, which escapes it. Forms carry the CSRF token; buttons a role lacks are not shown
// (the server refuses them all the same).
import type { ConsoleRole } from "../config/index.ts";
import type { HeldDeployLock, HistoryEntry } from "../release/index.ts";
import { allows, type Principal } from "./access.ts";
import type { AuditEntry } from "./audit.ts";
import type { ReleaseDiff } from "./diff.ts";
import { html, seg, type Html } from "../html/index.ts";
import type { AppView, EnvView } from "./view.ts";

export interface PageFrame {
  title: string;
  who?: Principal;
  csrf?: string;
  /** The path of the page, to mark the current link. */
  path: string;
}

export const STYLESHEET = "/static/console.css";
export const SCRIPT = "/static/console.js";

export function layout(frame: PageFrame, body: Html): string {
  const nav = frame.who
    ? html`<nav><a href="/" class="brand">fawkes</a><a href="/">Environments</a><a href="/qa">QA</a><a href="/audit">Audit</a>
<span class="who">${frame.who.name} <small>(${frame.who.groups.join(", ") || "no group"})</small></span>${
        frame.who.via === "password" ? html`<form method="post" action="/logout" class="inline">${csrfField(frame.csrf)}<button>Sign out</button></form>` : ""
      }</nav>`
    : html`<nav><a href="/" class="brand">fawkes</a></nav>`;
  return `<!doctype html>\n${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · fawkes</title><link rel="stylesheet" href="${STYLESHEET}"><script src="${SCRIPT}" defer></script></head>
<body>${nav}<main><h1>${frame.title}</h1>${body}</main></body></html>`.text}\n`;
}

export function csrfField(token: string | undefined): Html {
  return token ? html`<input type="hidden" name="csrf" value="${token}">` : html``;
}

/** `2026-12-06 07:00 UTC` */
export function when(iso: string | number): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function loginPage(error?: string, next = "/"): string {
  return layout(
    { title: "Sign in", path: "/login" },
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ""}
<form method="post" action="/login" class="login"><input type="hidden" name="next" value="${next}">
<label>User <input name="user" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button>Sign in</button></form>`,
  );
}

export function messagePage(frame: PageFrame, status: number, message: string): string {
  return layout({ ...frame, title: status === 403 ? "Forbidden" : status === 404 ? "Not found" : status === 400 ? "Bad request" : "Error" }, html`<p class="error" role="alert">${message}</p><p><a href="/">Environments</a></p>`);
}

function health(a: AppView, e: Pick<EnvView, "up" | "target">): Html {
  // On AWS the target groups' health is CloudWatch's: not read by the console.
  if (e.target === "aws") return a.maintenance ? html`<span class="badge warn">maintenance</span>` : html`<span class="badge off">on AWS</span>`;
  if (!e.up) return html`<span class="badge off">down</span>`;
  if (a.maintenance) return html`<span class="badge warn">maintenance</span>`;
  if (!a.health) return html`<span class="badge off">no web host</span>`;
  const ok = a.health.up === a.health.of && a.health.of > 0;
  return html`<span class="badge ${ok ? "ok" : "bad"}">${a.health.up}/${a.health.of} up</span>`;
}

function lockBadge(lock: HeldDeployLock | undefined, problem?: string): Html {
  if (problem !== undefined) return html`<span class="badge bad" title="${problem}">lock unknown</span>`;
  if (!lock) return html``;
  return html`<span class="badge warn" title="${lock.lock.command}">locked by ${lock.lock.who}${lock.stale ? " (stale)" : ""}</span>`;
}

function envName(e: EnvView): Html {
  return html`<a href="/env/${seg(e.stack)}">${e.stack}</a>${e.qa ? html`<br><small>branch ${e.qa.branch}, ${e.qa.expired ? "expired" : "until"} ${when(e.qa.expiresAt)}</small>` : ""}`;
}

export function overviewPage(frame: PageFrame, envs: readonly EnvView[]): string {
  const apps = [...new Set(envs.flatMap((e) => e.apps.map((a) => a.app)))];
  const body =
    envs.length === 0
      ? html`<p>No environment you may see. Your groups: ${frame.who?.groups.join(", ") || "none"}; each stack's <code>access</code> knob names the groups that see it.</p>`
      : html`<table class="grid"><thead><tr><th>Environment</th>${apps.map((a) => html`<th>${a}</th>`)}</tr></thead><tbody>
${envs.map(
  (e) => html`<tr data-stack="${e.stack}"><th scope="row">${envName(e)} ${lockBadge(e.lock, e.lockProblem)} <small class="role">${e.role}</small></th>${apps.map((name) => {
    const a = e.apps.find((x) => x.app === name);
    if (!a) return html`<td class="none">—</td>`;
    return html`<td data-app="${name}"><code>${a.pinned ?? "unpinned"}</code> ${health(a, e)}${a.since ? html`<br><small>since ${when(a.since.at)} by ${a.since.who}</small>` : ""}</td>`;
  })}</tr>`,
)}</tbody></table>`;
  return layout(frame, body);
}

export interface EnvPageData {
  env: EnvView;
  /** Built releases per app, newest first. */
  releases: Record<string, Array<{ release: string; builtAt: string }>>;
  /** Why an app's releases could not be listed (AWS: its bucket out of reach). */
  releaseProblems?: Record<string, string>;
  history: readonly HistoryEntry[];
  /** The pushes shown are this app's only. */
  app?: string;
  running?: { title: string; who: string };
}

function lockSection(frame: PageFrame, e: EnvView): Html {
  const base = `/env/${seg(e.stack)}/lock`;
  const l = e.lock?.lock;
  const mine = l?.held === true && frame.who !== undefined && l.heldBy === frame.who.subject;
  // On AWS the console does not hold nor give back locks (yet): no button that would be refused.
  const controls = e.target === "aws"
    ? html`<p><small>Held and given back with fawkes lock on AWS.</small></p>`
    : !l
    ? allows(e.role, "deploy")
      ? html`<form method="post" action="${base}" class="inline">${csrfField(frame.csrf)}<input type="hidden" name="do" value="take"><input name="reason" placeholder="why (shown to whoever is refused)" required maxlength="200"><button>Take the lock</button></form>`
      : ""
    : html`${l.held === true && allows(e.role, mine ? "deploy" : "admin") ? html`<form method="post" action="${base}" class="inline">${csrfField(frame.csrf)}<input type="hidden" name="do" value="give-back"><button>Give it back</button></form>` : ""}${
        l.held !== true && allows(e.role, "admin") && e.lock!.stale ? html`<form method="post" action="${base}" class="inline" data-confirm="Break the lock of a command that died?">${csrfField(frame.csrf)}<input type="hidden" name="do" value="break"><button>Break it</button></form>` : ""
      }`;
  if (e.lockProblem !== undefined) return html`<section class="lock"><h2>Deploy lock</h2><p class="error" data-lock="unknown">Could not be read: ${e.lockProblem}</p></section>`;
  return html`<section class="lock"><h2>Deploy lock</h2>${
    l ? html`<p data-lock="held">Held by <b>${l.who}</b> since ${when(l.since)}: ${l.command}${e.lock!.stale ? " (stale: its process is gone)" : ""}</p>` : html`<p data-lock="free">Free: releases may run.</p>`
  }${controls}</section>`;
}

function appRows(frame: PageFrame, d: EnvPageData): Html {
  const e = d.env;
  const deploy = allows(e.role, "deploy");
  return html`<table class="apps"><thead><tr><th>App</th><th>Release</th><th>Health</th><th>Since</th>${deploy ? html`<th>Release</th><th>Maintenance</th>` : ""}</tr></thead><tbody>
${e.apps.map((a) => {
  const options = (d.releases[a.app] ?? []).filter((r) => r.release !== a.pinned);
  return html`<tr data-app="${a.app}"><th scope="row"><a href="/env/${seg(e.stack)}?app=${seg(a.app)}#pushes" title="${a.app}'s pushes">${a.app}</a></th><td><code>${a.pinned ?? "unpinned"}</code></td><td>${health(a, e)}</td><td>${a.since ? html`${when(a.since.at)} by ${a.since.who}` : "—"}</td>${
    deploy
      ? html`<td>${
          d.releaseProblems?.[a.app] !== undefined
            ? html`<small class="error">releases not listed: ${d.releaseProblems[a.app]}</small>`
            : options.length === 0
            ? html`<small>no other release built</small>`
            : html`<form method="post" action="/env/${seg(e.stack)}/release" class="inline release">${csrfField(frame.csrf)}<input type="hidden" name="app" value="${a.app}"><select name="release" aria-label="release of ${a.app}">${options.map(
                (r) => html`<option value="${r.release}">${r.release} (built ${when(r.builtAt)})</option>`,
              )}</select><button>Release</button></form>`
        }</td><td><form method="post" action="/env/${seg(e.stack)}/maintenance" class="inline">${csrfField(frame.csrf)}<input type="hidden" name="app" value="${a.app}"><input type="hidden" name="on" value="${a.maintenance ? "off" : "on"}"><button>${a.maintenance ? "End maintenance" : "Maintenance on"}</button></form></td>`
      : ""
  }</tr>`;
})}</tbody></table>`;
}

/**
 * The release a push's Rollback button goes back to: a successful release or rollback's own
 * release when the app no longer runs it; for the push that made the app's current release, the
 * release it replaced (which served until then). None for anything else.
 */
export function rollbackTo(entry: HistoryEntry, pins: Record<string, string | undefined>): string | undefined {
  if ((entry.kind !== "release" && entry.kind !== "rollback") || entry.result !== "succeeded" || entry.app === undefined || entry.to === undefined) return undefined;
  const current = pins[entry.app];
  if (entry.to !== current) return entry.to;
  return entry.from !== undefined && entry.from !== current ? entry.from : undefined;
}

function historyRows(frame: PageFrame, d: EnvPageData): Html {
  const e = d.env;
  const pins = Object.fromEntries(e.apps.map((a) => [a.app, a.pinned]));
  const rows = [...d.history].reverse();
  if (rows.length === 0) return html`<p>No push yet.</p>`;
  return html`<table class="history"><thead><tr><th>When</th><th>What</th><th>Who</th><th>Result</th><th>Took</th><th></th></tr></thead><tbody>
${rows.map((h) => {
  const back = allows(e.role, "deploy") ? rollbackTo(h, pins) : undefined;
  return html`<tr data-entry="${h.id}" class="${h.result}"><td><a href="/env/${seg(e.stack)}/push/${seg(h.id)}">${when(h.startedAt)}</a></td><td>${h.kind} ${h.app ?? ""} ${
    h.from !== undefined || h.to !== undefined ? html`<code>${h.from ?? "—"}</code> → <code>${h.to ?? "—"}</code>` : ""
  }${h.app && h.from && h.to && h.kind !== "maintenance" && h.kind !== "run" ? html` <a href="/env/${seg(e.stack)}/diff?app=${seg(h.app)}&amp;from=${seg(h.from)}&amp;to=${seg(h.to)}">diff</a>` : ""}</td><td>${h.who}</td><td><span class="result ${h.result}">${h.result}</span></td><td>${h.durationSeconds} s</td><td>${
    back !== undefined
      ? html`<form method="post" action="/env/${seg(e.stack)}/rollback" class="inline rollback" data-confirm="Roll ${h.app} back to ${back}?">${csrfField(frame.csrf)}<input type="hidden" name="app" value="${h.app}"><input type="hidden" name="to" value="${back}"><button>Roll back to ${back}</button></form>`
      : ""
  }</td></tr>`;
})}</tbody></table>`;
}

export function envPage(frame: PageFrame, d: EnvPageData): string {
  const e = d.env;
  const qa = e.qa ? html`<p>QA environment of branch <b>${e.qa.branch}</b> at <code>${e.qa.commit.slice(0, 12)}</code>; ${e.qa.expired ? "expired" : "kept until"} ${when(e.qa.expiresAt)}. <a href="/qa">QA environments</a></p>` : "";
  return layout(
    frame,
    html`<p class="meta">Your role here: <b>${e.role}</b>. Hosts: ${e.target === "aws" ? "on AWS" : e.up ? "up on this machine" : "not running here"}. <a href="/env/${seg(e.stack)}/errors">Top tracebacks</a></p>${qa}
${appRows(frame, d)}
${lockSection(frame, e)}
<section class="live" data-stream="/env/${seg(e.stack)}/live"><h2>Live output</h2><p class="state">${d.running ? `${d.running.title} by ${d.running.who}: running` : "Nothing running."}</p><pre class="output" aria-live="polite"></pre></section>
<section id="pushes"><h2>Pushes${d.app ? html` of ${d.app} <small><a href="/env/${seg(e.stack)}#pushes">(every app)</a></small>` : ""}</h2>${historyRows(frame, d)}</section>`,
  );
}

export function pushPage(frame: PageFrame, stack: string, h: HistoryEntry, logs: Array<{ name: string; text: string }>): string {
  return layout(
    frame,
    html`<p><a href="/env/${seg(stack)}">← ${stack}</a></p><dl class="facts"><dt>What</dt><dd>${h.kind} ${h.app ?? ""} <code>${h.from ?? "—"}</code> → <code>${h.to ?? "—"}</code></dd><dt>Who</dt><dd>${h.who}</dd><dt>Command</dt><dd><code>${h.command}</code></dd><dt>When</dt><dd>${when(h.startedAt)}, ${h.durationSeconds} s</dd><dt>Result</dt><dd><span class="result ${h.result}">${h.result}</span></dd><dt>Hosts replaced</dt><dd>${h.hostsReplaced.join(", ") || "none"}</dd>${
      h.failure ? html`<dt>What failed</dt><dd><pre>${h.failure}</pre></dd>` : ""
    }</dl>${logs.length === 0 ? html`<p>No output kept.</p>` : logs.map((l) => html`<h2>${l.name}</h2><pre class="output">${l.text}</pre>`)}`,
  );
}

export function diffPage(frame: PageFrame, stack: string, d: ReleaseDiff): string {
  const img = d.from.image === d.to.image ? html`the same host image <code>${d.to.image ?? "unknown"}</code>` : html`host image <code>${d.from.image ?? "unknown"}</code> → <code>${d.to.image ?? "unknown"}</code>: the venv was built anew`;
  return layout(
    frame,
    html`<p><a href="/env/${seg(stack)}">← ${stack}</a></p><p>${d.app}: <code>${d.from.release}</code> (commit <code>${d.from.gitSha?.slice(0, 12) ?? "?"}</code>) → <code>${d.to.release}</code> (commit <code>${d.to.gitSha?.slice(0, 12) ?? "?"}</code>); ${img}.</p>${d.note ? html`<p class="note">${d.note}</p>` : ""}
<h2>Commits</h2>${d.commits.length === 0 ? html`<p>None in the app's source.</p>` : html`<ul class="commits">${d.commits.map((c) => html`<li><code>${c}</code></li>`)}</ul>`}
<h2>Catalogue and dependencies</h2>${d.config.trim() === "" ? html`<p>Unchanged.</p>` : html`<pre class="diff">${d.config}</pre>`}`,
  );
}

/** The daily mail's digest (errorDigestHtml, which escapes every value from a log), or why it could not be read. */
export function errorsPage(frame: PageFrame, stack: string, digest: Html | undefined, problem?: string): string {
  return layout(frame, html`<p><a href="/env/${seg(stack)}">← ${stack}</a> · the same digest as the daily mail</p><section class="digest">${problem ? html`<p class="error">${problem}</p>` : digest}</section>`);
}

export interface QaRow {
  stack: string;
  branch: string;
  commit: string;
  expiresAt: string;
  expired: boolean;
  up: boolean;
  urls: Record<string, string>;
}

export function qaPage(frame: PageFrame, rows: readonly QaRow[], role: ConsoleRole | undefined, target: "local" | "aws" = "local"): string {
  // QA environments on AWS are made with fawkes qa up (the Automation API), not from the page yet.
  const deploy = allows(role, "deploy") && target === "local";
  return layout(
    frame,
    html`${deploy ? html`<form method="post" action="/qa/up" class="inline">${csrfField(frame.csrf)}<label>Branch <input name="branch" required maxlength="200" pattern="[A-Za-z0-9._/-]+"></label><button>Create a QA environment</button></form>` : html`<p>Making QA environments needs the deploy role of the qa template's stack.</p>`}
${
  rows.length === 0
    ? html`<p>No QA environment.</p>`
    : html`<table class="qa"><thead><tr><th>Branch</th><th>Stack</th><th>Commit</th><th>Expires</th><th>State</th><th>URLs</th>${deploy ? html`<th></th>` : ""}</tr></thead><tbody>${rows.map(
        (r) => html`<tr data-stack="${r.stack}"><td>${r.branch}</td><td><a href="/env/${seg(r.stack)}">${r.stack}</a></td><td><code>${r.commit.slice(0, 12)}</code></td><td>${r.expired ? "expired " : ""}${when(r.expiresAt)}</td><td>${r.up ? "up" : "down"}</td><td>${Object.entries(r.urls).map(([app, url]) => html`<a href="${url}">${app}</a> `)}</td>${
          deploy
            ? html`<td><form method="post" action="/qa/${seg(r.stack)}/extend" class="inline">${csrfField(frame.csrf)}<select name="by" aria-label="extend by"><option>1d</option><option>3d</option><option>1w</option></select><button>Extend</button></form><form method="post" action="/qa/${seg(r.stack)}/down" class="inline" data-confirm="Tear down ${r.stack}?">${csrfField(frame.csrf)}<button>Tear down</button></form></td>`
            : ""
        }</tr>`,
      )}</tbody></table>`
}
<section class="live" data-stream="/env/qa/live"><h2>Live output</h2><p class="state">Nothing running.</p><pre class="output" aria-live="polite"></pre></section>`,
  );
}

export function auditPage(frame: PageFrame, entries: readonly AuditEntry[]): string {
  return layout(
    frame,
    entries.length === 0
      ? html`<p>No action yet.</p>`
      : html`<table class="audit"><thead><tr><th>When</th><th>Who</th><th>Environment</th><th>Action</th><th>Outcome</th></tr></thead><tbody>${[...entries].reverse().map(
          (a) => html`<tr class="${a.outcome}"><td>${when(a.at)}</td><td>${a.who}</td><td>${a.stack ?? "—"}</td><td>${a.action} ${Object.entries(a.args).map(([k, v]) => `${k}=${v}`).join(" ")}</td><td>${a.outcome}${a.detail ? html`: ${a.detail}` : ""}</td></tr>`,
        )}</tbody></table>`,
  );
}
