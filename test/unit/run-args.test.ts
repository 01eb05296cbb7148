// `fawkes run APP -- CMD...` at the command line: APP, --host and --stack checked as names before
// anything runs, CMD taken as given after `--` (never parsed as fawkes's flags, never split), and
// fawkes's own failures, usage included, exit 125 so that every other code is the command's.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, UsageError } from "../../src/cli/command.ts";
import { run } from "../../src/cli/commands/run.ts";
import { main } from "../../src/cli/main.ts";
import { RUN_FAILED } from "../../src/run/index.ts";
import { repoProjectCopy } from "../helpers/recipe.ts";

let home = "";
let root = "";
let saved: string | undefined;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-run-args-home-"));
  saved = process.env.FAWKES_HOME;
  process.env.FAWKES_HOME = home;
  root = repoProjectCopy("fawkes-run-args-");
});

afterAll(() => {
  if (saved === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = saved;
  rmSync(home, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

async function fawkes(...argv: string[]) {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
  return { code, out, err };
}

const usageError = (argv: string[]) => {
  try {
    parse(run, argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`parsed: ${JSON.stringify(argv)}`);
};

describe("the command to run", () => {
  it("is every word after --, as given: its flags are its own, a -- inside it stays", () => {
    const argv = ["python", "manage.py", "shell", "--stack", "prod", "-c", "print(1); import os", "--", "--help", "*", "$HOME"];
    expect(parse(run, ["shop", "--stack", "dev", "--", ...argv])).toMatchObject({ positionals: ["shop"], rest: argv, values: { stack: "dev" } });
  });

  it("may follow fawkes's flags in any order before --", () => {
    expect(parse(run, ["--host", "dev-web-2", "shop", "--stack", "qa-x", "--target", "aws", "--", "id"])).toMatchObject({ positionals: ["shop"], rest: ["id"], values: { host: "dev-web-2", stack: "qa-x", target: "aws" } });
  });

  it("takes APP after a first -- too, when a second one starts the command", () => {
    expect(parse(run, ["--stack", "dev", "--", "shop", "--", "ls", "-la"])).toMatchObject({ positionals: ["shop"], rest: ["ls", "-la"] });
  });

  it("must come after --, and must be there", () => {
    expect(usageError(["shop", "id"])).toBe("put -- before the command to run");
    expect(usageError(["shop", "--"])).toMatch(/^no command to run/);
    expect(usageError(["shop"])).toMatch(/^no command to run/);
    expect(usageError(["shop", "ls", "-la"])).toMatch(/Unknown option '-l'/);
  });

  it("--help needs no command", () => {
    expect(parse(run, ["--help"]).values.help).toBe(true);
  });
});

describe("fawkes run's exit codes", () => {
  it("125 for a name that is not one, before anything runs, with the usage", async () => {
    for (const argv of [["run", "../x", "--", "id"], ["run", "shop", "--host", "../../etc", "--", "id"], ["run", "--stack", "a/b", "shop", "--", "id"], ["run", "--", "-rf", "--", "id"]]) {
      const r = await fawkes(...argv);
      expect(r.code, argv.join(" ")).toBe(RUN_FAILED);
      expect(r.err).toMatch(/^error: (APP|--host|--stack) ".*": not an? (app|host|stack) name/);
      expect(r.err).toContain("\nusage: fawkes run APP");
      expect(r.out).toBe("");
    }
    expect(readdirSync(home)).toEqual([]);
  });

  it("125 for the other usage errors, an unknown app and a stack that is not up; nothing recorded", async () => {
    expect(await fawkes("run", "shop", "id")).toMatchObject({ code: 125 });
    expect(await fawkes("run", "shop", "--target", "twin", "--", "id")).toMatchObject({ code: 125, err: expect.stringContaining("--target twin: must be local or aws") });
    const unknown = await fawkes("run", "nope", "--", "id");
    expect(unknown).toMatchObject({ code: 125, err: 'error: no app "nope" in the catalogue (Pulumi.yaml); apps: shop, blog\n' });
    if (process.getuid?.() === 0) expect(await fawkes("run", "shop", "--", "id")).toMatchObject({ code: 125, err: "error: stack dev is not up locally; fawkes local up --stack dev\n" });
    expect(readdirSync(home)).toEqual([]);
  });

  it("are in its --help, beside the other commands' way of saying them", async () => {
    const r = await fawkes("run", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toContain("usage: fawkes run APP [--stack S] [--host H] [--target local|aws] -- CMD...");
    expect(r.out).toMatch(/Exit codes: the command's own \(0-255; 128\+N when signal N ended it locally\); 125 fawkes itself\nfailed/);
  });
});
