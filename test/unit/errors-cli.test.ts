// `fawkes errors` through the CLI: the local source over host log files laid out in a temp
// FAWKES_HOME as the local target keeps them, and the AWS source over a recording double of the
// CloudWatch Logs client (the query, its polling and paging). Not against AWS.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetQueryResultsCommand, StartQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse, UsageError, type Command } from "../../src/cli/command.ts";
import { errorsCommand, sinceOf, type ErrorsDeps } from "../../src/cli/commands/errors.ts";
import { main } from "../../src/cli/main.ts";
import { logFilesOldestFirst, PAGE_ROWS, TRACEBACK_QUERY, type LogsSender } from "../../src/errors/index.ts";
import { envLayout } from "../../src/local/index.ts";
import { CHAINED, DJANGO, FLASK_ID, flaskTraceback } from "./errors-fixtures.ts";

const ROOT = join(import.meta.dirname, "../..");
/** 2026-11-23 12:00:00 UTC: "now" for every run here. */
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

let home: string;
let savedHome: string | undefined;
beforeEach(() => {
  savedHome = process.env.FAWKES_HOME;
  home = mkdtempSync(join(tmpdir(), "fawkes-errors-cli-"));
  process.env.FAWKES_HOME = home;
});
afterEach(() => {
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

async function run(argv: string[], deps: ErrorsDeps = {}): Promise<{ code: number; out: string; err: string }> {
  const cmd: Command = errorsCommand({ now: () => NOW, ...deps });
  let out = "";
  let err = "";
  const code = await cmd.run(parse(cmd, argv), { out: (t) => (out += t), err: (t) => (err += t), cwd: ROOT });
  return { code, out, err };
}

/** A log file of `app` on `host` of the dev stack, with its mtime. */
function hostLog(host: string, app: string, name: string, text: string, mtime = NOW - 60_000): string {
  const dir = join(envLayout("dev").hostsDir, host, "upper/var/log/fawkes", app);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, text);
  utimesSync(path, mtime / 1000, mtime / 1000);
  return path;
}

const at = (hh: number, mm: number) => `2026-11-23 ${String(hh).padStart(2, "0")}:${String(mm).padStart(2, "0")}:00`;

function fleetLogs(): void {
  hostLog("dev-web-1", "shop", "web.log.1", flaskTraceback({ n: 1, time: at(9, 0) }) + flaskTraceback({ n: 2, time: at(10, 0) }), NOW - 2 * 3600_000);
  hostLog("dev-web-1", "shop", "web.log", `booted\n${flaskTraceback({ n: 3, time: at(11, 30) })}`);
  hostLog("dev-web-2", "shop", "web.log", flaskTraceback({ n: 4, time: at(11, 50), release: "r111111111111" }) + flaskTraceback({ n: 5, time: at(11, 40) }).split("\n").slice(0, 6).join("\n"));
  // No timestamps in it: its tracebacks take the file's mtime (09:00).
  hostLog("dev-worker-1", "shop", "mailer.log", `processing\n${CHAINED}`, NOW - 3 * 3600_000);
  hostLog("dev-web-1", "blog", "web.log", DJANGO.replace("23/Nov/2026:10:20:41", "23/Nov/2026:11:20:41"));
  // A replaced host's disk being removed: not read.
  hostLog("dev-web-3.old-1700000000", "shop", "web.log", flaskTraceback({ n: 9, time: at(11, 55) }));
}

describe("fawkes errors, local target", () => {
  it("groups tracebacks across hosts, rotated files included; JSON for machines", async () => {
    fleetLogs();
    const r = await run(["--stack", "dev", "--json"]);
    expect(r.code, r.err).toBe(0);
    const d = JSON.parse(r.out) as { total: number; signatures: number; cutShort: number; since: string; groups: Array<Record<string, unknown> & { hosts: unknown; sample: { host: string; lines: string[]; where: string } }> };
    expect(d.since).toBe("2026-11-22T12:00:00.000Z");
    expect(d.total).toBe(6);
    expect(d.signatures).toBe(3);
    expect(d.cutShort).toBe(1);
    const [shop, ...others] = d.groups;
    expect(shop).toMatchObject({
      app: "shop",
      type: "shop.app.FawkesTestError",
      message: "request N failed on purpose at 0x…",
      count: 4,
      firstSeen: "2026-11-23T09:00:00.118Z",
      lastSeen: "2026-11-23T11:50:00.118Z",
      hosts: [
        { host: "dev-web-1", count: 3 },
        { host: "dev-web-2", count: 1 },
      ],
      // The earliest (09:00, web.log.1) ran FLASK_ID; the latest r111111111111.
      firstRelease: FLASK_ID,
    });
    expect(shop!.sample.host).toBe("dev-web-2");
    expect(shop!.sample.where).toBe("/var/log/fawkes/shop/web.log");
    expect(shop!.sample.lines[0]).toBe("Traceback (most recent call last):");
    expect(others.map((g) => [g.app, g.type, g.count, g.firstRelease])).toEqual([
      ["blog", "posts.models.Post.DoesNotExist", 1, "r0c4e8a61b2d9"],
      // Only `current` in its frames, and no `current` link on that host's disk: unknown.
      ["shop", "KeyError", 1, undefined],
    ]);
  });

  it("prints a table, then the latest sample of each, whole", async () => {
    fleetLogs();
    const r = await run(["--stack", "dev", "--limit", "2"]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe("dev: 6 tracebacks of 3 kinds since 2026-11-22 12:00:00 UTC (local: 3 hosts, 5 log files read)");
    expect(lines[1]).toBe("  1 traceback cut short (the log ended before the exception line) not counted");
    expect(lines[3]).toMatch(/^\s+COUNT\s+FIRST SEEN \(UTC\)\s+LAST SEEN \(UTC\)\s+APP\s+HOSTS\s+ERROR$/);
    expect(lines[4]).toMatch(/^#1\s+4\s+2026-11-23 09:00:00\s+2026-11-23 11:50:00\s+shop\s+dev-web-1 \(3\), dev-web-2 \(1\)\s+shop\.app\.FawkesTestError: request N failed on purpose at 0x…$/);
    expect(lines[5]).toMatch(/^#2\s+1\s+.*blog\s+dev-web-1\s+posts\.models\.Post\.DoesNotExist: Post matching query does not exist\.$/);
    expect(lines[6]).toBe("(1 more kind: raise --limit)");
    expect(r.out).toMatch(/^#1 shop\.app\.FawkesTestError in shop \(signature [0-9a-f]{12}\), first in release r2f9c1d0a7b3e, latest on dev-web-2 /m);
    expect(r.out).toContain("latest on dev-web-2 at 2026-11-23 11:50:00 UTC, /var/log/fawkes/shop/web.log:\n    [2026-11-23 11:50:00,118] ERROR in app: Exception on /boom/4 [GET]\n    Traceback (most recent call last):\n");
    expect(r.out).toContain("    shop.app.FawkesTestError: request 4 failed on purpose");
    expect(r.out).toContain("#2 posts.models.Post.DoesNotExist in blog");
    expect(r.out).not.toContain("KeyError");
  });

  it("--since: by the lines' timestamps, and files last written before it are not read; --app: one app", async () => {
    fleetLogs();
    const recent = JSON.parse((await run(["--stack", "dev", "--since", "1h", "--json"])).out) as { total: number; groups: Array<{ app: string; count: number }> };
    // 11:30 and 11:50 of the shop, the blog's 11:20 (its access line); not web.log.1 nor the
    // worker's file, last written before 11:00.
    expect(recent.total).toBe(3);
    expect(recent.groups.map((g) => [g.app, g.count])).toEqual([
      ["shop", 2],
      ["blog", 1],
    ]);
    const blog = JSON.parse((await run(["--stack", "dev", "--app", "blog", "--json"])).out) as { total: number; apps: string[]; groups: Array<{ app: string }> };
    expect(blog.apps).toEqual(["blog"]);
    expect(blog.groups.map((g) => g.app)).toEqual(["blog"]);
    const at1145 = JSON.parse((await run(["--stack", "dev", "--since", "2026-11-23T11:45:00Z", "--json"])).out) as { total: number };
    expect(at1145.total).toBe(1);
  });

  it("none: exit 0 and says so", async () => {
    hostLog("dev-web-1", "shop", "web.log", "booted\nall quiet\n");
    const r = await run(["--stack", "dev", "--since", "2h"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("dev: no tracebacks since 2026-11-23 10:00:00 UTC (local: 1 host, 1 log file read)\n");
    const j = JSON.parse((await run(["--stack", "dev", "--json"])).out) as { total: number; groups: unknown[] };
    expect(j).toMatchObject({ total: 0, groups: [] });
  });

  it("a stack with no hosts here: exit 1 with what to do", async () => {
    const r = await run(["--stack", "dev"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: stack dev has no hosts on this machine \(.*\); fawkes local up --stack dev boots them\n$/);
  });

  it("usage errors: exit 2 through main", async () => {
    const io = () => {
      const o = { out: "", err: "" };
      return { o, io: { out: (t: string) => (o.out += t), err: (t: string) => (o.err += t), cwd: ROOT } };
    };
    for (const [argv, message] of [
      [["errors"], "--stack S is required"],
      [["errors", "--stack", "dev", "--since", "yesterday"], "--since yesterday: a duration back from now"],
      [["errors", "--stack", "dev", "--limit", "0"], "--limit 0: a whole number of 1 or more"],
      [["errors", "--stack", "dev", "--app", "shpo"], 'no app "shpo" in the catalogue (Pulumi.yaml); apps: shop, blog; did you mean "shop"?'],
      [["errors", "--stack", "dev", "--target", "gcp"], "--target gcp: must be local"],
    ] as const) {
      const { o, io: handle } = io();
      expect(await main([...argv], handle), argv.join(" ")).toBe(2);
      expect(o.err).toContain(message);
    }
    const { o, io: handle } = io();
    expect(await main(["errors", "--help"], handle)).toBe(0);
    expect(o.out).toContain("usage: fawkes errors --stack S [--since 24h] [--app A] [--limit N] [--target local|aws] [--json]");
  });

  it("reads supervisord's rotated files oldest first; --since forms", () => {
    expect(logFilesOldestFirst(["web.log", "web.log.10", "web.log.2", "mailer.log", "web.log.1", "notes.txt"])).toEqual(["mailer.log", "web.log.10", "web.log.2", "web.log.1", "web.log"]);
    expect(sinceOf("30m", NOW)).toBe(NOW - 1800_000);
    expect(sinceOf("2w", NOW)).toBe(NOW - 14 * 86400_000);
    expect(sinceOf("2026-11-23", NOW)).toBe(Date.UTC(2026, 10, 23));
    expect(sinceOf("2026-11-23 08:00", NOW)).toBe(Date.UTC(2026, 10, 23, 8));
    expect(sinceOf("2026-11-23T08:00:00+01:00", NOW)).toBe(Date.UTC(2026, 10, 23, 7));
    expect(() => sinceOf("24 hours", NOW)).toThrow(UsageError);
  });
});

// ---- AWS: a recording double of CloudWatchLogsClient.send ----

interface Sent {
  command: string;
  input: Record<string, unknown>;
}

type Field = { field: string; value: string };

/** Rows as Insights returns them: one per line, a line's @timestamp and a unique @ptr. */
function rowsOf(stream: string, text: string, timestamp: string, ptrPrefix: string): Field[][] {
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((message, i) => [
      { field: "@timestamp", value: timestamp },
      { field: "@logStream", value: stream },
      { field: "@message", value: message },
      { field: "@ptr", value: `${ptrPrefix}-${i}` },
    ]);
}

/** Answers StartQuery with ids q1, q2...; GetQueryResults "Running" once, then the next page. */
function logsDouble(pages: Field[][][]): LogsSender & { sent: Sent[] } {
  const sent: Sent[] = [];
  const polled = new Map<string, number>();
  let started = 0;
  return {
    sent,
    async send(command: object) {
      const name = command instanceof StartQueryCommand ? "StartQuery" : command instanceof GetQueryResultsCommand ? "GetQueryResults" : command.constructor.name;
      const c = command as { input: Record<string, unknown> };
      sent.push({ command: name, input: c.input });
      if (name === "StartQuery") return { queryId: `q${++started}` };
      if (name === "GetQueryResults") {
        const id = String(c.input.queryId);
        const n = (polled.get(id) ?? 0) + 1;
        polled.set(id, n);
        if (n === 1) return { status: "Running", results: [] };
        return { status: "Complete", results: pages[Number(id.slice(1)) - 1] ?? [] };
      }
      throw new Error(`unexpected ${name}`);
    },
  };
}

describe("fawkes errors --target aws (recording double of CloudWatch Logs; unverified against AWS)", () => {
  it("one Insights query per app on its log group over the window, polled until complete; grouped per log stream", async () => {
    const shopRows = [
      ...rowsOf("i-0aaa", flaskTraceback({ n: 1 }), "2026-11-23 10:00:00.000", "a"),
      ...rowsOf("i-0bbb", flaskTraceback({ n: 2 }), "2026-11-23 11:00:00.000", "b"),
      ...rowsOf("i-0aaa", flaskTraceback({ n: 3 }), "2026-11-23 11:30:00.000", "c"),
    ];
    // The blog's log as whole multi-line events (an agent with multi_line_start_pattern).
    const blogRows = [[
      { field: "@timestamp", value: "2026-11-23 11:45:00.250" },
      { field: "@logStream", value: "i-0aaa" },
      { field: "@message", value: DJANGO },
      { field: "@ptr", value: "d" },
    ]];
    const logs = logsDouble([shopRows, blogRows]);
    const r = await run(["--stack", "dev", "--target", "aws", "--since", "6h", "--json"], { logs, pollMs: 0 });
    expect(r.code, r.err).toBe(0);
    expect(logs.sent.map((s) => s.command)).toEqual(["StartQuery", "GetQueryResults", "GetQueryResults", "StartQuery", "GetQueryResults", "GetQueryResults"]);
    expect(logs.sent[0]!.input).toEqual({ logGroupName: "/fawkes/dev/apps/shop", startTime: (NOW - 6 * 3600_000) / 1000, endTime: NOW / 1000, queryString: TRACEBACK_QUERY, limit: PAGE_ROWS });
    expect(logs.sent[1]!.input).toEqual({ queryId: "q1" });
    expect(logs.sent[3]!.input).toMatchObject({ logGroupName: "/fawkes/dev/apps/blog" });
    expect(TRACEBACK_QUERY).toBe(
      "fields @timestamp, @logStream, @message, @ptr\n| filter @message like /Traceback \\(most recent call last\\)|^\\s|^[A-Za-z_][\\w.]*(:|$)|During handling of the above exception|The above exception was the direct cause/\n| sort @timestamp asc\n| limit 10000",
    );
    const d = JSON.parse(r.out) as { target: string; where: string; total: number; groups: Array<{ app: string; count: number; firstSeen: string; lastSeen: string; hosts: unknown; sample: { where: string } }> };
    expect(d.target).toBe("aws");
    expect(d.where).toBe("CloudWatch Logs /fawkes/dev/apps/* (eu-west-1)");
    expect(d.total).toBe(4);
    expect(d.groups[0]).toMatchObject({
      app: "shop",
      count: 3,
      // Insights' event times, not the lines' own.
      firstSeen: "2026-11-23T10:00:00.000Z",
      lastSeen: "2026-11-23T11:30:00.000Z",
      hosts: [
        { host: "i-0aaa", count: 2 },
        { host: "i-0bbb", count: 1 },
      ],
      sample: { where: "/fawkes/dev/apps/shop:i-0aaa" },
    });
    expect(d.groups[1]).toMatchObject({ app: "blog", count: 1, lastSeen: "2026-11-23T11:45:00.250Z" });
  });

  it("a full page of 10,000 rows is followed by a query from its last second on; rows seen twice count once", async () => {
    const one = flaskTraceback({ n: 1 }).replace(/\n$/, "").split("\n").length;
    const all: Field[][] = [];
    for (let k = 0; all.length < PAGE_ROWS + 500; k++) {
      const ts = new Date(Date.UTC(2026, 10, 23, 9, 0, k)).toISOString().replace("T", " ").replace("Z", "");
      all.push(...rowsOf("i-0aaa", flaskTraceback({ n: k }), ts, `p${k}`));
    }
    const tracebacks = all.length / one;
    const page1 = all.slice(0, PAGE_ROWS);
    const lastTs = page1.at(-1)![0]!.value;
    // The second query starts at the last row's second: Insights returns that second's rows again.
    const page2 = all.filter((row) => row[0]!.value >= lastTs);
    const logs = logsDouble([page1, page2, []]);
    const r = await run(["--stack", "dev", "--target", "aws", "--app", "shop", "--since", "24h", "--json"], { logs, pollMs: 0 });
    expect(r.code, r.err).toBe(0);
    const starts = logs.sent.filter((s) => s.command === "StartQuery").map((s) => s.input);
    expect(starts).toHaveLength(2);
    expect(starts[0]!.startTime).toBe((NOW - 86400_000) / 1000);
    expect(starts[1]!.startTime).toBe(Date.parse(`${lastTs.replace(" ", "T")}Z`) / 1000);
    expect(starts[1]!.endTime).toBe(NOW / 1000);
    const d = JSON.parse(r.out) as { total: number; cutShort: number; partial?: string; groups: Array<{ count: number }> };
    expect(d.total).toBe(tracebacks);
    expect(d.cutShort).toBe(0);
    expect(d.partial).toBeUndefined();
    expect(d.groups[0]!.count).toBe(tracebacks);
  });

  it("a missing log group or a failed query: exit 1 with the reason", async () => {
    const missing: LogsSender = {
      send: async () => {
        throw Object.assign(new Error("The specified log group does not exist."), { name: "ResourceNotFoundException" });
      },
    };
    const r = await run(["--stack", "dev", "--target", "aws"], { logs: missing, pollMs: 0 });
    expect(r.code).toBe(1);
    expect(r.err).toBe("error: log group /fawkes/dev/apps/shop does not exist: is the stack deployed (pulumi up)?\n");
    const failed: LogsSender = { send: async (c) => (c instanceof StartQueryCommand ? { queryId: "q9" } : { status: "Failed" }) };
    const f = await run(["--stack", "dev", "--target", "aws"], { logs: failed, pollMs: 0 });
    expect(f.code).toBe(1);
    expect(f.err).toBe("error: CloudWatch Logs Insights query q9 on /fawkes/dev/apps/shop ended Failed\n");
  });
});
