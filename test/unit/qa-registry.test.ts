// The QA registry: TTL parsing, expiry, gc selection (never a non-QA stack), the records on disk,
// what `qa list` prints, and the qa commands' usage errors. No hosts: the e2e test boots those.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { qaStackName } from "../../src/names/index.ts";
import {
  expired, formatGcLine, formatList, formatSpan, gcSelection, listRecords, listRow, QaError, readRecord, recordFile, removeRecord, timeLeft, ttlMs, writeRecord, type QaRecord,
} from "../../src/qa/index.ts";

const H = 3600_000;
const D = 24 * H;
const NOW = new Date("2025-06-10T12:00:00.000Z");

function record(branch: string, over: Partial<QaRecord> = {}): QaRecord {
  const stack = qaStackName(branch);
  return {
    branch,
    stack,
    target: "local",
    project: "/src/shop",
    stackFile: `/src/shop/stacks/Pulumi.${stack}.yaml`,
    createdStackFile: true,
    ref: branch,
    commit: "0123456789abcdef0123456789abcdef01234567",
    createdAt: "2025-06-08T12:00:00.000Z",
    lastPush: "2025-06-09T12:00:00.000Z",
    ttl: "3d",
    releases: { shop: "r0123456789ab", blog: "rba9876543210" },
    urls: { shop: `http://shop.${stack}.localhost:8081/`, blog: `http://blog.${stack}.localhost:8081/` },
    ...over,
  };
}

const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

let home = "";
let savedHome: string | undefined;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-qa-home-"));
  savedHome = process.env.FAWKES_HOME;
  process.env.FAWKES_HOME = home;
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

describe("ttlMs: the qaTtl knob's duration format", () => {
  it.each([
    ["90s", 90_000],
    ["15m", 15 * 60_000],
    ["36h", 36 * H],
    ["3d", 3 * D],
    ["2w", 14 * D],
  ])("%s", (ttl, ms) => expect(ttlMs(ttl)).toBe(ms));

  it.each(["", "3", "0d", "3 d", "-1d", "1y", "3D", "1.5d", "d"])("rejects %j, saying what a duration looks like", (ttl) => {
    expect(() => ttlMs(ttl)).toThrow(QaError);
    expect(() => ttlMs(ttl)).toThrow(`TTL ${JSON.stringify(ttl)}: must be a duration like "36h", "3d" or "2w"`);
  });
});

describe("expiry: the last push older than the TTL", () => {
  it("time left is last push + TTL - now, negative once expired", () => {
    expect(timeLeft({ lastPush: ago(1 * D), ttl: "3d" }, NOW)).toBe(2 * D);
    expect(timeLeft({ lastPush: ago(4 * D), ttl: "3d" }, NOW)).toBe(-1 * D);
    expect(expired({ lastPush: ago(1 * D), ttl: "3d" }, NOW)).toBe(false);
    expect(expired({ lastPush: ago(4 * D), ttl: "3d" }, NOW)).toBe(true);
  });

  it("exactly the TTL old is not yet expired; a millisecond more is", () => {
    expect(expired({ lastPush: ago(3 * D), ttl: "3d" }, NOW)).toBe(false);
    expect(expired({ lastPush: ago(3 * D + 1), ttl: "3d" }, NOW)).toBe(true);
  });

  it("an override TTL replaces the record's own", () => {
    const r = { lastPush: ago(2 * D), ttl: "3d" };
    expect(expired(r, NOW, "1d")).toBe(true);
    expect(expired(r, NOW, "1w")).toBe(false);
    expect(timeLeft(r, NOW, "36h")).toBe(-12 * H);
  });

  it("the last push's time zone does not matter (git gives +02:00 offsets)", () => {
    expect(timeLeft({ lastPush: "2025-06-10T13:00:00+02:00", ttl: "1h" }, NOW)).toBe(0);
  });
});

describe("gc selection", () => {
  it("picks the expired QA stacks only", () => {
    const old = record("feature/old", { lastPush: ago(10 * D) });
    const fresh = record("feature/fresh", { lastPush: ago(1 * H) });
    const ownTtl = record("feature/long", { lastPush: ago(10 * D), ttl: "2w" });
    expect(gcSelection([old, fresh, ownTtl], NOW).map((r) => r.branch)).toEqual(["feature/old"]);
    expect(gcSelection([old, fresh, ownTtl], NOW, "1w").map((r) => r.branch)).toEqual(["feature/old", "feature/long"]);
    expect(gcSelection([old, fresh, ownTtl], NOW, "30m").map((r) => r.branch)).toEqual(["feature/old", "feature/fresh", "feature/long"]);
  });

  it("never picks a stack that is not a QA stack, however old: production, staging, dev, the qa template", () => {
    const forged = ["production", "staging", "dev", "qa", "qa-", "QA-x", "../production", "qa-x/../../production", "roll"].map((stack) => ({ stack, lastPush: ago(365 * D), ttl: "1d" }));
    expect(gcSelection(forged, NOW, "1s")).toEqual([]);
  });

  it("every stack it picks is a QA stack, for any stacks, times and TTLs (property)", () => {
    const stack = fc.oneof(fc.string(), fc.constantFrom("production", "staging", "dev", "qa", "qa-a", "qa-feature-a-0123abcd"), fc.string().map(qaStackNameOrEmpty));
    const rec = fc.record({ stack, lastPush: fc.integer({ min: 0, max: 400 }).map((d) => ago(d * D)), ttl: fc.constantFrom("1h", "1d", "3d", "2w") });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 20 }), fc.option(fc.constantFrom("1s", "1d", "3d"), { nil: undefined }), (records, ttl) => {
        const picked = gcSelection(records, NOW, ttl);
        for (const r of picked) expect(r.stack).toMatch(/^qa-[a-z0-9]+(-[a-z0-9]+)*$/);
        for (const r of records) if (!picked.includes(r) && /^qa-[a-z0-9]+(-[a-z0-9]+)*$/.test(r.stack) && r.stack.length <= 53) expect(expired(r, NOW, ttl)).toBe(false);
      }),
    );
  });
});

function qaStackNameOrEmpty(branch: string): string {
  try {
    return qaStackName(branch);
  } catch {
    return "";
  }
}

describe("the records on disk", () => {
  it("write, read, list and remove; an unchanged record is not written again", () => {
    const a = record("feature/a");
    const b = record("feature/b");
    expect(writeRecord(a)).toBe(true);
    expect(writeRecord(b)).toBe(true);
    expect(recordFile(a.stack)).toBe(join(home, "qa", `${a.stack}.json`));
    expect(writeRecord(a)).toBe(false);
    expect(writeRecord({ ...a, commit: "f".repeat(40) })).toBe(true);
    expect(readRecord(a.stack)?.commit).toBe("f".repeat(40));
    expect(listRecords().records.map((r) => r.branch).sort()).toEqual(["feature/a", "feature/b"]);
    removeRecord(a.stack);
    removeRecord(b.stack);
    expect(existsSync(recordFile(a.stack))).toBe(false);
    expect(listRecords()).toEqual({ records: [], problems: [] });
    expect(readRecord(a.stack)).toBeUndefined();
  });

  it("a file name is only ever a QA stack: no path out of the registry, no `production.json`", () => {
    expect(() => recordFile("../production")).toThrow(QaError);
    expect(() => recordFile("production")).toThrow('"production" is not a QA stack name');
    expect(() => recordFile("qa")).toThrow(QaError);
    expect(() => writeRecord({ ...record("feature/a"), stack: "production" })).toThrow();
  });

  it("a file that is not a valid record is reported and left alone, never acted on", () => {
    mkdirSync(join(home, "qa"), { recursive: true });
    const good = record("feature/good");
    writeRecord(good);
    writeFileSync(join(home, "qa", "production.json"), JSON.stringify({ ...good, stack: "production" }));
    writeFileSync(join(home, "qa", "qa-torn.json"), "{ not json");
    writeFileSync(join(home, "qa", "qa-other.json"), JSON.stringify(good));
    const { records, problems } = listRecords();
    expect(records.map((r) => r.stack)).toEqual([good.stack]);
    expect(problems).toHaveLength(3);
    expect(problems.join("\n")).toContain('"production" is not a QA stack name');
    expect(problems.join("\n")).toContain("qa-torn.json: not JSON");
    expect(problems.join("\n")).toContain(`qa-other.json: holds stack ${good.stack}, not qa-other`);
    for (const f of ["production.json", "qa-torn.json", "qa-other.json"]) rmSync(join(home, "qa", f));
    removeRecord(good.stack);
  });
});

describe("what qa list and qa gc print", () => {
  it("spans in their two largest units", () => {
    expect(formatSpan(0)).toBe("0s");
    expect(formatSpan(59)).toBe("59s");
    expect(formatSpan(3600)).toBe("1h");
    expect(formatSpan(90061)).toBe("1d 1h");
    expect(formatSpan(2 * 86400 + 60)).toBe("2d");
    expect(formatSpan(10 * 86400)).toBe("1w 3d");
    expect(formatSpan(-(86400 + 4 * 3600))).toBe("-1d 4h");
  });

  it("a row per environment: age, last push, TTL left (negative once expired), state, URLs", () => {
    const a = record("feature/a", { createdAt: ago(2 * D), lastPush: ago(5 * H) });
    const b = record("feature/b", { createdAt: ago(9 * D), lastPush: ago(4 * D + 2 * H) });
    const rows = [listRow(a, NOW, true), listRow(b, NOW, false)];
    expect(rows[0]).toMatchObject({ branch: "feature/a", stack: a.stack, target: "local", ageSeconds: 2 * 86400, sinceLastPushSeconds: 5 * 3600, ttlLeftSeconds: 3 * 86400 - 5 * 3600, expired: false, up: true, state: "up", ttl: "3d" });
    expect(rows[1]).toMatchObject({ ttlLeftSeconds: -(1 * 86400 + 2 * 3600), expired: true, up: false, state: "down" });
    expect(formatList(rows)).toBe(
      [
        `BRANCH     STACK${" ".repeat(a.stack.length - 5)}  TARGET  AGE    LAST PUSH  TTL LEFT          STATE`,
        `feature/a  ${a.stack}  local   2d     5h ago     2d 19h            up`,
        `    shop: ${a.urls.shop}`,
        `    blog: ${a.urls.blog}`,
        `feature/b  ${b.stack}  local   1w 2d  4d 2h ago  -1d 2h (expired)  down`,
        `    shop: ${b.urls.shop}`,
        `    blog: ${b.urls.blog}`,
        "",
      ].join("\n"),
    );
    expect(formatList([])).toBe("no QA environments\n");
  });

  it("a gc line says what, why and whether it was only a dry run", () => {
    const row = listRow(record("feature/b", { lastPush: ago(4 * D) }), NOW, true);
    expect(formatGcLine(row, true)).toBe(`would remove ${row.stack} (branch feature/b): last push 4d ago, TTL 3d, expired 1d ago\n`);
    expect(formatGcLine(row, false)).toBe(`removed ${row.stack} (branch feature/b): last push 4d ago, TTL 3d, expired 1d ago\n`);
  });
});

describe("the qa commands, short of booting anything", () => {
  async function fawkes(...argv: string[]) {
    let out = "";
    let err = "";
    const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: join(import.meta.dirname, "../..") });
    return { code, out, err };
  }

  it.each(["qa up", "qa down", "qa list", "qa gc"])("%s --help names its usage and exit codes", async (cmd) => {
    const r = await fawkes(...cmd.split(" "), "--help");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`usage: fawkes ${cmd}`);
    expect(r.out).toContain("Exit codes: 0");
  });

  it("usage errors: no branch, a bad TTL (exit 2)", async () => {
    expect((await fawkes("qa", "up", "--local")).err).toContain("give the git branch: --branch B");
    const ttl = await fawkes("qa", "gc", "--ttl", "3 days");
    expect(ttl.code).toBe(2);
    expect(ttl.err).toContain('--ttl 3 days: must be a duration like "36h", "3d" or "2w"');
    expect((await fawkes("qa", "up", "--branch", "x", "--local", "--ttl", "1y")).code).toBe(2);
  });

  it("qa down --local of an unknown branch: a clear error, exit 1, nothing touched", async () => {
    writeRecord(record("feature/known"));
    const r = await fawkes("qa", "down", "--branch", "feature/nope", "--local");
    expect(r.code).toBe(1);
    expect(r.err).toBe(`error: no QA environment for branch "feature/nope" (stack ${qaStackName("feature/nope")}) on this machine; QA environments: feature/known (${qaStackName("feature/known")})\n`);
    expect(readRecord(qaStackName("feature/known"))).toBeDefined();
    removeRecord(qaStackName("feature/known"));
  });

  it("qa list --local --json and qa gc --local --dry-run read the records and change nothing", async () => {
    const fresh = record("feature/fresh", { lastPush: new Date(Date.now() - H).toISOString() });
    const old = record("feature/old", { lastPush: new Date(Date.now() - 10 * D).toISOString() });
    writeRecord(fresh);
    writeRecord(old);
    const before = [readFileSync(recordFile(fresh.stack), "utf8"), readFileSync(recordFile(old.stack), "utf8")];
    const list = await fawkes("qa", "list", "--local", "--json");
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.out) as Array<{ branch: string; expired: boolean; up: boolean; urls: Record<string, string> }>;
    expect(rows.map((r) => [r.branch, r.expired, r.up])).toEqual([
      ["feature/fresh", false, false],
      ["feature/old", true, false],
    ].sort((x, y) => qaStackName(x[0] as string).localeCompare(qaStackName(y[0] as string))));
    const dry = await fawkes("qa", "gc", "--local", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(new RegExp(`^would remove ${old.stack} \\(branch feature/old\\): last push 1w 3d ago, TTL 3d, expired 1w ago\\n$`));
    const dryAll = await fawkes("qa", "gc", "--local", "--dry-run", "--ttl", "1m", "--json");
    expect((JSON.parse(dryAll.out) as { expired: Array<{ branch: string }> }).expired.map((r) => r.branch).sort()).toEqual(["feature/fresh", "feature/old"]);
    expect([readFileSync(recordFile(fresh.stack), "utf8"), readFileSync(recordFile(old.stack), "utf8")]).toEqual(before);
    removeRecord(fresh.stack);
    removeRecord(old.stack);
  });
});
