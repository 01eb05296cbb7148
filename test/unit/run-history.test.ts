// A run in the environment's history: recorded once the command started, whatever its end (its exit
// code, or why fawkes lost it), never when fawkes refused first; shown by `fawkes history` beside
// releases; and invisible to what reads the history for releases (rollback's previous release, the
// store's retention).
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { protectedReleases } from "../../src/artifact/retention.ts";
import { main } from "../../src/cli/main.ts";
import { appendHistory, previousRelease, readHistory, type HistoryEntry } from "../../src/release/history.ts";
import { recordedRun, RunError, type RunRequest } from "../../src/run/index.ts";

const REPO = join(import.meta.dirname, "../..");
const req: RunRequest = { root: REPO, stack: "dev", app: "blog", argv: ["python", "manage.py", "shell", "-c", "print('it''s')"], target: "local" };
let home = "";

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-run-history-"));
  vi.stubEnv("SUDO_USER", "ana");
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

describe("a run's history entry", () => {
  it("says who ran what (argv quoted), where, when, how long and its exit code", async () => {
    const r = await recordedRun(req, async (started) => {
      started("dev-web-1");
      return { host: "dev-web-1", exitCode: 0 };
    }, home);
    expect(r.exitCode).toBe(0);
    const [e] = readHistory("dev", home);
    expect(e).toEqual(r.entry);
    expect(e).toMatchObject({
      stack: "dev",
      kind: "run",
      target: "local",
      who: expect.stringMatching(/^ana@/),
      command: expect.stringMatching(/^fawkes run blog --stack dev --host dev-web-1 -- python manage\.py shell -c /),
      app: "blog",
      host: "dev-web-1",
      exitCode: 0,
      result: "succeeded",
      hostsReplaced: [],
    });
    expect(e!.durationSeconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(e!.finishedAt)).toBeGreaterThanOrEqual(Date.parse(e!.startedAt));
    expect(e!.failure).toBeUndefined();
    // bash reads the quoted argv back as it was given.
    const words = await execa("bash", ["-c", `printf '%s\\0' ${e!.command.split(" -- ")[1]}`]);
    expect(words.stdout.split("\0").slice(0, -1)).toEqual(req.argv);
  });

  it("a command that fails is a failed run with its code", async () => {
    await recordedRun(req, async (started) => (started("dev-worker-1"), { host: "dev-worker-1", exitCode: 7 }), home);
    expect(readHistory("dev", home)).toEqual([expect.objectContaining({ result: "failed", exitCode: 7, failure: "exited 7", host: "dev-worker-1" })]);
  });

  it("a history that cannot be written loses no exit code: the run's code comes back, with why it is not recorded", async () => {
    const file = join(home, "not-a-dir");
    writeFileSync(file, "");
    const r = await recordedRun(req, async (started) => (started("dev-web-1"), { host: "dev-web-1", exitCode: 3 }), file);
    expect(r.exitCode).toBe(3);
    expect(r.unrecorded).toMatch(/ENOTDIR|EEXIST|not a directory/);
  });

  it("fawkes failing after the start records a failed run without exit code, and rethrows", async () => {
    const lost = recordedRun({ ...req, target: "aws", stack: "prod" }, async (started) => {
      started("i-0123456789abcdef0");
      throw new RunError("command 1234 on i-0123456789abcdef0 is still InProgress after 3780 s");
    }, home);
    await expect(lost).rejects.toThrow(/still InProgress/);
    const [e] = readHistory("prod", home);
    expect(e).toMatchObject({ kind: "run", target: "aws", host: "i-0123456789abcdef0", result: "failed", failure: expect.stringMatching(/still InProgress/) });
    expect(e!.exitCode).toBeUndefined();
  });

  it("nothing is recorded when fawkes refused before the command started", async () => {
    await expect(recordedRun(req, async () => {
      throw new RunError("stack dev is not up locally");
    }, home)).rejects.toThrow();
    expect(readHistory("dev", home)).toEqual([]);
  });
});

describe("fawkes history", () => {
  function release(from: string, to: string, at: string): HistoryEntry {
    return { id: at, stack: "dev", kind: "release", target: "local", who: "bo@box", command: `fawkes release blog ${to} --stack dev`, startedAt: at, finishedAt: at, durationSeconds: 12, app: "blog", from, to, hostsReplaced: ["dev-web-2"], result: "succeeded", logs: "/x" };
  }

  it("shows a run beside the releases: app on host, the command line, the exit code; --json holds it whole", async () => {
    const saved = process.env.FAWKES_HOME;
    process.env.FAWKES_HOME = home;
    try {
      appendHistory(release("r1", "r2", "2026-01-01T10:00:00.000Z"), home);
      await recordedRun(req, async (started) => (started("dev-web-1"), { host: "dev-web-1", exitCode: 3 }), home);
      let out = "";
      expect(await main(["history", "--stack", "dev"], { out: (t) => (out += t), err: () => {}, cwd: REPO })).toBe(0);
      const lines = out.split("\n");
      expect(lines[0]).toMatch(/^2026-01-01T10:00:00.000Z {2}dev {8}release +blog r1 -> r2 /);
      expect(lines[3]).toMatch(/^\S+Z {2}dev +run +blog on dev-web-1 +failed +\d+(\.\d)? s {2}ana@/);
      expect(lines[4]).toBe(`    $ ${readHistory("dev", home)[1]!.command}`);
      expect(lines[5]).toBe("    exit code 3");
      expect(lines[6]).toBe("");
      let json = "";
      await main(["history", "--stack", "dev", "--app", "blog", "--json"], { out: (t) => (json += t), err: () => {}, cwd: REPO });
      expect((JSON.parse(json) as HistoryEntry[]).map((e) => [e.kind, e.exitCode])).toEqual([["release", undefined], ["run", 3]]);
    } finally {
      if (saved === undefined) delete process.env.FAWKES_HOME;
      else process.env.FAWKES_HOME = saved;
    }
  });

  it("a run moves no pin: rollback's previous release and the store's retention read past it", async () => {
    appendHistory(release("r1", "r2", "2026-01-01T10:00:00.000Z"), home);
    appendHistory(release("r2", "r3", "2026-01-02T10:00:00.000Z"), home);
    await recordedRun(req, async (started) => (started("dev-web-1"), { host: "dev-web-1", exitCode: 0 }), home);
    expect(previousRelease(readHistory("dev", home), "blog", "r3")).toBe("r2");
    // Retention keeps the latest rollout's from and to, here r2 and r3, though the run came after it.
    const root = mkdtempSync(join(tmpdir(), "fawkes-run-retention-"));
    try {
      cpSync(join(REPO, "test/fixtures/config/base"), root, { recursive: true });
      expect([...protectedReleases(root, "blog", home)]).toEqual(expect.arrayContaining(["r2", "r3"]));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
