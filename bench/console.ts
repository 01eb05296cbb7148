// Console figures (issue 18): the pages' answer times with 50 environments x 20 apps of history
// (20,000 pushes), against 100 ms; and how long a line of live output takes from being written to
// arriving at a reader of the environment's event stream in a process of its own, against 1 s:
// lines written straight to the console's LiveOutput (idle, and while another person reloads the
// overview back to back), and lines of a real action (maintenance on/off) through its echo.
import { spawn } from "node:child_process";
import { utimesSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import type { ConsoleServer } from "../src/console/index.ts";
import { ConsoleClient, httpRequest, serveConsole } from "../test/helpers/console-client.ts";
import { CONSOLE_APPS, CONSOLE_STACKS, consoleProject, PASSWORD, PUSHES_PER_APP, USER, type ConsoleProject } from "./console-project.ts";
import { goal, median, say } from "./measure.ts";

const WARMUP = 5;
const REQUESTS = 50;
const PAGE_GOAL_MS = 100;
const LIVE_LINES = 200;
const LIVE_SPACING_MS = 5;
const LIVE_GOAL_MS = 1000;
const ACTIONS = 20;
/** GET / right after one stack file changed (a release moves a pin, maintenance writes its knob). */
const AFTER_CHANGE = 10;
/** The environment of the per-environment pages, and of the live output. */
const STACK = "production";
/** The environment the maintenance actions run in (they write its stack file). */
const ACTION_STACK = "staging";
const ACTION_APP = "app01";

interface Spread {
  min: number;
  median: number;
  p95: number;
  max: number;
  n: number;
}

function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: median(s), p95: s[Math.max(0, Math.ceil(0.95 * s.length) - 1)]!, max: s.at(-1)!, n: s.length };
}

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const spreadText = (s: Spread) => `min ${ms(s.min)} / median ${ms(s.median)} / p95 ${ms(s.p95)} / max ${ms(s.max)} ms`;

interface PageFigures {
  path: string;
  label: string;
  times: Spread;
  bytes: number;
  /** What the page holds, counted: that it is the full page. */
  holds: string;
}

async function timedGet(port: number, cookie: string, path: string): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  const r = await httpRequest(port, "GET", path, { cookie });
  const took = performance.now() - t0;
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  return { ms: took, body: r.body };
}

const count = (body: string, re: RegExp) => (body.match(re) ?? []).length;

/** Each page in turn, REQUESTS times after WARMUP rounds: the machine's noise hits them alike. */
async function measurePages(port: number, cookie: string, pages: Array<{ path: string; label: string; holds: (body: string) => string }>): Promise<PageFigures[]> {
  for (let i = 0; i < WARMUP; i++) for (const p of pages) await timedGet(port, cookie, p.path);
  const times = pages.map(() => [] as number[]);
  const last = pages.map(() => "");
  for (let i = 0; i < REQUESTS; i++) {
    for (const [j, p] of pages.entries()) {
      const r = await timedGet(port, cookie, p.path);
      times[j]!.push(r.ms);
      last[j] = r.body;
    }
  }
  return pages.map((p, j) => ({ path: p.path, label: p.label, times: spread(times[j]!), bytes: Buffer.byteLength(last[j]!), holds: p.holds(last[j]!) }));
}

interface ReaderEvent {
  event: string;
  got: number;
  data: { id: number; at?: number; result?: string; message?: string };
}

/** A live-reader process on one environment's stream; `until` waits for the events to satisfy a test. */
async function openReader(port: number, cookie: string, stack: string): Promise<{ events: ReaderEvent[]; until: (done: (e: ReaderEvent[]) => boolean, what: string) => Promise<void>; close: () => void }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "live-reader.ts"), String(port), `/env/${stack}/live`, cookie], { stdio: ["pipe", "pipe", "inherit"] });
  const events: ReaderEvent[] = [];
  let changed = () => {};
  let ready: () => void = () => {};
  const opened = new Promise<void>((resolve, reject) => {
    ready = resolve;
    child.on("exit", (code) => reject(new Error(`live reader exited (${code}) before the stream opened`)));
  });
  createInterface({ input: child.stdout }).on("line", (l) => {
    if (l === "ready") return ready();
    events.push(JSON.parse(l) as ReaderEvent);
    changed();
  });
  await opened;
  const until = (done: (e: ReaderEvent[]) => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`live reader: no ${what} within 30 s (${events.length} events)`)), 30_000);
      changed = () => {
        if (done(events)) {
          clearTimeout(timer);
          changed = () => {};
          resolve();
        }
      };
      changed();
    });
  return { events, until, close: () => child.stdin.end() };
}

/** LIVE_LINES lines written to LiveOutput, LIVE_SPACING_MS apart; each line's write-to-arrival time. */
async function liveLines(served: ConsoleServer, port: number, cookie: string, title: string): Promise<Spread> {
  const reader = await openReader(port, cookie, STACK);
  try {
    const run = served.live.start(STACK, title, USER);
    for (let i = 0; i < LIVE_LINES; i++) {
      served.live.line(run, `web batch ${i}: replacing web-${i}: booting (user-data 9876 bytes)`);
      await sleep(LIVE_SPACING_MS);
    }
    served.live.finish(run, { result: "succeeded", message: "bench" });
    await reader.until((e) => e.some((x) => x.event === "end" && x.data.id === run.id), "end of the run");
    const lines = reader.events.filter((e) => e.event === "line" && e.data.id === run.id);
    if (lines.length !== LIVE_LINES) throw new Error(`live reader got ${lines.length} lines of ${LIVE_LINES}`);
    return spread(lines.map((e) => e.got - e.data.at!));
  } finally {
    reader.close();
  }
}

/** ACTIONS maintenance on/off posts in ACTION_STACK, one after the other: each echoed line's latency, and from the post to its first line. */
async function actionLines(served: ConsoleServer, port: number, client: ConsoleClient): Promise<{ lines: Spread; firstLine: Spread; results: string[] }> {
  await client.get(`/env/${ACTION_STACK}`); // the page's CSRF token
  const reader = await openReader(port, client.cookie, ACTION_STACK);
  try {
    const posted: number[] = [];
    for (let i = 0; i < ACTIONS; i++) {
      posted.push(Date.now());
      const r = await client.post(`/env/${ACTION_STACK}/maintenance`, { app: ACTION_APP, on: i % 2 === 0 ? "on" : "off" });
      if (r.status !== 303) throw new Error(`POST maintenance: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      await served.idle();
    }
    await reader.until((e) => e.filter((x) => x.event === "end").length >= ACTIONS, `${ACTIONS} ends`);
    const runs = reader.events.filter((e) => e.event === "start").map((e) => e.data.id);
    const lines = reader.events.filter((e) => e.event === "line");
    const firstLine = runs.map((id, i) => lines.find((l) => l.data.id === id)!.got - posted[i]!);
    const results = reader.events.filter((e) => e.event === "end").map((e) => `${e.data.result}`);
    return { lines: spread(lines.map((e) => e.got - e.data.at!)), firstLine: spread(firstLine), results };
  } finally {
    reader.close();
  }
}

/** GET / right after one stack file was written (its mtime moved), AFTER_CHANGE times: what changed is read again. */
async function afterChange(project: ConsoleProject, port: number, cookie: string): Promise<Spread> {
  const times: number[] = [];
  for (let i = 0; i < AFTER_CHANGE; i++) {
    const t = new Date(Date.now() + (i + 1) * 1000);
    utimesSync(join(project.root, "stacks", `Pulumi.${ACTION_STACK}.yaml`), t, t);
    times.push((await timedGet(port, cookie, "/")).ms);
  }
  return spread(times);
}

function printPages(project: ConsoleProject, cold: number, changed: Spread, pages: PageFigures[]): void {
  const pushes = project.stacks.length * CONSOLE_APPS * PUSHES_PER_APP;
  console.log(`\nconsole pages: ${project.stacks.length} environments x ${CONSOLE_APPS} apps, ${CONSOLE_APPS * PUSHES_PER_APP} pushes each (${pushes} in all, each with its rollout.log), one person with the deploy role everywhere`);
  console.log(`  ${REQUESTS} requests of each page in turn after ${WARMUP} warm-up rounds, over HTTP on 127.0.0.1 (client in the same process)`);
  for (const p of pages) {
    const ratio = p.times.median / PAGE_GOAL_MS;
    console.log(`  ${p.label.padEnd(30)} ${spreadText(p.times)}; ${(p.bytes / 1024).toFixed(0)} KiB, ${p.holds}; median/100 ms ${ratio.toFixed(2)}, ${goal("< 100 ms", p.times.p95 < PAGE_GOAL_MS)}`);
  }
  console.log(`  the first GET / after the console starts (it loads the ${project.stacks.length} stacks' specs): ${ms(cold)} ms`);
  console.log(`  GET / right after one stack file was written (${changed.n} times): ${spreadText(changed)}; median/100 ms ${(changed.median / PAGE_GOAL_MS).toFixed(2)}, ${goal("< 100 ms", changed.p95 < PAGE_GOAL_MS)}`);
}

export async function benchConsole(): Promise<void> {
  say(`console: a project of ${CONSOLE_STACKS} stacks x ${CONSOLE_APPS} apps with ${CONSOLE_STACKS * CONSOLE_APPS * PUSHES_PER_APP} pushes (not timed)`);
  const project = await consoleProject();
  const savedHome = process.env.FAWKES_HOME;
  // What the console reads without a home given (local hosts' state, secrets) is this home's too.
  process.env.FAWKES_HOME = project.home;
  let served: Awaited<ReturnType<typeof serveConsole>> | undefined;
  try {
    served = await serveConsole({ root: project.root, home: project.home, store: project.store, auth: { kind: "password", usersFile: project.usersFile } });
    const client = new ConsoleClient(served.port);
    const signedIn = await client.signIn(USER, PASSWORD);
    if (signedIn.status !== 303) throw new Error(`sign-in: HTTP ${signedIn.status}`);
    const cold = (await timedGet(served.port, client.cookie, "/")).ms;
    const entry = project.history.get(STACK)!.at(-50)!;
    say("console: pages");
    const pages = await measurePages(served.port, client.cookie, [
      { path: "/", label: "GET / (overview)", holds: (b) => `${count(b, /<tr data-stack=/g)} environments, ${count(b, /<td data-app=/g)} cells` },
      { path: `/env/${STACK}`, label: `GET /env/${STACK}`, holds: (b) => `${count(b, /<tr data-app=/g)} apps, ${count(b, /<tr data-entry=/g)} pushes listed` },
      { path: `/env/${STACK}/push/${entry.id}`, label: `GET /env/${STACK}/push/<id>`, holds: (b) => `${count(b, /<pre class="output">/g)} log` },
    ]);
    const changed = await afterChange(project, served.port, client.cookie);
    printPages(project, cold, changed, pages);

    say("console: live output");
    const idle = await liveLines(served.console, served.port, client.cookie, "bench: idle");
    let stop = false;
    let reloads = 0;
    const other = (async () => {
      while (!stop) {
        await timedGet(served!.port, client.cookie, "/");
        reloads++;
      }
    })();
    const busy = await liveLines(served.console, served.port, client.cookie, "bench: busy");
    stop = true;
    await other;
    say("console: live output of real actions");
    const actions = await actionLines(served.console, served.port, client);
    const failed = actions.results.filter((r) => r !== "succeeded");

    console.log(`\nconsole live output: from a line being written (LiveLine.at) to its arrival at a reader of /env/<stack>/live in a process of its own (1 ms clock)`);
    console.log(`  ${LIVE_LINES} lines ${LIVE_SPACING_MS} ms apart, written with live.line, idle:        ${spreadText(idle)}; median/1 s ${(idle.median / LIVE_GOAL_MS).toFixed(4)}, ${goal("< 1 s", idle.max < LIVE_GOAL_MS)}`);
    console.log(`  the same while another person reloads GET / back to back (${reloads} reloads): ${spreadText(busy)}; median/1 s ${(busy.median / LIVE_GOAL_MS).toFixed(4)}, ${goal("< 1 s", busy.max < LIVE_GOAL_MS)}`);
    console.log(
      `  ${ACTIONS} maintenance on/off of ${ACTION_APP} in ${ACTION_STACK} posted from the page, ${actions.lines.n} lines through the action's echo: ${spreadText(actions.lines)}; ${goal("< 1 s", actions.lines.max < LIVE_GOAL_MS)}` +
        `${failed.length > 0 ? `; ${failed.length} of ${ACTIONS} did not succeed: ${failed.join(", ")}` : ""}`,
    );
    console.log(`  from the post to the action's first line at the reader: ${spreadText(actions.firstLine)}`);
  } finally {
    await served?.console.close();
    if (savedHome === undefined) delete process.env.FAWKES_HOME;
    else process.env.FAWKES_HOME = savedHome;
    project.cleanup();
  }
}
