// What the console keeps between requests. Specs: a stack is read again when a file its spec is
// made of changed (its stack file, its template's for a QA branch stack, the project file), and
// only then: a release that moves one stack's pin must not make the next page load every stack
// again. Each app's last successful push ("since"): read again when the history grew.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { environments, projectStacks, type Principal } from "../../src/console/index.ts";
import { appendHistory, type HistoryEntry } from "../../src/release/index.ts";

const REPO = join(import.meta.dirname, "../..");
let root = "";
let home = "";
const savedHome = process.env.FAWKES_HOME;

const specsBy = () => new Map(projectStacks(root).map((s) => [s.stack, s.spec]));
/** The stacks whose spec is a new object since `before`: those read again. */
const reread = (before: Map<string, unknown>) => [...specsBy()].filter(([stack, spec]) => spec !== before.get(stack)).map(([stack]) => stack).sort();
/** Rewrites a file with one value changed (or a comment added): its size and mtime move (the size alone tells, whatever the clock). */
function edit(file: string, from: string, to: string): void {
  const path = join(root, file);
  const text = readFileSync(path, "utf8");
  writeFileSync(path, from === "" ? `${text}# edited\n` : text.replace(from, to));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "fawkes-console-view-"));
  home = mkdtempSync(join(tmpdir(), "fawkes-console-view-home-"));
  process.env.FAWKES_HOME = home;
  for (const p of ["Pulumi.yaml", "stacks", "image", "examples", "libs"]) if (existsSync(join(REPO, p))) cpSync(join(REPO, p), join(root, p), { recursive: true });
  writeFileSync(join(root, "stacks", "Pulumi.qa-feature-x.yaml"), "config:\n  fawkes:qaTtl: 5d\n");
});

afterAll(() => {
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
  rmSync(root, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe("the console's specs", () => {
  it("are read once, then kept while no file of theirs changes", () => {
    const first = specsBy();
    expect([...first.keys()]).toEqual(["dev", "qa", "qa-feature-x", "staging", "production"]);
    expect([...first.values()].every((s) => s !== undefined)).toBe(true);
    expect(reread(first)).toEqual([]);
  });

  it("read again only the stack whose file changed", () => {
    const before = specsBy();
    edit("stacks/Pulumi.dev.yaml", "fawkes:instanceType: t3.small", "fawkes:instanceType: t3.medium");
    expect(reread(before)).toEqual(["dev"]);
    expect(specsBy().get("dev")?.knobs.instanceType).toBe("t3.medium");
  });

  it("read a QA branch stack again when its template's file changed", () => {
    const before = specsBy();
    edit("stacks/Pulumi.qa.yaml", "fawkes:instanceType: t3.small", "fawkes:instanceType: t3.xlarge");
    expect(reread(before)).toEqual(["qa", "qa-feature-x"]);
    expect(specsBy().get("qa-feature-x")?.knobs.instanceType).toBe("t3.xlarge");
  });

  it("read every stack again when the project file changed", () => {
    const before = specsBy();
    edit("Pulumi.yaml", "", "");
    expect(reread(before)).toEqual(["dev", "production", "qa", "qa-feature-x", "staging"]);
  });
});

describe("the console's since", () => {
  const admin: Principal = { name: "alice", subject: "alice", groups: ["admins"], via: "password" };
  let n = 0;
  const push = (app: string, kind: HistoryEntry["kind"], to: string, result: HistoryEntry["result"]): HistoryEntry => {
    const at = new Date(Date.UTC(2026, 0, 1, 0, ++n)).toISOString();
    const e: HistoryEntry = { id: `20260101T0000${String(n).padStart(2, "0")}Z-abcdef`, stack: "dev", kind, target: "local", who: `dev${n}`, command: "fawkes release", startedAt: at, finishedAt: at, durationSeconds: 1, app, from: "r0", to, hostsReplaced: [], result, logs: "" };
    appendHistory(e, home);
    return e;
  };
  const sinceOf = async (app: string) => (await environments({ root, home, store: join(home, "artifacts") }, admin)).find((e) => e.stack === "dev")!.apps.find((a) => a.app === app)!.since;

  it("is the app's last successful release or rollback to its pin, followed as the history grows", async () => {
    const pin = projectStacks(root).find((s) => s.stack === "dev")!.spec!.knobs.releases.shop!;
    expect(await sinceOf("shop")).toBeUndefined();
    const first = push("shop", "release", pin, "succeeded");
    expect(await sinceOf("shop")).toEqual({ at: first.finishedAt, who: first.who, entry: first.id });
    push("shop", "release", "r-other", "rolled-back");
    push("shop", "maintenance", "on", "succeeded");
    push("blog", "release", pin, "succeeded");
    expect((await sinceOf("shop"))?.entry).toBe(first.id);
    const again = push("shop", "rollback", pin, "succeeded");
    expect((await sinceOf("shop"))?.entry).toBe(again.id);
    // The last move went elsewhere (the pin moved outside fawkes since): no rollout to show.
    push("shop", "release", "r-elsewhere", "succeeded");
    expect(await sinceOf("shop")).toBeUndefined();
  });
});
