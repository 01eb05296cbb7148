// The error digest end to end, as root: a stack `errs` of 2 web hosts whose shop has an endpoint
// that raises (a project of its own, see test/helpers/errors-project.ts), N requests to it through
// HAProxy on 127.0.0.1, then `fawkes errors` finds N tracebacks of that exception in the hosts'
// log files, with the app and the hosts that served them.
import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { envLayout, localDown, localUp } from "../../src/local/index.ts";
import { readState } from "../../src/local/state.ts";
import { BOOM_TYPE, makeErrorsProject, type ErrorsProject } from "../helpers/errors-project.ts";
import { downAfterAll, requireRoot } from "./machine.ts";

const STACK = "errs";
const N = 7;
let project: ErrorsProject | undefined;

function port(): number {
  return readState(envLayout(STACK).state)!.port;
}

function get(app: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: port(), path, method: "GET", headers: { Host: `${app}.${STACK}.localhost` }, timeout: 5000 }, (res) => {
      let b = "";
      res.on("data", (d) => (b += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on("error", reject);
    req.end();
  });
}

interface Group {
  app: string;
  type: string;
  message: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  hosts: Array<{ host: string; count: number }>;
  frames: string[];
  sample: { host: string; where: string; logLine?: string; lines: string[] };
}

async function digest(...argv: string[]): Promise<{ total: number; groups: Group[] }> {
  const r = await project!.fawkes("errors", "--stack", STACK, "--json", ...argv);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as { total: number; groups: Group[] };
}

beforeAll(async () => {
  requireRoot();
  await localDown(envLayout(STACK));
  project = await makeErrorsProject();
  project.writeStack(STACK, 2);
  const up = await localUp(loadStack(project.root, STACK), { progress: () => {} });
  expect(up.failed).toEqual([]);
}, 600_000);

downAfterAll(STACK, () => project);

describe.sequential("fawkes errors on the local target", () => {
  it(`reports a traceback provoked ${N} times through an endpoint, with its count, app and hosts`, async () => {
    const started = Date.now();
    expect((await digest()).total).toBe(0);
    for (let i = 1; i <= N; i++) {
      const r = await get("shop", `/boom/${i}`);
      expect(r.status, r.body).toBe(500);
    }
    expect((await get("shop", "/healthz")).status).toBe(200);
    // supervisord copies the processes' output into the log files as it comes: wait a little.
    let group: Group | undefined;
    for (let tries = 0; tries < 40; tries++) {
      group = (await digest()).groups.find((g) => g.type === BOOM_TYPE);
      if ((group?.count ?? 0) >= N) break;
      await sleep(250);
    }
    expect(group, "no FawkesTestError in the digest").toBeDefined();
    const g = group!;
    // Flask handles the exception and logs it once per request; gunicorn logs nothing more.
    expect(g.count).toBe(N);
    expect(g.app).toBe("shop");
    expect(g.message).toBe("request N failed on purpose");
    const webHosts = Object.values(readState(envLayout(STACK).state)!.hosts)
      .filter((h) => h.role === "web")
      .map((h) => h.name);
    expect(g.hosts.length).toBeGreaterThan(0);
    for (const h of g.hosts) expect(webHosts).toContain(h.host);
    expect(g.hosts.reduce((n, h) => n + h.count, 0)).toBe(N);
    expect(g.frames.at(-1)).toBe("shop/shop/app.py:boom");
    expect(g.sample.where).toBe("/var/log/fawkes/shop/web.log");
    expect(g.sample.logLine).toMatch(/ERROR in app: Exception on \/boom\/\d+ \[GET\]$/);
    expect(g.sample.lines[0]).toBe("Traceback (most recent call last):");
    expect(g.sample.lines.at(-1)).toMatch(/^shop\.app\.FawkesTestError: request \d+ failed on purpose$/);
    // Times from Flask's log records: within this test's run (hosts run in UTC).
    for (const t of [g.firstSeen, g.lastSeen]) {
      expect(Date.parse(t)).toBeGreaterThanOrEqual(started - 2000);
      expect(Date.parse(t)).toBeLessThanOrEqual(Date.now() + 2000);
    }

    const text = await project!.fawkes("errors", "--stack", STACK);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(new RegExp(`^#1\\s+${N}\\s+\\S+ \\S+\\s+\\S+ \\S+\\s+shop\\s+.*shop\\.app\\.FawkesTestError: request N failed on purpose$`, "m"));
    expect(text.out).toContain("    shop.app.FawkesTestError: request ");

    const blog = await project!.fawkes("errors", "--stack", STACK, "--app", "blog", "--since", "1h");
    expect(blog.code).toBe(0);
    expect(blog.out).toMatch(/^errs: no tracebacks of blog since \S+ \S+ UTC \(local: \d+ hosts?, \d+ log files? read\)\n$/);
  });
});
