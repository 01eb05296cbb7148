import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  appendHistory,
  historyFile,
  previousRelease,
  readHistory,
  rolloutId,
  rolloutLogDir,
  stacksWithHistory,
  whoAmI,
  type HistoryEntry,
} from "../../src/release/history.ts";

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-history-"));
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

function entry(over: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    id: "20250101T000000Z-abcdef",
    stack: "dev",
    kind: "release",
    target: "local",
    who: "ana@box",
    command: "fawkes release shop r1 --stack dev",
    startedAt: "2025-01-01T00:00:00.000Z",
    finishedAt: "2025-01-01T00:01:00.000Z",
    durationSeconds: 60,
    app: "shop",
    from: "r1",
    to: "r2",
    hostsReplaced: ["dev-web-1"],
    result: "succeeded",
    logs: "/var/lib/fawkes/history/dev/20250101T000000Z-abcdef",
    ...over,
  };
}

describe("history file", () => {
  it("reads back what was appended, oldest first, per stack", () => {
    const first = entry({ id: "1" });
    const second = entry({ id: "2", kind: "rollback", from: "r2", to: "r1", result: "failed", failure: "web-1: health gate" });
    appendHistory(first, home);
    appendHistory(second, home);
    appendHistory(entry({ id: "3", stack: "prod" }), home);
    expect(readHistory("dev", home)).toEqual([first, second]);
    expect(readHistory("prod", home).map((e) => e.id)).toEqual(["3"]);
    expect(historyFile("dev", home)).toBe(join(home, "history", "dev.jsonl"));
  });

  it("is empty for a stack without history", () => {
    expect(readHistory("nope", home)).toEqual([]);
  });

  it("skips a torn last line (a crash mid-write)", () => {
    appendHistory(entry({ id: "1" }), home);
    appendFileSync(historyFile("dev", home), '{"id":"2","stack":"d');
    expect(readHistory("dev", home).map((e) => e.id)).toEqual(["1"]);
  });

  it("keeps the entry appended after a torn line", () => {
    appendHistory(entry({ id: "1" }), home);
    appendFileSync(historyFile("dev", home), '{"id":"2","stack":"d');
    appendHistory(entry({ id: "3" }), home);
    expect(readHistory("dev", home).map((e) => e.id)).toEqual(["1", "3"]);
  });

  it("lists the stacks with a history, sorted, not their log directories", () => {
    appendHistory(entry({ stack: "prod" }), home);
    appendHistory(entry({ stack: "dev" }), home);
    mkdirSync(rolloutLogDir("dev", "x", home), { recursive: true });
    writeFileSync(join(home, "history", "notes.txt"), "");
    expect(stacksWithHistory(home)).toEqual(["dev", "prod"]);
  });

  it("lists no stacks before the first rollout", () => {
    expect(stacksWithHistory(home)).toEqual([]);
  });
});

describe("previousRelease", () => {
  it("is the release before the current one, counting only successful rollouts of that app", () => {
    const entries = [
      entry({ from: "r0", to: "r1" }),
      entry({ from: "r1", to: "r2" }),
      // Failed and rolled back: r2 still serves, and r3 never did.
      entry({ from: "r2", to: "r3", result: "rolled-back" }),
      entry({ from: "r2", to: "r3", result: "failed" }),
      // Another app's rollouts say nothing about this one.
      entry({ app: "blog", from: "r9", to: "r2" }),
      // A rebuild keeps the release.
      entry({ kind: "rebuild", from: "r2", to: "r2" }),
    ];
    expect(previousRelease(entries, "shop", "r2")).toBe("r1");
    // r1 is not what serves: there is no "before" to speak of.
    expect(previousRelease(entries, "shop", "r1")).toBeUndefined();
    expect(previousRelease(entries, "blog", "r2")).toBe("r9");
  });

  it("goes back one release per rollback, like Capistrano's release dirs", () => {
    const entries = [entry({ from: "r1", to: "r2" }), entry({ from: "r2", to: "r3" }), entry({ kind: "rollback", from: "r3", to: "r2" })];
    expect(previousRelease(entries, "shop", "r2")).toBe("r1");
    entries.push(entry({ kind: "rollback", from: "r2", to: "r1" }));
    expect(previousRelease(entries, "shop", "r1")).toBeUndefined();
    // A rollback --to a release never deployed here starts from it.
    entries.push(entry({ kind: "rollback", from: "r1", to: "r0" }));
    expect(previousRelease(entries, "shop", "r0")).toBe("r1");
  });

  it("starts again from a release's own 'from' when the pin moved outside the history (an environment of the same name made again)", () => {
    // An earlier environment called dbt ran r1 -> r2 and was taken down; the new one came up on r5.
    const entries = [entry({ from: "r1", to: "r2" }), entry({ from: "r5", to: "r6" })];
    expect(previousRelease(entries, "shop", "r6")).toBe("r5");
    // A stack file edited by hand to r8, then a release to r9: back goes to r8, not to r6.
    entries.push(entry({ from: "r8", to: "r9" }));
    expect(previousRelease(entries, "shop", "r9")).toBe("r8");
  });

  it("is undefined for a first release or an unknown one", () => {
    expect(previousRelease([entry({ from: undefined, to: "r1" })], "shop", "r1")).toBeUndefined();
    expect(previousRelease([entry()], "shop", "r7")).toBeUndefined();
    expect(previousRelease([], "shop", "r1")).toBeUndefined();
  });
});

describe("who and when", () => {
  it("names the person behind sudo, and the machine", () => {
    vi.stubEnv("SUDO_USER", "ana");
    vi.stubEnv("USER", "root");
    expect(whoAmI()).toMatch(/^ana@./);
  });

  it("makes sortable ids from the start time", () => {
    expect(rolloutId(new Date("2025-03-04T05:06:07.890Z"))).toMatch(/^20250304T050607Z-[0-9a-f]{1,6}$/);
    expect(rolloutId(new Date("2025-03-04T05:06:07Z")) < rolloutId(new Date("2025-03-04T05:06:08Z"))).toBe(true);
  });
});
