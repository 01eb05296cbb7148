// The error digest end to end, as root: a stack `errs` of 2 web hosts whose shop has an endpoint
// that raises (a project of its own, see test/helpers/errors-project.ts), N requests to it through
// HAProxy on 127.0.0.1, then `fawkes errors` finds N tracebacks of that exception in the hosts'
// log files, with the app and the hosts that served them. And the daily mail: tracebacks planted
// in the hosts' log files, and real ones, arrive grouped and counted in the mail that
// `fawkes errors --mail` sends to a real SMTP server the test starts.
import { rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { envLayout, localDown, localUp } from "../../src/local/index.ts";
import { readState } from "../../src/local/state.ts";
import { BOOM_TYPE, MAIL_TO, makeErrorsProject, type ErrorsProject } from "../helpers/errors-project.ts";
import { mailParts } from "../helpers/mime.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
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

  it("the daily mail: planted and real tracebacks arrive grouped and counted in the mail an SMTP server receives", async () => {
    const webHosts = Object.values(readState(envLayout(STACK).state)!.hosts)
      .filter((h) => h.role === "web")
      .map((h) => h.name)
      .sort();
    expect(webHosts).toHaveLength(2);
    const [h1, h2] = webHosts as [string, string];
    const { ids } = project!;
    // Flask's record format, in UTC as the hosts log; messages carry markup, as a hostile one might.
    const record = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace(/\.(\d{3})Z$/, ",$1");
    const planted = (ms: number, n: number) => `[${record(ms)}] ERROR in app: Exception on /orders/${n} [POST]
Traceback (most recent call last):
  File "/srv/apps/blog/releases/${ids.blog}/blog/orders.py", line 40, in create
    return charge(order)
  File "/srv/apps/blog/releases/${ids.blog}/blog/payments.py", line 12, in charge
    raise PlantedError(f"order {n} <script>alert({n})</script> refused")
blog.payments.PlantedError: order ${n} <script>alert(${n})</script> refused
`;
    // Only `current` in its frames: its release is the host's, from its `current` link.
    const other = (ms: number) => `[${record(ms)}] ERROR in app: Exception on /feed [GET]
Traceback (most recent call last):
  File "/srv/apps/blog/current/blog/feed.py", line 7, in feed
    return build()
KeyError: 'planted'
`;
    const now = Date.now();
    const hour = 3600_000;
    const files = [join(envLayout(STACK).hostsDir, h1, "upper/var/log/fawkes/blog/planted.log"), join(envLayout(STACK).hostsDir, h2, "upper/var/log/fawkes/blog/planted.log")];
    const sink = await startSmtpSink();
    const savedUrl = process.env.FAWKES_SMTP_URL;
    try {
      // 3 on one host (the earliest 5 h ago), 2 and the other kind on the other; one 25 h ago, not counted.
      writeFileSync(files[0]!, planted(now - 25 * hour, 100) + planted(now - 5 * hour, 1) + planted(now - 3 * hour, 2) + planted(now - 2 * hour, 3));
      writeFileSync(files[1]!, planted(now - 4 * hour, 4) + other(now - 90 * 60_000) + planted(now - hour, 5));
      // And real ones: the shop's endpoint that raises, counted on top of what the logs hold already.
      const before = (await digest()).groups.find((g) => g.type === BOOM_TYPE)?.count ?? 0;
      for (let i = 1; i <= 3; i++) expect((await get("shop", `/boom/${100 + i}`)).status).toBe(500);
      let boom = before;
      for (let tries = 0; tries < 40 && boom < before + 3; tries++) {
        await sleep(250);
        boom = (await digest()).groups.find((g) => g.type === BOOM_TYPE)?.count ?? 0;
      }
      expect(boom).toBe(before + 3);

      process.env.FAWKES_SMTP_URL = sink.url;
      const r = await project!.fawkes("errors", "--stack", STACK, "--mail");
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const total = boom + 6;
      expect(r.out).toBe(`sent the traceback digest (${total} tracebacks of 3 kinds) of ${STACK} to ${MAIL_TO} from fawkes@${STACK}.fawkes.test by smtp://127.0.0.1:${sink.port}\n`);

      const [msg] = await sink.waitFor(1);
      expect(msg!.from).toBe(`fawkes@${STACK}.fawkes.test`);
      expect(msg!.to).toEqual([MAIL_TO]);
      const { headers, text, html } = mailParts(msg!.raw);
      expect(headers.get("subject")).toMatch(new RegExp(`^\\[fawkes/${STACK}\\] ${total} tracebacks of 3 kinds in the 24 h to \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC$`));
      expect(text).toContain(`\n\nshop: ${boom} tracebacks of 1 kind\n`);
      expect(text).toMatch(new RegExp(`#1  ${boom} × shop\\.app\\.FawkesTestError: request N failed on purpose\\n    first seen  \\S+ \\S+ UTC, in release ${ids.shop}\\n`));
      expect(text).toContain("\n\nblog: 6 tracebacks of 2 kinds\n");
      const utc = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");
      expect(text).toContain(
        [
          "#1  5 × blog.payments.PlantedError: order N <script>alert(N)</script> refused",
          `    first seen  ${utc(now - 5 * hour)} UTC, in release ${ids.blog}`,
          `    last seen   ${utc(now - hour)} UTC`,
          `    hosts       ${h1} (3), ${h2} (2)`,
        ].join("\n"),
      );
      expect(text).toContain(`        blog.payments.PlantedError: order 5 <script>alert(5)</script> refused\n`);
      expect(text).toContain(`#2  1 × KeyError: 'planted'\n    first seen  ${utc(now - 90 * 60_000)} UTC, in release ${ids.blog}\n`);
      expect(text).not.toContain("order 100");
      expect(html).toContain("blog.payments.PlantedError: order N &lt;script&gt;alert(N)&lt;/script&gt; refused");
      expect(html).not.toContain("<script");
    } finally {
      if (savedUrl === undefined) delete process.env.FAWKES_SMTP_URL;
      else process.env.FAWKES_SMTP_URL = savedUrl;
      for (const f of files) rmSync(f, { force: true });
      await sink.close();
    }
  }, 120_000);
});
