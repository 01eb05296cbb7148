// A stack's name never names a parent dir (issue 17, finding 1): `fawkes local down --stack ..`
// removed the whole fawkes home (every environment's state and backups). Checked once at the CLI's
// entry and again where paths are made of it; here against a throw-away FAWKES_HOME with a
// sentinel, so that the old behaviour would only delete the sentinel.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { envLayout } from "../../src/local/layout.ts";
import { localDown } from "../../src/local/teardown.ts";
import { stackNameProblem } from "../../src/names/index.ts";
import { twinLayout } from "../../src/twin/layout.ts";

const HOSTILE = ["", ".", "..", "../..", "../etc", "envs/../..", "dev/..", "a b", "dev\n", "-", "x".repeat(101)];
let home = "";
let saved: string | undefined;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-home-"));
  mkdirSync(join(home, "envs", "dev"), { recursive: true });
  writeFileSync(join(home, "sentinel"), "every environment's state and backups\n");
  saved = process.env.FAWKES_HOME;
  process.env.FAWKES_HOME = home;
});

afterEach(() => {
  if (saved === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = saved;
  rmSync(home, { recursive: true, force: true });
});

describe("a stack name from the command line", () => {
  it("is refused before anything runs when it could name a parent dir or is not Pulumi's kind of name, and the fawkes home is left as it was", async () => {
    for (const stack of HOSTILE) {
      let err = "";
      const code = await main(["local", "down", "--stack", stack], { out: () => {}, err: (t) => (err += t), cwd: home });
      expect(code, `--stack ${JSON.stringify(stack)}`).toBe(2);
      expect(err).toContain(`--stack ${JSON.stringify(stack)}: not a stack name`);
      expect(existsSync(join(home, "sentinel")), `--stack ${JSON.stringify(stack)} removed the fawkes home`).toBe(true);
      expect(existsSync(join(home, "envs", "dev"))).toBe(true);
    }
  });

  it("is refused where paths are made of it too, whoever calls", async () => {
    for (const stack of HOSTILE) {
      expect(() => envLayout(stack, home), JSON.stringify(stack)).toThrow(/not a stack name/);
      expect(() => twinLayout(stack, home), JSON.stringify(stack)).toThrow(/not a stack name/);
    }
    // A layout made by hand that points above <home>/envs is refused by the teardown itself.
    const forged = { ...envLayout("dev", home), dir: home };
    await expect(localDown(forged)).rejects.toThrow(/refusing to remove/);
    expect(existsSync(join(home, "sentinel"))).toBe(true);
  });

  it("accepts the names stacks have: environments, QA branches, Pulumi's letters", () => {
    for (const stack of ["dev", "qa", "staging", "production", "qa-feature-login-3f2a9c", "Prod_eu.1", "roll"]) expect(stackNameProblem(stack), stack).toBeUndefined();
  });
});
