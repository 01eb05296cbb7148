// The daily traceback mail, pure: its subject, text and HTML parts from a digest of fixture
// tracebacks (per app, top N, counts, first and last seen, hosts, the release each started in,
// one sample; hostile text escaped), the "no tracebacks" and "failed" mails, and its clock.
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadStack, type EnvironmentSpec } from "../../src/config/index.ts";
import { appSections, DAY_MS, digestOf, errorMail, failedMail, nextMailAt, occurrencesIn, printable, releaseOf, startErrorMailSchedule, type Digest, type MailOutcome, type Occurrence } from "../../src/errors/index.ts";
import { escapeHtml } from "../../src/html/index.ts";
import { CHAINED, DJANGO, FLASK_ID, flaskTraceback } from "./errors-fixtures.ts";

const ROOT = join(import.meta.dirname, "../..");
/** 2026-11-23 07:00 UTC: the mail's moment; its window starts 24 h before. */
const NOW = Date.UTC(2026, 10, 23, 7, 0, 0);
const SINCE = NOW - DAY_MS;

/** A Flask traceback whose message and log record carry markup, a terminal escape and a bidi override. */
const HOSTILE = `[2026-11-23 06:45:00,001] ERROR in app: Exception on /<img src=x onerror=alert(1)> [GET]
Traceback (most recent call last):
  File "/srv/apps/shop/current/shop/search.py", line 12, in search
    return render(q)
ValueError: bad query <script>alert("x")</script> & \x1b[31mred\x1b[0m \u202etxt.exe
`;

function found(app: string, host: string, text: string, release?: string): Occurrence[] {
  return occurrencesIn(text, { app, host, where: `/var/log/fawkes/${app}/web.log`, fallbackTime: NOW - 3600_000, ...(release ? { release } : {}) }, { since: SINCE }).occurrences;
}

function fixtureDigest(apps = ["shop", "blog", "quiet"]): Digest {
  const occurrences = [
    ...found("shop", "dev-web-1", flaskTraceback({ n: 1, time: "2026-11-22 09:00:00" }) + flaskTraceback({ n: 2, time: "2026-11-23 05:00:00", release: "r111111111111" })),
    ...found("shop", "dev-web-2", flaskTraceback({ n: 3, time: "2026-11-23 06:30:00", release: "r111111111111" })),
    // Before the window: not counted.
    ...found("shop", "dev-web-2", flaskTraceback({ n: 4, time: "2026-11-22 06:59:59" })),
    ...found("shop", "dev-web-1", HOSTILE, "r222222222222"),
    ...found("shop", "dev-worker-1", CHAINED),
    ...found("blog", "dev-web-1", DJANGO.replace("23/Nov/2026:10:20:41", "23/Nov/2026:06:20:41")),
  ];
  return digestOf({ occurrences, cutShort: 1, scanned: "2 hosts, 4 log files read" }, { stack: "dev", target: "local", where: "/var/lib/fawkes/envs/dev/hosts", since: SINCE, until: NOW, apps }, Infinity);
}

describe("the release a traceback started in", () => {
  it("a frame under /srv/apps/<app>/releases/<id>/, else the host's release, else unknown; the earliest occurrence's", () => {
    const d = fixtureDigest();
    const boom = d.groups.find((g) => g.type === "shop.app.FawkesTestError")!;
    // n=1 at 09:00 ran FLASK_ID; the later ones r111111111111.
    expect(boom.firstRelease).toBe(FLASK_ID);
    expect(d.groups.find((g) => g.type === "ValueError")!.firstRelease).toBe("r222222222222");
    expect(d.groups.find((g) => g.type === "KeyError")!.firstRelease).toBeUndefined();
    expect(d.groups.find((g) => g.app === "blog")!.firstRelease).toBe("r0c4e8a61b2d9");
    const [tb] = found("shop", "h", CHAINED);
    expect(releaseOf({ traceback: tb!.traceback, release: "../../etc" })).toBeUndefined();
    expect(releaseOf({ traceback: tb!.traceback, release: "r3f2a9c0d1e2b" })).toBe("r3f2a9c0d1e2b");
  });
});

describe("the mail of a digest", () => {
  it("per app in catalogue order, its top N kinds; the totals over every kind", () => {
    const sections = appSections(fixtureDigest(), 2);
    expect(sections.map((s) => [s.app, s.total, s.kinds, s.groups.length])).toEqual([
      ["shop", 5, 3, 2],
      ["blog", 1, 1, 1],
      ["quiet", 0, 0, 0],
    ]);
    expect(sections[0]!.groups.map((g) => g.count)).toEqual([3, 1]);
  });

  it("subject: project, stack, tracebacks and kinds, the window", () => {
    const d = fixtureDigest();
    expect(errorMail("fawkes", d, 20).subject).toBe("[fawkes/dev] 6 tracebacks of 4 kinds in the 24 h to 2026-11-23 07:00 UTC");
    expect(errorMail("fawkes", { ...d, partial: "too many lines" }, 20).subject).toMatch(/ \(partial\)$/);
  });

  it("text: per app a title, then per kind count, first and last seen, the release, hosts, one sample", () => {
    const mail = errorMail("fawkes", fixtureDigest(), 2);
    const t = mail.text;
    expect(t).toMatch(/^fawkes\/dev: 6 tracebacks of 4 kinds\.\nFrom 2026-11-22 07:00:00 to 2026-11-23 07:00:00 UTC \(local: 2 hosts, 4 log files read\)\.\n1 traceback cut short/);
    expect(t).toContain("\n\nshop: 5 tracebacks of 3 kinds, the top 2\n========================================\n");
    expect(t).toContain(
      [
        "#1  3 × shop.app.FawkesTestError: request N failed on purpose at 0x…",
        "    first seen  2026-11-22 09:00:00 UTC, in release r2f9c1d0a7b3e",
        "    last seen   2026-11-23 06:30:00 UTC",
        "    hosts       dev-web-1 (2), dev-web-2 (1)",
      ].join("\n"),
    );
    expect(t).toContain("    latest on dev-web-2 at 2026-11-23 06:30:00 UTC, /var/log/fawkes/shop/web.log:\n\n        [2026-11-23 06:30:00,118] ERROR in app: Exception on /boom/3 [GET]\n        Traceback (most recent call last):\n");
    expect(t).toContain("        shop.app.FawkesTestError: request 3 failed on purpose at 0x7f3a");
    // The third kind of the shop is left out, and said how to see it.
    expect(t).not.toContain("KeyError");
    expect(t).toContain("(1 more kind of shop: fawkes errors --stack dev --app shop --since 2026-11-22T07:00:00Z --limit 100)");
    expect(t).toContain("\n\nblog: 1 traceback of 1 kind\n");
    expect(t).toContain("in release r0c4e8a61b2d9");
    expect(t).toContain("No tracebacks in quiet.");
    expect(t).toMatchSnapshot();
  });

  it("hostile text: escaped in HTML, made printable in both parts", () => {
    const mail = errorMail("fawkes", fixtureDigest(), 20);
    for (const part of [mail.text, mail.html]) {
      // eslint-disable-next-line no-control-regex
      expect(part).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/);
    }
    expect(mail.text).toContain('ValueError: bad query <script>alert("x")</script> & \ufffd[31mred\ufffd[0m \ufffdtxt.exe');
    expect(mail.html).not.toContain("<script");
    expect(mail.html).not.toContain("<img");
    expect(mail.html).toContain("ValueError: bad query &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; \ufffd[31mred");
    expect(mail.html).toContain("Exception on /&lt;img src=x onerror=alert(1)&gt; [GET]");
    // The only tags are the mail's own.
    const tags = new Set([...mail.html.matchAll(/<\/?([a-zA-Z0-9!]+)/g)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].sort()).toEqual(["!doctype", "a", "body", "code", "h1", "h2", "h3", "head", "html", "meta", "p", "pre", "table", "tbody", "td", "th", "thead", "title", "tr"].filter((t) => t !== "code"));
  });

  it("HTML: a table per app and the samples, each kind linked to its sample", () => {
    const html = errorMail("fawkes", fixtureDigest(), 2).html;
    expect(html).toMatch(/^<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>\[fawkes\/dev\] 6 tracebacks/);
    expect(html).toContain("<h2 style=\"font-size:16px;margin-top:24px\">shop: 5 tracebacks of 3 kinds, the top 2</h2>");
    expect(html).toContain('<a href="#shop-1">#1</a>');
    expect(html).toContain('<h3 id="shop-1"');
    expect(html).toMatch(/<td[^>]*>3<\/td><td[^>]*>2026-11-22 09:00:00<\/td><td[^>]*>2026-11-23 06:30:00<\/td><td[^>]*>r2f9c1d0a7b3e<\/td><td[^>]*>dev-web-1 \(2\), dev-web-2 \(1\)<\/td>/);
    expect(html).toContain("<pre ");
    expect(html).toContain("<p>1 more kind of shop: <code>fawkes errors --stack dev --app shop --since 2026-11-22T07:00:00Z --limit 100</code></p>");
  });

  it("no tracebacks: a short mail that says so, and what was read", () => {
    const d = digestOf({ occurrences: [], cutShort: 0, scanned: "2 hosts, 3 log files read" }, { stack: "dev", target: "local", where: "x", since: SINCE, until: NOW, apps: ["shop", "blog"] }, Infinity);
    const mail = errorMail("fawkes", d, 20);
    expect(mail.subject).toBe("[fawkes/dev] no tracebacks in the 24 h to 2026-11-23 07:00 UTC");
    expect(mail.text).toBe(
      "fawkes/dev: no tracebacks in any app (shop, blog).\nFrom 2026-11-22 07:00:00 to 2026-11-23 07:00:00 UTC (local: 2 hosts, 3 log files read).\n\n-- \nfawkes, the daily traceback digest of fawkes/dev (knob errorMail).\n",
    );
    expect(mail.html).toContain("<h1 style=\"font-size:18px\">fawkes/dev: no tracebacks in any app (shop, blog)</h1>");
  });

  it("a digest that could not be made: a mail that says why", () => {
    const mail = failedMail("fawkes", { stack: "dev", target: "aws", since: SINCE, until: NOW }, "log group /fawkes/dev/apps/shop does not exist: <is the stack deployed>");
    expect(mail.subject).toBe("[fawkes/dev] the traceback digest failed (aws, 2026-11-23 07:00 UTC)");
    expect(mail.text).toContain("    log group /fawkes/dev/apps/shop does not exist: <is the stack deployed>\n");
    expect(mail.text).toContain("fawkes errors --stack dev --target aws");
    expect(mail.html).toContain("&lt;is the stack deployed&gt;");
  });

  it("a very long sample keeps its head and its end; long lines are cut", () => {
    const deep = `Traceback (most recent call last):\n${'  File "/srv/apps/shop/current/shop/tree.py", line 2, in walk\n    return walk(n + 1)\n'.repeat(150)}RecursionError: maximum recursion depth exceeded ${"x".repeat(5000)}\n`;
    const d = digestOf({ occurrences: found("shop", "h", deep), cutShort: 0, scanned: "" }, { stack: "dev", target: "local", where: "x", since: SINCE, until: NOW, apps: ["shop"] }, Infinity);
    const sample = errorMail("fawkes", d, 20).text.split("\n").filter((l) => l.startsWith("        "));
    expect(sample).toHaveLength(20 + 1 + 99);
    expect(sample[20]).toBe("        … 183 lines left out …");
    expect(sample.at(-1)!.length).toBeLessThanOrEqual(8 + 1000);
    expect(sample.at(-1)).toMatch(/^ {8}RecursionError: maximum recursion depth exceeded x+…$/);
  });

  it("printable and escapeHtml", () => {
    expect(printable("a\tb\x1b[1m\x00\u2066c")).toBe("a\tb\ufffd[1m\ufffd\ufffdc");
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });
});

describe("the schedule", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("nextMailAt: the next HH:MM UTC strictly after now, across days, months and years", () => {
    expect(nextMailAt("07:00", Date.UTC(2026, 10, 23, 6, 59, 59))).toBe(Date.UTC(2026, 10, 23, 7, 0));
    expect(nextMailAt("07:00", Date.UTC(2026, 10, 23, 7, 0))).toBe(Date.UTC(2026, 10, 24, 7, 0));
    expect(nextMailAt("07:00", Date.UTC(2026, 10, 23, 7, 0, 0, 1))).toBe(Date.UTC(2026, 10, 24, 7, 0));
    expect(nextMailAt("00:00", Date.UTC(2026, 11, 31, 23, 30))).toBe(Date.UTC(2027, 0, 1, 0, 0));
    expect(nextMailAt("23:59", Date.UTC(2028, 1, 28, 23, 59, 30))).toBe(Date.UTC(2028, 1, 29, 23, 59));
    expect(() => nextMailAt("7:00", 0)).toThrow('errorMail.at "7:00": must be a time of day in UTC, "HH:MM"');
    expect(() => nextMailAt("24:00", 0)).toThrow(/must be a time of day/);
  });

  function devWithMail(mail: Partial<EnvironmentSpec["knobs"]["errorMail"]>): EnvironmentSpec {
    const spec = loadStack(ROOT, "dev");
    return { ...spec, knobs: { ...spec.knobs, errorMail: { ...spec.knobs.errorMail, ...mail } } };
  }

  const sentAt = (at: number): MailOutcome => ({ sent: true, stack: "dev", to: ["ops@example.com"], rejected: [], from: "f@x", via: "smtp://127.0.0.1:25", subject: "s", messageId: String(at), total: 0, kinds: 0 });

  it("every day at the knob's time; a failed day is reported and the next one still runs; stop ends it", async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 23, 5, 30) });
    const runs: number[] = [];
    const errors: string[] = [];
    const sent: MailOutcome[] = [];
    const stop = startErrorMailSchedule({
      spec: devWithMail({ to: ["ops@example.com"], at: "07:00" }),
      target: "local",
      run: async (now) => {
        runs.push(now);
        if (runs.length === 2) throw new Error("the SMTP server smtp://127.0.0.1:25 did not take the mail: ECONNREFUSED");
        if (runs.length === 3) return { ...sentAt(now), failed: "stack dev has no hosts on this machine" };
        return sentAt(now);
      },
      onError: (e, stack) => errors.push(`${stack}: ${e.message}`),
      onSent: (o) => sent.push(o),
    });
    await vi.advanceTimersByTimeAsync(90 * 60_000 - 1);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual([Date.UTC(2026, 10, 23, 7, 0)]);
    await vi.advanceTimersByTimeAsync(DAY_MS);
    expect(runs.at(-1)).toBe(Date.UTC(2026, 10, 24, 7, 0));
    expect(errors).toEqual(["dev: the SMTP server smtp://127.0.0.1:25 did not take the mail: ECONNREFUSED"]);
    await vi.advanceTimersByTimeAsync(DAY_MS);
    expect(runs.at(-1)).toBe(Date.UTC(2026, 10, 25, 7, 0));
    expect(errors[1]).toBe("dev: the traceback digest of dev failed: stack dev has no hosts on this machine (a mail saying so went to ops@example.com)");
    expect(sent.map((o) => o.sent && o.messageId)).toEqual([String(Date.UTC(2026, 10, 23, 7)), String(Date.UTC(2026, 10, 25, 7))]);
    stop();
    await vi.advanceTimersByTimeAsync(3 * DAY_MS);
    expect(runs).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a clock that jumps (a machine back from sleep) is noticed within the hour; a missed day is sent once", async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 23, 0, 0) });
    const runs: number[] = [];
    const stop = startErrorMailSchedule({ spec: devWithMail({ to: ["ops@example.com"], at: "07:00" }), target: "local", run: async (now) => (runs.push(now), sentAt(now)), onError: () => {} });
    vi.setSystemTime(Date.UTC(2026, 10, 24, 12, 0));
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(runs).toEqual([Date.UTC(2026, 10, 24, 13, 0)]);
    await vi.advanceTimersByTimeAsync(18 * 3600_000);
    expect(runs).toEqual([Date.UTC(2026, 10, 24, 13, 0), Date.UTC(2026, 10, 25, 7, 0)]);
    stop();
  });

  it("no recipients: nothing scheduled; the timers never keep the process alive", () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const none = startErrorMailSchedule({ spec: devWithMail({ to: [] }), target: "local", run: async () => sentAt(0), onError: () => {} });
    const some = startErrorMailSchedule({ spec: devWithMail({ to: ["ops@example.com"] }), target: "local", run: async () => sentAt(0), onError: () => {} });
    // An unref'd timer is not an active resource.
    expect(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length).toBe(before);
    none();
    some();
  });
});
