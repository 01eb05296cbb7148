// Names from the command line (issue 17, finding 1): every app, host, release, backup and stack name a
// command takes is declared as such in its command table and checked once, before the command runs
// (src/cli/command.ts, with the one rule per kind of src/names). `fawkes local logs ../../etc` read
// files out of the hosts' log dirs. Here against a throw-away project and FAWKES_HOME: a hostile
// name gets `error: <ARG> "<value>": not a ... (what a right one looks like)`, exit 2, and nothing is
// created or removed.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS, main } from "../../src/cli/main.ts";
import { appNameProblem, backupIdProblem, hostNameProblem, qaStackName, releaseIdProblem } from "../../src/names/index.ts";
import { repoProjectCopy } from "../helpers/recipe.ts";

const HOSTILE = ["", ".", "..", "../x", "../../etc", "a/b", "a\nb", "-rf", "A B", "shop\u2028", "x".repeat(300)];

const NOT = {
  app: "not an app name (1-24 characters of a-z, 0-9 and '-', starting with a letter, like \"shop\")",
  host: "not a host name (<stack>-<role>-<n>, like \"dev-web-1\"",
  release: "not a release id (1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit, like \"r3f2a9c0d1e2b\"",
  backup: "not a backup id (<UTC time>-<label>, like \"20261123T101500Z-manual-3f2a\"",
  stack: "not a stack name (1-100 letters, digits, \"-\", \"_\" and \".\", starting with a letter or digit",
};

/** Each name a command takes: the argv with `v` in its place, the argument the error names, what it is, the exit code (2, or the command's own failure code). */
const ENTRIES: Array<{ argv: (v: string) => string[]; arg: string; not: string; code?: number }> = [
  { argv: (v) => ["build", "--", v], arg: "APP", not: NOT.app },
  { argv: (v) => ["local", "logs", "--stack", "dev", "--", v], arg: "APP", not: NOT.app },
  { argv: (v) => ["local", "logs", `--host=${v}`, "--stack", "dev", "shop"], arg: "--host", not: NOT.host },
  { argv: (v) => ["local", "rebuild", `--host=${v}`, "--stack", "dev"], arg: "--host", not: NOT.host },
  { argv: (v) => ["release", "--stack", "dev", "--", v, "r0123456789ab"], arg: "APP", not: NOT.app },
  { argv: (v) => ["release", "--stack", "dev", "--", "shop", v], arg: "RELEASE_ID", not: NOT.release },
  { argv: (v) => ["rollback", "--stack", "dev", "--", v], arg: "APP", not: NOT.app },
  { argv: (v) => ["rollback", `--to=${v}`, "--stack", "dev", "shop"], arg: "--to", not: NOT.release },
  { argv: (v) => ["history", `--app=${v}`], arg: "--app", not: NOT.app },
  { argv: (v) => ["maintenance", "on", "--stack", "dev", "--", v], arg: "APP", not: NOT.app },
  { argv: (v) => ["maintenance", "off", "--stack", "dev", "--", v], arg: "APP", not: NOT.app },
  { argv: (v) => ["secret", "set", "--stack", "dev", "--", v, "SHOP_SECRET_KEY"], arg: "APP", not: NOT.app },
  { argv: (v) => ["secret", "unset", "--stack", "dev", "--", v, "SHOP_SECRET_KEY"], arg: "APP", not: NOT.app },
  { argv: (v) => ["secret", "list", "--stack", "dev", `--app=${v}`], arg: "--app", not: NOT.app },
  { argv: (v) => ["backup", "create", "--stack", "dev", "--app", "shop", `--app=${v}`], arg: "--app", not: NOT.app },
  { argv: (v) => ["backup", "restore", "--stack", "dev", "--", v], arg: "ID", not: NOT.backup },
  { argv: (v) => ["backup", "restore", "--stack", "dev", `--from=${v}`, "20261123T101500Z-manual-3f2a"], arg: "--from", not: NOT.stack },
  { argv: (v) => ["backup", "restore", "--stack", "dev", `--app=${v}`, "20261123T101500Z-manual-3f2a"], arg: "--app", not: NOT.app },
  { argv: (v) => ["errors", "--stack", "dev", `--app=${v}`], arg: "--app", not: NOT.app },
  { argv: (v) => ["diff-stacks", "--", v, "dev"], arg: "A", not: NOT.stack },
  { argv: (v) => ["diff-stacks", "--", "dev", v], arg: "B", not: NOT.stack },
  // run's exit codes are the command's: its own failures are 125. Its APP may follow a first --.
  { argv: (v) => ["run", "--stack", "dev", "--", v, "--", "true"], arg: "APP", not: NOT.app, code: 125 },
  { argv: (v) => ["run", `--host=${v}`, "--stack", "dev", "shop", "--", "true"], arg: "--host", not: NOT.host, code: 125 },
  { argv: (v) => ["run", `--stack=${v}`, "shop", "--", "true"], arg: "--stack", not: NOT.stack, code: 125 },
  // --stack, on every command that takes one (check takes several).
  ...[
    ["check"], ["check", "--stack", "dev"], ["render"], ["plan"], ["build", "--all"], ["local", "up"], ["local", "status"], ["local", "down"], ["local", "rebuild", "--all"],
    ["local", "logs", "shop"], ["twin", "up"], ["twin", "down"], ["release", "shop", "r0123456789ab"], ["rollback", "shop"], ["history"], ["lock", "status"], ["lock", "break"],
    ["maintenance", "on", "shop"], ["maintenance", "off", "shop"], ["maintenance", "status"], ["secret", "set", "shop", "SHOP_SECRET_KEY"], ["secret", "unset", "shop", "SHOP_SECRET_KEY"],
    ["secret", "list"], ["backup", "create"], ["backup", "list"], ["backup", "restore", "20261123T101500Z-manual-3f2a"], ["errors"],
  ].map((base) => ({ argv: (v: string) => [...base, `--stack=${v}`], arg: "--stack", not: NOT.stack })),
];

let home = "";
let root = "";
let saved: string | undefined;

/** Every file and dir under `dir`, with its size and mtime: what a command may not change. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((p) => {
      const st = statSync(join(dir, p));
      return `${relative(dir, join(dir, p))} ${st.isDirectory() ? "dir" : `${st.size} ${st.mtimeMs}`}`;
    })
    .sort();
}

async function fawkes(argv: string[]) {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
  return { code, out, err };
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-cli-names-home-"));
  saved = process.env.FAWKES_HOME;
  process.env.FAWKES_HOME = home;
  root = repoProjectCopy("fawkes-cli-names-");
});

afterAll(() => {
  if (saved === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = saved;
  rmSync(home, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

describe("a name from the command line", () => {
  it("is refused before the command runs: the argument, its value quoted, what is wrong and what is right; exit 2; nothing created or removed", async () => {
    const project = tree(root);
    const stackFile = readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8");
    for (const entry of ENTRIES) {
      for (const bad of HOSTILE) {
        const argv = entry.argv(bad);
        const r = await fawkes(argv);
        const what = `fawkes ${argv.map((a) => JSON.stringify(a)).join(" ")}`;
        expect(r.err, what).toContain(`error: ${entry.arg} ${JSON.stringify(bad)}: ${entry.not}`);
        expect(r.err, what).toContain("\nusage: fawkes ");
        expect(r.code, what).toBe(entry.code ?? 2);
        expect(r.out, what).toBe("");
        expect(readdirSync(home), `${what} wrote to the fawkes home`).toEqual([]);
      }
    }
    expect(tree(root)).toEqual(project);
    expect(readFileSync(join(root, "stacks/Pulumi.dev.yaml"), "utf8")).toBe(stackFile);
  });

  it("that is right goes on to the command as before", async () => {
    expect(await fawkes(["history", "--app", "shop", "--stack", "dev"])).toMatchObject({ code: 0, out: "no releases, rollbacks or rebuilds recorded\n" });
    const logs = await fawkes(["local", "logs", "shop", "--host", "dev-web-1", "--stack", "dev"]);
    expect(logs).toMatchObject({ code: 1, err: "error: stack dev is not up locally\n" });
    const unknown = await fawkes(["errors", "--stack", "dev", "--app", "shpo"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('error: no app "shpo" in the catalogue (Pulumi.yaml); apps: shop, blog');
    expect(await fawkes(["backup", "list", "--stack", "dev"])).toMatchObject({ code: 0, out: "dev: no backups (fawkes backup create --stack dev)\n" });
    expect(readdirSync(home)).toEqual([]);
  });

  it("is declared as such by every command: each flag that names an app, host, release, backup or stack has its kind", () => {
    const named = ["stack", "app", "host", "to", "from"];
    for (const cmd of COMMANDS) {
      for (const [flag, option] of Object.entries(cmd.options)) {
        if (named.includes(flag)) expect(option.kind, `fawkes ${cmd.name} --${flag}`).toBeDefined();
      }
      // The usage line's positionals (upper-case words that are no flag's value) are declared, each name with its kind.
      const words = cmd.usage.split(/[\s[\]()|]+/);
      for (const word of words.filter((w, i) => /^[A-Z][A-Z_]*$/.test(w) && !words[i - 1]?.startsWith("-"))) {
        const arg = cmd.positionals?.args?.find((a) => a.name === word);
        expect(arg, `fawkes ${cmd.name} ${word}`).toBeDefined();
        if (["APP", "RELEASE_ID", "ID", "A", "B"].includes(word)) expect(arg?.kind, `fawkes ${cmd.name} ${word}`).toBeDefined();
      }
    }
  });
});

describe("the checkers of src/names", () => {
  it("accept the names fawkes makes and the catalogue allows", () => {
    for (const app of ["shop", "blog", "a", "x".repeat(24), "my-app-2"]) expect(appNameProblem(app), app).toBeUndefined();
    for (const id of ["r3f2a9c0d1e2b", "1.10", "v2_rc-1", "R".repeat(64)]) expect(releaseIdProblem(id), id).toBeUndefined();
    for (const id of ["20261123T101500Z-manual-3f2a", "20261123T101500Z-shop-before-r3f2a9c0d1e2b"]) expect(backupIdProblem(id), id).toBeUndefined();
    const qa = qaStackName("feature/Login-Ünïcode");
    for (const host of ["dev-web-1", "dev-worker-12", "dev-db-1", "Prod_eu.1-web-3", `${qa}-worker-89`, "production-web-89", "i-0123456789abcdef0", "i-1a2b3c4d"]) expect(hostNameProblem(host), host).toBeUndefined();
  });

  it("refuse what is too long, empty, a path or an option", () => {
    for (const bad of HOSTILE) {
      expect(appNameProblem(bad), JSON.stringify(bad)).toBeDefined();
      expect(releaseIdProblem(bad), JSON.stringify(bad)).toBeDefined();
      expect(backupIdProblem(bad), JSON.stringify(bad)).toBeDefined();
      expect(hostNameProblem(bad), JSON.stringify(bad)).toBeDefined();
    }
    for (const bad of ["x".repeat(25), "Shop", "1shop", "shop_"]) expect(appNameProblem(bad), bad).toBeDefined();
    for (const bad of ["R".repeat(65), "_r1", "r1/.."]) expect(releaseIdProblem(bad), bad).toBeDefined();
    for (const bad of ["dev", "dev-web", "dev-web-0", "dev-web-x", "../dev-web-1", "dev/web-1", `${"x".repeat(101)}-web-1`, "i-0123", "i-0123456789ABCDEF0", "i-0123456789abcdef0/..", "-i-1a2b3c4d"]) expect(hostNameProblem(bad), bad).toBeDefined();
  });
});
