// The console's HTTP server: sign-in, the pages, the live output, and the actions, each checked
// for the person's role in its environment and for the form's CSRF token before anything runs.
// node:http and server-rendered pages; one small script for live output and confirmations.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { ConfigError, type ConsoleRole, type EnvironmentSpec } from "../config/index.ts";
import { DAY_MS, digestOf, errorDigestHtml, stackErrorSource } from "../errors/index.ts";
import { Html } from "../html/index.ts";
import { LocalTargetError } from "../local/index.ts";
import { appNameProblem, qaStackName, reasonProblem, releaseIdProblem, stackNameProblem } from "../names/index.ts";
import { expiresAt, listRecords, QaError, ttlMs } from "../qa/index.ts";
import { AwsCheckError } from "../check/aws.ts";
import { DeployLockedError, DeployLockError, readHistory, RefreshInProgressError } from "../release/index.ts";
import { ACTION_ROLES, allows, consoleWho, roleIn, type ConsoleAction, type Principal } from "./access.ts";
import { ActionRefused, runAction, secretRedactor } from "./actions.ts";
import type { AlbIdentity } from "./alb-identity.ts";
import { appendAudit, readAudit } from "./audit.ts";
import { clientOf, field, header, pathSegment, readBody, redirect, regexProblem, Reply, sameOrigin, send } from "./http.ts";
import { pushLogs } from "./push-logs.ts";
import { PasswordSignIn } from "./sign-in.ts";
import { STATIC_FILES } from "./assets.ts";
import { releaseDiff } from "./diff.ts";
import { LiveOutput } from "./live.ts";
import { auditPage, diffPage, envPage, errorsPage, messagePage, overviewPage, pushPage, qaPage, type PageFrame, type QaRow } from "./pages.ts";
import { clearedCookie, derivedCsrf, sameToken } from "./session.ts";
import { builtReleases, consoleStacks, envView, environments, lockOf, stackFor, type ConsoleContext } from "./view.ts";

export type ConsoleAuth = { kind: "password"; usersFile: string } | { kind: "alb"; verify: (headers: { oidcData?: string; identity?: string }) => Promise<AlbIdentity> };

export interface ConsoleOptions extends ConsoleContext {
  auth: ConsoleAuth;
  /** Behind HTTPS (the ALB): cookies are Secure. */
  secure?: boolean;
}

export interface ConsoleServer {
  server: Server;
  live: LiveOutput;
  /** Resolves when every action started has ended (tests, and a clean stop). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const QA_TEMPLATE = "qa";
/** Answered 200 without sign-in, for the load balancer's health check. */
export const HEALTH_PATH = "/healthz";

const ROLLOUT_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
const BRANCH = /^(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}(?<![./])$/;
const EXTEND_BY = /^[1-9][0-9]{0,2}[hdw]$/;

/** The library's errors that mean "nothing was done": its preconditions, its locks, its checks. */
function refusal(e: Error): boolean {
  return e instanceof ActionRefused || e instanceof DeployLockedError || e instanceof DeployLockError || e instanceof LocalTargetError || e instanceof QaError || e instanceof ConfigError || e instanceof AwsCheckError || e instanceof RefreshInProgressError;
}


export function startConsole(opts: ConsoleOptions): ConsoleServer {
  const ctx: ConsoleContext = { root: opts.root, home: opts.home, store: opts.store, target: opts.target ?? "local", ...(opts.stacks ? { stacks: opts.stacks } : {}) };
  const live = new LiveOutput();
  const secret = randomBytes(32);
  const running = new Set<Promise<unknown>>();
  const secure = opts.secure === true;
  const passwords = opts.auth.kind === "password" ? new PasswordSignIn(opts.auth.usersFile, secure, (req, who, entry) => audit(req, who, entry)) : undefined;

  async function principalOf(req: IncomingMessage): Promise<{ who: Principal; csrf: string } | undefined> {
    if (passwords) return passwords.principalOf(req);
    if (opts.auth.kind !== "alb") return undefined;
    const id = await opts.auth.verify({ oidcData: header(req, "x-amzn-oidc-data"), identity: header(req, "x-amzn-oidc-identity") });
    const who: Principal = { name: id.name, subject: id.subject, groups: id.groups, via: "alb" };
    return { who, csrf: derivedCsrf(secret, id.subject) };
  }

  function audit(req: IncomingMessage, who: string, entry: { stack?: string; action: string; args?: Record<string, string>; outcome: Parameters<typeof appendAudit>[1]["outcome"]; detail?: string }): void {
    appendAudit(ctx.home, { who, from: clientOf(req, opts.auth.kind === "alb"), args: {}, ...entry });
  }

  /** The stack named in a path: the one name rule, then the person's role in it; 404 for both a missing stack and one they may not see. */
  function stackOf(name: string, who: Principal): { stack: string; spec: EnvironmentSpec; role: ConsoleRole } {
    if (stackNameProblem(name) !== undefined) throw new Reply(404, "no such environment");
    const found = stackFor(ctx, name, who);
    if (!found) throw new Reply(404, `no environment "${name}" that you may see`);
    return { stack: name, ...found };
  }

  /** Starts an action in the background after its checks; the page then shows its live output. */
  function act(req: IncomingMessage, who: Principal, action: ConsoleAction, env: { stack: string; spec: EnvironmentSpec; role: ConsoleRole }, channel: string, args: Record<string, string>): Reply {
    const needed = ACTION_ROLES[action];
    if (!allows(env.role, needed)) {
      audit(req, who.name, { stack: env.stack, action, args, outcome: "forbidden", detail: `needs ${needed}, has ${env.role}` });
      throw new Reply(403, `${action} in ${env.stack} needs the ${needed} role; yours is ${env.role}. Nothing was changed.`);
    }
    // One action at a time per environment, and per QA page: whichever channel it shows on.
    const busy = live.running(channel) ?? live.running(env.stack);
    if (busy) {
      audit(req, who.name, { stack: env.stack, action, args, outcome: "refused", detail: `busy: ${busy.title}` });
      throw new Reply(409, `${busy.title} by ${busy.who} is still running in ${busy.stack}; wait for it to end. Nothing was changed.`);
    }
    // The environment's secrets, cut out of every line, message and audit entry; a QA environment being made has its own.
    const redact = action === "qa-up" ? secretRedactor(env.spec, qaStackName(args.branch!)) : secretRedactor(env.spec);
    const label = consoleWho(who);
    audit(req, who.name, { stack: env.stack, action, args, outcome: "started" });
    const run = live.start(channel, `${action} ${Object.values(args).join(" ")}`.trim(), who.name);
    const work = runAction(ctx, { action, stack: env.stack, spec: env.spec, who: label, subject: who.subject, args }, live, run, redact)
      .then((end) => {
        const shown = { ...end, message: redact(end.message) };
        live.finish(run, shown);
        audit(req, who.name, { stack: env.stack, action, args, outcome: end.result === "succeeded" ? "done" : "failed", detail: shown.message });
      })
      .catch((e: Error) => {
        const refused = refusal(e);
        const message = redact(e.message);
        live.line(run, `${refused ? "refused" : "error"}: ${message}`);
        live.finish(run, { result: refused ? "refused" : "failed", message });
        audit(req, who.name, { stack: env.stack, action, args, outcome: refused ? "refused" : "failed", detail: message });
      })
      .catch((e: Error) => {
        // The audit log itself failed: the run still ends, so the environment is not busy for ever.
        if (!run.end) live.finish(run, { result: "failed", message: `the audit log could not be written: ${e.message}` });
      })
      .finally(() => running.delete(work));
    running.add(work);
    // A QA environment's actions show on the QA page, whose live output is the template's channel.
    return redirect(channel === QA_TEMPLATE ? "/qa" : `/env/${encodeURIComponent(env.stack)}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://console");
    const path = url.pathname;
    const method = req.method ?? "GET";
    // The load balancer's health check: no sign-in, no state.
    if (path === HEALTH_PATH && (method === "GET" || method === "HEAD")) return send(res, new Reply(200, "ok\n", { "content-type": "text/plain; charset=utf-8" }));
    if (method === "GET" && STATIC_FILES[path]) {
      const f = STATIC_FILES[path];
      return send(res, new Reply(200, f.body, { "content-type": f.type, "cache-control": "max-age=300" }));
    }
    // Sign-in, the one page without a person.
    if (path === "/login" && passwords && (method === "GET" || method === "POST")) return send(res, await passwords.signIn(req, url));
    let me: { who: Principal; csrf: string } | undefined;
    try {
      me = await principalOf(req);
    } catch (e) {
      return send(res, new Reply(401, messagePage({ title: "", path }, 401, `Not signed in: ${(e as Error).message}`)));
    }
    if (!me) {
      if (method === "GET") return send(res, redirect(`/login?next=${encodeURIComponent(path + url.search)}`));
      return send(res, new Reply(401, messagePage({ title: "", path }, 401, "Not signed in: sign in again; nothing was changed.")));
    }
    const { who, csrf } = me;
    const frame = (title: string): PageFrame => ({ title, who, csrf, path });
    if (method === "POST") {
      sameOrigin(req);
      const form = await readBody(req);
      if (!sameToken(form.get("csrf") ?? undefined, csrf)) {
        audit(req, who.name, { action: path, outcome: "forbidden", detail: "no valid CSRF token" });
        throw new Reply(403, messagePage(frame("Forbidden"), 403, "This form did not come from a page of this console (its CSRF token is missing or old): reload the page and try again. Nothing was changed."));
      }
      return send(res, await post(req, who, path, form, frame));
    }
    if (method !== "GET" && method !== "HEAD") throw new Reply(405, "GET or POST", { allow: "GET, POST" });
    return send(res, await get(req, res, who, url, frame));
  }

  async function get(req: IncomingMessage, res: ServerResponse, who: Principal, url: URL, frame: (t: string) => PageFrame): Promise<Reply> {
    const path = url.pathname;
    if (path === "/") return new Reply(200, overviewPage(frame("Environments"), await environments(ctx, who)));
    if (path === "/qa") return new Reply(200, await qaPageOf(who, frame("QA environments")));
    if (path === "/audit") {
      const roles = new Map(consoleStacks(ctx).flatMap((s) => (s.spec ? [[s.stack, roleIn(s.spec.knobs.access, who.groups)] as const] : [])).filter(([, r]) => r !== undefined));
      const visible = new Set(roles.keys());
      const anyAdmin = [...roles.values()].includes("admin");
      return new Reply(200, auditPage(frame("Audit"), readAudit(ctx.home).filter((a) => (a.stack ? visible.has(a.stack) : anyAdmin))));
    }
    const m = /^\/env\/([^/]+)(?:\/(live|errors|diff|push\/([^/]+)))?$/.exec(path);
    if (!m) throw new Reply(404, messagePage(frame(""), 404, "No such page."));
    const env = stackOf(pathSegment(m[1]!), who);
    if (m[2] === "live") {
      live.listen(env.stack, res);
      throw new Reply(0, "");
    }
    if (m[2] === "errors") {
      // The daily mail's digest: the last 24 hours, the top of each app, secrets cut out of the samples.
      const until = Date.now();
      const since = until - DAY_MS;
      const apps = env.spec.catalogue.apps.map((a) => a.name);
      const source = stackErrorSource(env.spec, ctx.target ?? "local");
      const redact = secretRedactor(env.spec);
      try {
        const digest = digestOf(await source.collect({ since, until, apps }), { stack: env.stack, target: ctx.target ?? "local", where: source.where, since, until, apps }, Infinity);
        for (const g of digest.groups) {
          g.message = redact(g.message);
          g.sample = { ...g.sample, lines: g.sample.lines.map(redact), ...(g.sample.logLine !== undefined ? { logLine: redact(g.sample.logLine) } : {}) };
        }
        return new Reply(200, errorsPage(frame(`Top tracebacks of ${env.stack}`), env.stack, new Html(errorDigestHtml(env.spec.project, digest, env.spec.knobs.errorMail.top))));
      } catch (e) {
        return new Reply(200, errorsPage(frame(`Top tracebacks of ${env.stack}`), env.stack, undefined, (e as Error).message));
      }
    }
    if (m[2] === "diff") {
      const app = field(url.searchParams, "app", appNameProblem);
      if (!env.spec.catalogue.apps.some((a) => a.name === app)) throw new Reply(400, `no app "${app}" in ${env.stack}`);
      const from = field(url.searchParams, "from", releaseIdProblem);
      const to = field(url.searchParams, "to", releaseIdProblem);
      return new Reply(200, diffPage(frame(`${app}: ${from} → ${to}`), env.stack, await releaseDiff(ctx.root, ctx.store, env.spec, app, from, to)));
    }
    if (m[3] !== undefined) {
      const id = pathSegment(m[3]);
      const entry = ROLLOUT_ID.test(id) ? readHistory(env.stack, ctx.home).find((h) => h.id === id) : undefined;
      if (!entry) throw new Reply(404, messagePage(frame(""), 404, `no push ${id.slice(0, 40)} in ${env.stack}`));
      const redact = secretRedactor(env.spec);
      const shown = { ...entry, ...(entry.failure !== undefined ? { failure: redact(entry.failure) } : {}) };
      return new Reply(200, pushPage(frame(`${entry.kind} in ${env.stack}`), env.stack, shown, pushLogs(ctx, env, entry)));
    }
    const view = await envView(ctx, { stack: env.stack, spec: env.spec }, who, new Map(listRecords(ctx.home).records.map((r) => [r.stack, r])));
    // A bucket out of reach (AWS) is said in the app's row; the rest of the page still shows.
    const listed = await Promise.all(
      env.spec.catalogue.apps.map(async (a) => {
        try {
          return { app: a.name, releases: (await builtReleases(ctx, env.spec, a.name)).slice(0, 30) };
        } catch (e) {
          return { app: a.name, releases: [], problem: (e as Error).message };
        }
      }),
    );
    const releases = Object.fromEntries(listed.map((l) => [l.app, l.releases]));
    const releaseProblems = Object.fromEntries(listed.flatMap((l) => (l.problem !== undefined ? [[l.app, l.problem]] : [])));
    const running = live.running(env.stack);
    const app = url.searchParams.has("app") ? field(url.searchParams, "app", appNameProblem) : undefined;
    const history = readHistory(env.stack, ctx.home).filter((h) => app === undefined || h.app === app);
    return new Reply(200, envPage(frame(env.stack), { env: view!, releases, releaseProblems, history: history.slice(-100), ...(app !== undefined ? { app } : {}), ...(running ? { running } : {}) }));
  }

  async function qaPageOf(who: Principal, f: PageFrame): Promise<string> {
    const template = stackFor(ctx, QA_TEMPLATE, who);
    const now = Date.now();
    const rows: QaRow[] = [];
    const specs = new Map(consoleStacks(ctx).flatMap((s) => (s.spec ? [[s.stack, s.spec] as const] : [])));
    for (const r of listRecords(ctx.home).records) {
      const spec = specs.get(r.stack);
      if (!spec || roleIn(spec.knobs.access, who.groups) === undefined) continue;
      const v = await envView(ctx, { stack: r.stack, spec }, who, new Map());
      const at = expiresAt(r);
      rows.push({ stack: r.stack, branch: r.branch, commit: r.commit, expiresAt: new Date(at).toISOString(), expired: at < now, up: v?.up ?? false, urls: r.urls });
    }
    return qaPage(f, rows, template?.role, ctx.target ?? "local");
  }

  async function post(req: IncomingMessage, who: Principal, path: string, form: URLSearchParams, frame: (t: string) => PageFrame): Promise<Reply> {
    if (path === "/logout") {
      return redirect("/login", { "set-cookie": passwords?.signOut(req) ?? clearedCookie(secure) });
    }
    if (path === "/qa/up") {
      const env = stackOf(QA_TEMPLATE, who);
      const branch = field(form, "branch", regexProblem(BRANCH, "must be a git branch name: letters, digits and . _ / -"));
      return act(req, who, "qa-up", env, QA_TEMPLATE, { branch });
    }
    const qa = /^\/qa\/([^/]+)\/(extend|down)$/.exec(path);
    if (qa) {
      const env = stackOf(pathSegment(qa[1]!), who);
      const record = listRecords(ctx.home).records.find((r) => r.stack === env.stack);
      if (!record || qaStackName(record.branch) !== env.stack) throw new Reply(404, messagePage(frame(""), 404, `${env.stack} is not a QA environment of this machine`));
      if (qa[2] === "extend") {
        const by = field(form, "by", regexProblem(EXTEND_BY, "must be a duration like 1d, 36h or 2w"));
        ttlMs(by);
        return act(req, who, "qa-extend", env, QA_TEMPLATE, { branch: record.branch, by });
      }
      return act(req, who, "qa-down", env, QA_TEMPLATE, { branch: record.branch });
    }
    const m = /^\/env\/([^/]+)\/(release|rollback|lock|maintenance)$/.exec(path);
    if (!m) throw new Reply(404, messagePage(frame(""), 404, "No such action."));
    const env = stackOf(pathSegment(m[1]!), who);
    const appOf = () => {
      const app = field(form, "app", appNameProblem);
      if (!env.spec.catalogue.apps.some((a) => a.name === app)) throw new Reply(400, `no app "${app}" in ${env.stack}`);
      return app;
    };
    switch (m[2]) {
      case "release":
        return act(req, who, "release", env, env.stack, { app: appOf(), release: field(form, "release", releaseIdProblem) });
      case "rollback":
        return act(req, who, "rollback", env, env.stack, { app: appOf(), to: field(form, "to", releaseIdProblem) });
      case "maintenance": {
        const on = field(form, "on", regexProblem(/^(on|off)$/, "must be on or off"));
        return act(req, who, on === "on" ? "maintenance-on" : "maintenance-off", env, env.stack, { app: appOf() });
      }
      default: {
        const what = field(form, "do", regexProblem(/^(take|give-back|break)$/, "must be take, give-back or break"));
        if (what === "take") {
          const reason = field(form, "reason", reasonProblem).trim();
          return act(req, who, "lock-take", env, env.stack, { reason });
        }
        if (what === "give-back") {
          // Your own hold (by your subject, not your name) is yours to give back; another's needs admin. Only that hold: its token.
          const held = (await lockOf(ctx, env.spec).read())?.lock;
          if (!held) throw new Reply(409, `${env.stack} is not locked; nothing was changed`);
          return act(req, who, held.heldBy === who.subject ? "lock-give-back" : "lock-give-back-any", env, env.stack, { token: held.token });
        }
        return act(req, who, "lock-break", env, env.stack, {});
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof Reply) {
        if (e.status !== 0) send(res, e.body.startsWith("<!doctype") ? e : new Reply(e.status, messagePage({ title: "", path: req.url ?? "/" }, e.status, e.body), e.headers));
        return;
      }
      send(res, new Reply(500, messagePage({ title: "", path: req.url ?? "/" }, 500, `internal error: ${(e as Error).message}`)));
    });
  });
  return {
    server,
    live,
    idle: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    close: async () => {
      live.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
