import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { groupOccurrences, lineTime, normaliseFile, normaliseMessage, parseTracebacks, signatureOf, type Occurrence } from "../../src/errors/index.ts";
import { CHAINED, DJANGO, flaskTraceback, GUNICORN, recursion, SYNTAX, SYNTAX_BARE } from "./errors-fixtures.ts";

const ACCESS = '10.231.7.1 - - [23/Nov/2026:10:15:03 +0000] "GET / HTTP/1.0" 200 120 "-" "curl/7.88.1"';
const BOOT = "[2026-11-23 10:14:00 +0000] [813] [INFO] Booting worker with pid: 813";

describe("parseTracebacks", () => {
  it("Flask: the exception raised last, its frames, the log record before it and its timestamp", () => {
    const [tb, ...rest] = parseTracebacks(`${BOOT}\n${flaskTraceback({ n: 7 })}`);
    expect(rest).toEqual([]);
    expect(tb!.complete).toBe(true);
    expect(tb!.type).toBe("shop.app.FawkesTestError");
    expect(tb!.message).toMatch(/^request 7 failed on purpose at 0x7f3a/);
    expect(tb!.blocks).toHaveLength(1);
    expect(tb!.blocks[0]!.frames.map((f) => f.function)).toEqual(["wsgi_app", "full_dispatch_request", "full_dispatch_request", "dispatch_request", "boom"]);
    expect(tb!.blocks[0]!.frames[4]).toEqual({ file: "/srv/apps/shop/releases/r2f9c1d0a7b3e/shop/app.py", line: 101, function: "boom" });
    expect(tb!.logLine).toBe("[2026-11-23 10:15:02,118] ERROR in app: Exception on /boom/7 [GET]");
    expect(tb!.time).toBe(Date.UTC(2026, 10, 23, 10, 15, 2, 118));
    expect(tb!.timeFrom).toBe("record");
    expect(tb!.lines[0]).toBe("Traceback (most recent call last):");
    expect(tb!.lines.at(-1)).toMatch(/^shop\.app\.FawkesTestError: request 7/);
    expect(tb!.lines).toHaveLength(16);
    expect(tb!.lineNumber).toBe(3);
  });

  it("Django without a timestamp: the access-log line after it gives the time", () => {
    const [tb] = parseTracebacks(DJANGO);
    expect(tb!.type).toBe("posts.models.Post.DoesNotExist");
    expect(tb!.message).toBe("Post matching query does not exist.");
    expect(tb!.logLine).toBe("Internal Server Error: /posts/17/");
    expect(tb!.time).toBe(Date.UTC(2026, 10, 23, 10, 20, 41));
    expect(tb!.timeFrom).toBe("after");
  });

  it("a timestamp only before it is used when none follows; none at all leaves the time unset", () => {
    const before = parseTracebacks(`${BOOT}\nstarting\n${CHAINED}`)[0]!;
    expect(before.time).toBe(Date.UTC(2026, 10, 23, 10, 14, 0));
    expect(before.timeFrom).toBe("before");
    expect(parseTracebacks(CHAINED)[0]!.time).toBeUndefined();
  });

  it("gunicorn's own error log: its timestamp with zone", () => {
    const [tb] = parseTracebacks(GUNICORN);
    expect(tb!.type).toBe("ValueError");
    expect(tb!.message).toBe("invalid literal for int() with base 10: 'abc'");
    expect(tb!.time).toBe(Date.UTC(2026, 10, 23, 10, 30, 0));
    expect(tb!.blocks[0]!.frames.at(-1)!.function).toBe("application");
  });

  it("chained exceptions are one traceback of three blocks; the one raised last names it", () => {
    const tbs = parseTracebacks(CHAINED);
    expect(tbs).toHaveLength(1);
    const tb = tbs[0]!;
    expect(tb.blocks.map((b) => b.type)).toEqual(["json.decoder.JSONDecodeError", "shop.orders.OrderError", "KeyError"]);
    expect(tb.type).toBe("KeyError");
    expect(tb.message).toBe("'fallback'");
    expect(tb.lines.join("\n")).toBe(CHAINED.trimEnd());
  });

  it("SyntaxError: the location frame has no function; printed without a header it is still found", () => {
    const [tb] = parseTracebacks(SYNTAX);
    expect(tb!.type).toBe("SyntaxError");
    expect(tb!.blocks[0]!.frames.at(-1)).toEqual({ file: "/srv/apps/shop/current/shop/broken.py", line: 1 });
    const [bare, ...more] = parseTracebacks(`${ACCESS}\n${SYNTAX_BARE}${ACCESS}\n`);
    expect(more).toEqual([]);
    expect(bare!.type).toBe("SyntaxError");
    expect(bare!.lines).toEqual(SYNTAX_BARE.trimEnd().split("\n"));
    // A frame line alone, not ending in a SyntaxError, is not a traceback.
    expect(parseTracebacks('  File "x.py", line 3\n    y\nhello\n')).toEqual([]);
  });

  it("a traceback cut at the end of the file is reported cut short, the ones before it whole", () => {
    const cut = flaskTraceback({ n: 2 }).split("\n").slice(0, 9).join("\n");
    const tbs = parseTracebacks(`${GUNICORN}${cut}`);
    expect(tbs.map((t) => [t.type, t.complete])).toEqual([
      ["ValueError", true],
      ["(cut short)", false],
    ]);
    expect(tbs[1]!.lines).toHaveLength(8);
    // A new header before the exception line cuts the open one short too.
    const two = parseTracebacks(`${cut}\n${DJANGO}`);
    expect(two.map((t) => [t.type, t.complete])).toEqual([
      ["(cut short)", false],
      ["posts.models.Post.DoesNotExist", true],
    ]);
  });

  it("lines of another worker interleaved in a traceback are skipped, and that worker's own traceback is found too", () => {
    const a = flaskTraceback({ n: 1 }).split("\n");
    const b = GUNICORN.split("\n");
    // Worker A's traceback with an access line, a boot line and worker B's whole error after its 5th line.
    const text = [...a.slice(0, 6), ACCESS, BOOT, ...a.slice(6, 12), ACCESS, ...a.slice(12)].join("\n") + b.join("\n");
    const tbs = parseTracebacks(text);
    expect(tbs.map((t) => t.type)).toEqual(["shop.app.FawkesTestError", "ValueError"]);
    expect(tbs[0]!.blocks[0]!.frames).toHaveLength(5);
    expect(tbs[0]!.lines).not.toContain(ACCESS);
    expect(tbs[0]!.lines).toEqual(parseTracebacks(flaskTraceback({ n: 1 }))[0]!.lines);
  });

  it("any run of tracebacks, with other workers' lines inside their frames, parses back to the same ones (property)", () => {
    const samples = [flaskTraceback(), DJANGO, GUNICORN, CHAINED, SYNTAX, recursion(2)];
    const alone = samples.map((s) => parseTracebacks(s)[0]!);
    const foreignLine = fc.constantFrom(ACCESS, BOOT, "Internal Server Error: /x", "[2026-11-23 10:15:03,001] INFO in app: order queued");
    fc.assert(
      fc.property(fc.array(fc.record({ k: fc.nat(samples.length - 1), at: fc.nat(), foreign: fc.array(foreignLine, { maxLength: 5 }) }), { maxLength: 6 }), (picks) => {
        const text = picks
          .map(({ k, at, foreign }) => {
            const ls = samples[k]!.replace(/\n$/, "").split("\n");
            const header = ls.findIndex((l) => l.startsWith("Traceback"));
            const exception = ls.findIndex((l, i) => i > header && /^[A-Za-z_][\w.]*(:|$)/.test(l));
            // Somewhere after the first frame line, up to just before the first exception line.
            const p = header + 2 + (at % (exception - header - 1));
            return [...ls.slice(0, p), ...foreign, ...ls.slice(p)].join("\n");
          })
          .join("\n");
        const parsed = parseTracebacks(text);
        expect(parsed.map((t) => [t.type, t.lines])).toEqual(picks.map(({ k }) => [alone[k]!.type, alone[k]!.lines]));
      }),
    );
  });

  it("recursion: repeated frames and the repeat note", () => {
    const [tb] = parseTracebacks(recursion(3));
    expect(tb!.type).toBe("RecursionError");
    expect(tb!.blocks[0]!.frames).toHaveLength(4);
  });

  it("an exception line without any frame is not a traceback; ordinary log text has none", () => {
    expect(parseTracebacks(`${BOOT}\n${ACCESS}\nValueError: nope\nTraceback (most recent call last):\nValueError: x\n`)).toEqual([
      expect.objectContaining({ complete: false }),
    ]);
    expect(parseTracebacks(`${BOOT}\n${ACCESS}\n\n`)).toEqual([]);
  });

  it("CRLF line ends", () => {
    expect(parseTracebacks(GUNICORN.replace(/\n/g, "\r\n"))[0]!.type).toBe("ValueError");
  });
});

describe("lineTime", () => {
  it("reads Python logging's asctime, gunicorn's error and access log times, ISO with zones", () => {
    expect(lineTime("[2026-11-23 10:15:02,118] ERROR in app: x")).toBe(Date.UTC(2026, 10, 23, 10, 15, 2, 118));
    expect(lineTime("[2026-11-23 12:30:00 +0200] [812] [ERROR] Error handling request /")).toBe(Date.UTC(2026, 10, 23, 10, 30, 0));
    expect(lineTime('10.0.0.1 - - [23/Nov/2026:10:15:03 -0100] "GET / HTTP/1.0" 200')).toBe(Date.UTC(2026, 10, 23, 11, 15, 3));
    expect(lineTime("ERROR 2026-11-23T10:15:02.5Z django.request: x")).toBe(Date.UTC(2026, 10, 23, 10, 15, 2, 500));
    expect(lineTime("Internal Server Error: /posts/17/")).toBeUndefined();
    expect(lineTime(`${"x".repeat(120)} 2026-11-23 10:15:02`)).toBeUndefined();
  });
});

describe("signature and grouping", () => {
  const occ = (text: string, host: string, app = "shop"): Occurrence => {
    const tb = parseTracebacks(text)[0]!;
    return { app, host, traceback: tb, time: tb.time ?? 0, where: `/var/log/fawkes/${app}/web.log` };
  };

  it("normalises release dirs, current, venvs and Python's version out of file names", () => {
    expect(normaliseFile("/srv/apps/shop/releases/r1/shop/app.py")).toBe("shop/shop/app.py");
    expect(normaliseFile("/srv/apps/shop/current/shop/app.py")).toBe("shop/shop/app.py");
    expect(normaliseFile("/srv/apps/shop/releases/r1/venv/lib/python3.11/site-packages/flask/app.py")).toBe("site-packages/flask/app.py");
    expect(normaliseFile("/usr/lib/python3/dist-packages/django/core/handlers/base.py")).toBe("site-packages/django/core/handlers/base.py");
    expect(normaliseFile("/usr/lib/python3.11/json/decoder.py")).toBe("python/json/decoder.py");
    expect(normaliseFile("<frozen runpy>")).toBe("<frozen runpy>");
  });

  it("normalises messages: numbers, hex, uuids, quoted values", () => {
    expect(normaliseMessage("request 7 failed on purpose at 0x7f3a1c")).toBe("request N failed on purpose at 0x…");
    expect(normaliseMessage("order 3f2b8c1e-0d4a-4b5e-9f6a-7c8d9e0f1a2b for 'alice' (\"x y\")")).toBe("order <uuid> for '…' (\"…\")");
    expect(normaliseMessage("commit deadbeef12 took 1.5 s")).toBe("commit <hex> took N s");
  });

  it("the same bug on other hosts, requests, releases and lines has one signature (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 5000 }), fc.stringMatching(/^r[0-9a-f]{12}$/), (n, line, release) => {
        const a = parseTracebacks(flaskTraceback({ n, line, release }))[0]!;
        const b = parseTracebacks(flaskTraceback({ n: n + 1 }))[0]!;
        expect(signatureOf(a)).toBe(signatureOf(b));
        expect(signatureOf(a)).toMatch(/^[0-9a-f]{12}$/);
      }),
    );
  });

  it("another type, another frame or another chain is another signature; recursion depth is not", () => {
    const flask = parseTracebacks(flaskTraceback())[0]!;
    const sig = signatureOf(flask);
    const otherType = parseTracebacks(flaskTraceback().replace("shop.app.FawkesTestError:", "KeyError:"))[0]!;
    const otherFunction = parseTracebacks(flaskTraceback().replace(", in boom", ", in explode"))[0]!;
    expect(signatureOf(otherType)).not.toBe(sig);
    expect(signatureOf(otherFunction)).not.toBe(sig);
    const chained = parseTracebacks(CHAINED)[0]!;
    const lastBlockOnly = parseTracebacks(CHAINED.slice(CHAINED.lastIndexOf("Traceback")))[0]!;
    expect(lastBlockOnly.type).toBe(chained.type);
    expect(signatureOf(lastBlockOnly)).not.toBe(signatureOf(chained));
    expect(signatureOf(parseTracebacks(recursion(2))[0]!)).toBe(signatureOf(parseTracebacks(recursion(30))[0]!));
  });

  it("groups across hosts: counts, first and last seen, hosts, the latest as sample; most frequent first", () => {
    const groups = groupOccurrences([
      occ(flaskTraceback({ n: 1, time: "2026-11-23 10:00:00" }), "dev-web-1"),
      occ(flaskTraceback({ n: 2, time: "2026-11-23 10:05:00", release: "r000000000002" }), "dev-web-2"),
      occ(flaskTraceback({ n: 3, time: "2026-11-23 10:02:00" }), "dev-web-1"),
      occ(DJANGO, "dev-web-1", "blog"),
    ]);
    expect(groups).toHaveLength(2);
    const [shop, blog] = groups;
    expect(shop).toMatchObject({
      app: "shop",
      type: "shop.app.FawkesTestError",
      count: 3,
      firstSeen: Date.UTC(2026, 10, 23, 10, 0, 0, 118),
      lastSeen: Date.UTC(2026, 10, 23, 10, 5, 0, 118),
      hosts: [
        { host: "dev-web-1", count: 2 },
        { host: "dev-web-2", count: 1 },
      ],
    });
    // Messages differ (request numbers, addresses): shown normalised.
    expect(shop!.message).toBe("request N failed on purpose at 0x…");
    expect(shop!.sample.host).toBe("dev-web-2");
    expect(shop!.sample.logLine).toBe("[2026-11-23 10:05:00,118] ERROR in app: Exception on /boom/2 [GET]");
    expect(shop!.sample.lines.at(-1)).toMatch(/FawkesTestError: request 2 failed/);
    expect(shop!.frames.at(-1)).toBe("shop/shop/app.py:boom");
    expect(blog).toMatchObject({ app: "blog", count: 1, message: "Post matching query does not exist.", hosts: [{ host: "dev-web-1", count: 1 }] });
  });
});
