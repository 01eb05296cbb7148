// What the console's pages show, read from where the CLI keeps it: the stack files, the history,
// the deploy locks, the QA records, the artifact store and the local hosts' state. A stack's spec
// is read again only when a file it is made of changed.
import { statSync } from "node:fs";
import { join } from "node:path";
import { stackArtifactBucket, storedReleases, type StoredRelease } from "../artifact/index.ts";
import { listStacks, loadStack, PROJECT_FILE, readProject, RECIPE_FILE, stackFile, templateOf, type ConsoleRole, type EnvironmentSpec } from "../config/index.ts";
import { localStatus } from "../local/index.ts";
import { expiresAt, listRecords, type QaRecord } from "../qa/index.ts";
import { deployLockOf, historyFile, readHistory, type DeployLockStore, type HeldDeployLock, type HistoryEntry } from "../release/index.ts";
import { roleIn, type Principal } from "./access.ts";

export interface AppView {
  app: string;
  /** The release the stack file pins. */
  pinned?: string;
  /** The rollout that put the pinned release there: when it ended, who ran it. */
  since?: { at: string; who: string; entry: string };
  /** Hosts that answer for the app through the load balancer, of those that run it. */
  health?: { up: number; of: number };
  maintenance: boolean;
}

export interface EnvView {
  stack: string;
  role: ConsoleRole;
  target: "local" | "aws";
  qa?: { branch: string; expiresAt: string; expired: boolean; commit: string };
  /** The stack's hosts run on this machine. */
  up: boolean;
  lock?: HeldDeployLock;
  /** The lock could not be read (AWS: the table out of reach): why. */
  lockProblem?: string;
  apps: AppView[];
  /** The stack's files do not load: the error, and nothing else is shown. */
  problem?: string;
}

export interface ConsoleContext {
  root: string;
  /** FAWKES_HOME: history, locks, QA records, local hosts. */
  home: string;
  /** The local artifact store. */
  store: string;
  /**
   * Where the environments run: this machine's hosts (default), or AWS (the console of a
   * management stack): releases and maintenance then go the CLI's `--target aws` way, locks are
   * the stacks' DynamoDB items, releases are listed from each stack's bucket.
   */
  target?: "local" | "aws";
  /** The stacks this console serves (a management stack's `manages`); default every stack of the project. */
  stacks?: readonly string[];
}

/** The stacks of the project this console serves. */
export function consoleStacks(ctx: ConsoleContext): Array<{ stack: string; spec?: EnvironmentSpec; problem?: string }> {
  const all = projectStacks(ctx.root);
  return ctx.stacks ? all.filter((s) => ctx.stacks!.includes(s.stack)) : all;
}

/** dev first, QA branches, staging, production, the others by name: the order a release travels. */
function rank(stack: string): number {
  if (stack === "dev") return 0;
  if (stack === "qa" || stack.startsWith("qa-")) return 1;
  if (stack === "staging") return 3;
  if (stack === "production" || stack === "prod") return 4;
  return 2;
}

export function byReleaseOrder(a: string, b: string): number {
  return rank(a) - rank(b) || a.localeCompare(b);
}

const specs = new Map<string, { stamp: string; spec?: EnvironmentSpec; problem?: string }>();

/** A file's mtime and size, or that it is missing. */
function fileStamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return "missing";
  }
}

/**
 * Every stack of the project, with its spec or why it does not load. A spec is made of the
 * project file, the recipe, the stack's file and, for a QA branch stack, its template's: a release
 * that moves one stack's pin loads that stack again, not all fifty.
 */
export function projectStacks(root: string): Array<{ stack: string; spec?: EnvironmentSpec; problem?: string }> {
  const project = readProject(root);
  const stamps = new Map<string, string>();
  const stampOf = (file: string) => {
    let s = stamps.get(file);
    if (s === undefined) stamps.set(file, (s = `${file}:${fileStamp(join(root, file))}`));
    return s;
  };
  return listStacks(project)
    .sort(byReleaseOrder)
    .map((stack) => {
      const template = templateOf(stack);
      const stamp = [PROJECT_FILE, RECIPE_FILE, stackFile(project, stack), ...(template !== stack ? [stackFile(project, template)] : [])].map(stampOf).join("|");
      const key = `${root}\0${stack}`;
      const cached = specs.get(key);
      if (cached?.stamp === stamp) return { stack, ...cached };
      let entry: { stamp: string; spec?: EnvironmentSpec; problem?: string };
      try {
        entry = { stamp, spec: loadStack(root, stack) };
      } catch (e) {
        entry = { stamp, problem: (e as Error).message };
      }
      specs.set(key, entry);
      return { stack, ...entry };
    });
}

const lastMoves = new Map<string, { stamp: string; byApp: Map<string, HistoryEntry> }>();

/**
 * Each app's last successful release or rollback in a stack, kept while its history file's size and
 * mtime stay (history is only appended): the overview would otherwise parse every stack's whole
 * history on each request. Stamped before reading: a line appended meanwhile only means a re-read.
 */
function lastMovesOf(stack: string, home: string): Map<string, HistoryEntry> {
  const file = historyFile(stack, home);
  const stamp = fileStamp(file);
  const cached = lastMoves.get(file);
  if (cached?.stamp === stamp) return cached.byApp;
  const byApp = new Map<string, HistoryEntry>();
  for (const e of readHistory(stack, home)) if (e.app !== undefined && (e.kind === "release" || e.kind === "rollback") && e.result === "succeeded") byApp.set(e.app, e);
  lastMoves.set(file, { stamp, byApp });
  return byApp;
}

/** The rollout that made `release` the app's serving release: the app's last successful release or rollback, when it went to that release. */
function servingSince(last: HistoryEntry | undefined, release: string | undefined): AppView["since"] {
  return last && last.to === release ? { at: last.finishedAt, who: last.who, entry: last.id } : undefined;
}

/** Counts hosts that answer for each app (HAProxy's UP) against those that run it; local stacks only. */
async function healthOf(stack: string): Promise<{ up: boolean; apps: Map<string, { up: number; of: number }> }> {
  const status = await localStatus(stack);
  const apps = new Map<string, { up: number; of: number }>();
  for (const h of status.hosts.filter((x) => x.running)) {
    for (const [app, state] of Object.entries(h.rotation)) {
      const a = apps.get(app) ?? { up: 0, of: 0 };
      a.of++;
      if (state === "UP") a.up++;
      apps.set(app, a);
    }
  }
  return { up: status.up && status.loadBalancer === "running", apps };
}

function qaOf(record: QaRecord | undefined, now: number): EnvView["qa"] {
  if (!record) return undefined;
  const at = expiresAt(record);
  return { branch: record.branch, expiresAt: new Date(at).toISOString(), expired: at < now, commit: record.commit };
}

/** One environment as the person may see it; undefined when they have no role in it. */
export async function envView(ctx: ConsoleContext, entry: { stack: string; spec?: EnvironmentSpec; problem?: string }, who: Principal, qa: Map<string, QaRecord>, now = Date.now()): Promise<EnvView | undefined> {
  const { stack, spec } = entry;
  // A stack whose files do not load has no access knob to read: it is shown to nobody (fawkes check says what is wrong).
  if (!spec) return undefined;
  const role = roleIn(spec.knobs.access, who.groups);
  if (!role) return undefined;
  const moves = lastMovesOf(stack, ctx.home);
  // On AWS the load balancer's view is CloudWatch's and the target groups': not read here.
  const health = ctx.target === "aws" ? { up: true, apps: new Map<string, { up: number; of: number }>() } : await healthOf(stack);
  const apps = spec.catalogue.apps.map((a): AppView => {
    const pinned = spec.knobs.releases[a.name];
    const since = servingSince(moves.get(a.name), pinned);
    const h = health.apps.get(a.name);
    return { app: a.name, ...(pinned !== undefined ? { pinned } : {}), ...(since ? { since } : {}), ...(h ? { health: h } : {}), maintenance: spec.knobs.maintenance.includes(a.name) };
  });
  // A lock table out of reach (AWS) is said, not fatal: the rest of the page still shows.
  const lock = await lockOf(ctx, spec)
    .read()
    .then((held) => ({ held }), (e: Error) => ({ held: undefined, problem: e.message }));
  const q = qaOf(qa.get(stack), now);
  return { stack, role, target: ctx.target ?? "local", up: health.up, apps, ...(lock.held ? { lock: lock.held } : {}), ...("problem" in lock ? { lockProblem: lock.problem } : {}), ...(q ? { qa: q } : {}) };
}

/** Every environment the person may see, in release order. */
export async function environments(ctx: ConsoleContext, who: Principal): Promise<EnvView[]> {
  const qa = new Map(listRecords(ctx.home).records.map((r) => [r.stack, r]));
  const views = await Promise.all(consoleStacks(ctx).map((s) => envView(ctx, s, who, qa)));
  return views.filter((v): v is EnvView => v !== undefined);
}

/** One stack's spec and the person's role in it; undefined when the stack does not exist or they have none (the same 404). */
export function stackFor(ctx: ConsoleContext, stack: string, who: Principal): { spec: EnvironmentSpec; role: ConsoleRole } | undefined {
  const entry = consoleStacks(ctx).find((s) => s.stack === stack);
  if (!entry?.spec) return undefined;
  const role = roleIn(entry.spec.knobs.access, who.groups);
  return role ? { spec: entry.spec, role } : undefined;
}

/** The stack's deploy lock where its target keeps it: the file here, the DynamoDB item on AWS. */
export function lockOf(ctx: ConsoleContext, spec: EnvironmentSpec): DeployLockStore {
  return ctx.target === "aws" ? deployLockOf({ target: "aws", spec }) : deployLockOf({ target: "local", stack: spec.stack, home: ctx.home });
}

/** Releases of an app built into the store (on AWS the stack's bucket), newest build first: what the Release button offers. */
export async function builtReleases(ctx: ConsoleContext, spec: EnvironmentSpec, app: string): Promise<StoredRelease[]> {
  const found = ctx.target === "aws" ? await stackArtifactBucket(spec).list(app) : storedReleases(ctx.store, app);
  return found.sort((a, b) => b.builtAt.localeCompare(a.builtAt));
}
