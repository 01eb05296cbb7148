// The CLI as people expect it (issue 19): a group named without its verb lists its verbs, and
// `fawkes completion bash|zsh` prints scripts that complete commands, verbs, flags and the
// project's names. The scripts are run for real: bash sources the script and its function is called
// with COMP_WORDS/COMP_CWORD set; zsh completes a typed line through compinit in a pseudo-terminal
// (zpty), with compadd wrapped to print the matches zsh itself computed.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completionScript } from "../../src/cli/completion-script.ts";
import type { Command } from "../../src/cli/command.ts";
import { COMMANDS, main } from "../../src/cli/main.ts";

const BIN = join(import.meta.dirname, "../../bin/fawkes.mjs");
/** A test that starts the CLI (or zsh with compinit) a dozen times: seconds each on a busy machine. */
const SPAWNS = 180_000;

async function fawkes(argv: string[], cwd = process.cwd()) {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd });
  return { code, out, err };
}

let scratch = "";
let project = "";
let home = "";

/** A project of its own names (apps ledger, ledger-api, inbox; stacks eu-prod, us-prod) and a FAWKES_HOME with a release, a host and a backup. */
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "fawkes-completion-"));
  project = join(scratch, "project");
  home = join(scratch, "home");
  mkdirSync(join(project, "stacks"), { recursive: true });
  writeFileSync(join(project, "Pulumi.yaml"), "name: acme\nstackConfigDir: stacks\nconfig:\n  catalogue:\n    value:\n      apps:\n        - name: ledger\n        - name: ledger-api\n        - name: inbox\n");
  for (const s of ["eu-prod", "us-prod"]) writeFileSync(join(project, `stacks/Pulumi.${s}.yaml`), "config: {}\n");
  for (const [app, release] of [["ledger", "r0123456789ab"], ["ledger", "r0123456789cd"], ["inbox", "r9"]] as const) {
    mkdirSync(join(home, "artifacts", app), { recursive: true });
    writeFileSync(join(home, "artifacts", app, `${release}.sha256`), `${"0".repeat(64)}\n`);
  }
  // Half-built (no .sha256) and names that are no release, host or backup: never offered.
  writeFileSync(join(home, "artifacts/ledger/r5.tar.gz"), "");
  mkdirSync(join(home, "artifacts/Not An App"), { recursive: true });
  for (const host of ["eu-prod-web-1", "eu-prod-worker-2", "scratch"]) mkdirSync(join(home, "envs/eu-prod/hosts", host), { recursive: true });
  mkdirSync(join(home, "envs/us-prod/hosts/us-prod-web-1"), { recursive: true });
  for (const id of ["20261123T101500Z-manual-3f2a", "not-a-backup"]) mkdirSync(join(home, "backups/eu-prod", id), { recursive: true });
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const GROUPS = [...new Set(COMMANDS.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]!))];

describe("a group named without its verb", () => {
  it("lists the group's verbs with their summaries and exits 2, for every group of the command table", async () => {
    expect(GROUPS).toEqual(expect.arrayContaining(["local", "qa", "maintenance", "image", "lock", "secret", "backup", "twin"]));
    for (const group of GROUPS) {
      const r = await fawkes([group]);
      expect(r.code, group).toBe(2);
      expect(r.err, group).toBe("");
      expect(r.out, group).toContain(`usage: fawkes ${group} <verb> [flags]`);
      for (const c of COMMANDS.filter((c) => c.name.startsWith(`${group} `))) {
        expect(r.out, c.name).toMatch(new RegExp(`^  ${c.name.split(" ")[1]} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
      }
    }
  });

  it("with --help (or -h, or help) prints the same list and exits 0", async () => {
    const bare = await fawkes(["local"]);
    for (const ask of [["--help"], ["-h"], ["help"], ["--stack", "dev", "--help"]]) {
      const r = await fawkes(["local", ...ask]);
      expect(r.code, ask.join(" ")).toBe(0);
      expect(r.out, ask.join(" ")).toBe(bare.out);
    }
  });

  it("with an unknown verb: the group's verbs and the nearest one, exit 2", async () => {
    const r = await fawkes(["local", "upp"]);
    expect(r).toEqual({ code: 2, out: "", err: 'error: unknown command "local upp"; `fawkes local` has: up, status, logs, rebuild, down; did you mean `fawkes local up`?\n' });
    expect((await fawkes(["maintenance", "stauts", "--stack", "dev"])).err).toContain("did you mean `fawkes maintenance status`?");
    // Nothing near: no guess.
    expect((await fawkes(["qa", "zzzzzzzz"])).err).toBe('error: unknown command "qa zzzzzzzz"; `fawkes qa` has: up, down, list, extend, gc\n');
  });
});

describe("fawkes completion", () => {
  it("takes bash or zsh, and says so for any other shell", async () => {
    const fish = await fawkes(["completion", "fish"]);
    expect(fish.code).toBe(2);
    expect(fish.out).toBe("");
    expect(fish.err).toBe('error: SHELL "fish": fawkes completes bash and zsh; give one of them\nusage: fawkes completion SHELL\n');
    expect((await fawkes(["completion"])).code).toBe(2);
    for (const shell of ["bash", "zsh"]) {
      const r = await fawkes(["completion", shell]);
      expect(r.code, shell).toBe(0);
      expect(r.out, shell).toContain("_fawkes()");
    }
  });

  it("is listed in the overview; __complete, which the scripts call, is not", async () => {
    const r = await fawkes(["--help"]);
    expect(r.out).toMatch(/^ {2}completion +Print the shell completion script/m);
    expect(r.out).not.toContain("__complete");
  });
});

describe("fawkes __complete KIND", () => {
  const names = async (...argv: string[]) => {
    const saved = process.env.FAWKES_HOME;
    process.env.FAWKES_HOME = home;
    try {
      return await fawkes(["__complete", ...argv], project);
    } finally {
      if (saved === undefined) delete process.env.FAWKES_HOME;
      else process.env.FAWKES_HOME = saved;
    }
  };

  it("prints the project's apps and stacks, releases of the local store, hosts and backups, one a line", async () => {
    expect(await names("app")).toEqual({ code: 0, out: "inbox\nledger\nledger-api\n", err: "" });
    expect((await names("stack")).out).toBe("eu-prod\nus-prod\n");
    expect((await names("release")).out).toBe("r0123456789ab\nr0123456789cd\nr9\n");
    expect((await names("release", "--app", "inbox")).out).toBe("r9\n");
    expect((await names("host")).out).toBe("eu-prod-web-1\neu-prod-worker-2\nus-prod-web-1\n");
    expect((await names("host", "--stack", "us-prod")).out).toBe("us-prod-web-1\n");
    expect((await names("backup", "--stack=eu-prod")).out).toBe("20261123T101500Z-manual-3f2a\n");
  });

  it("never prints an error: outside a project, with a broken one, an unknown kind or a hostile --stack, nothing and exit 0", async () => {
    const empty = mkdtempSync(join(tmpdir(), "fawkes-completion-empty-"));
    const broken = mkdtempSync(join(tmpdir(), "fawkes-completion-broken-"));
    try {
      writeFileSync(join(broken, "Pulumi.yaml"), "name: [\n");
      const nothing = { code: 0, out: "", err: "" };
      expect(await fawkes(["__complete", "app"], empty)).toEqual(nothing);
      expect(await fawkes(["__complete", "stack"], broken)).toEqual(nothing);
      expect(await fawkes(["__complete", "app", "--project", "/nonexistent"], project)).toEqual(nothing);
      expect(await names("bogus")).toEqual(nothing);
      expect(await names()).toEqual(nothing);
      expect(await names("host", "--stack", "../../etc", "--unknown-flag")).toEqual(nothing);
      expect(await names("release", "--app", "../ledger")).toEqual(nothing);
    } finally {
      rmSync(empty, { recursive: true, force: true });
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

/** COMPREPLY after bash sources `script` and calls its function on `words` (the last one under the cursor). */
function bashComplete(script: string, words: string[]): string[] {
  const file = join(scratch, `completion-${process.pid}.bash`);
  writeFileSync(file, script);
  const driver = `source "$1"; shift
fawkes() { node "$FAWKES_BIN" "$@"; }
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}
_fawkes
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync("bash", ["--norc", "--noprofile", "-c", driver, "driver", file, ...words], {
    cwd: project,
    env: { ...process.env, FAWKES_HOME: home, FAWKES_BIN: BIN },
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.stderr, words.join(" ")).toBe("");
  expect(r.status, words.join(" ")).toBe(0);
  return r.stdout.split("\n").filter((l) => l !== "").sort();
}

describe("the bash script", () => {
  const bash = (...words: string[]) => bashComplete(completionScript("bash", COMMANDS), ["fawkes", ...words]);

  it("passes shellcheck", () => {
    const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: completionScript("bash", COMMANDS), encoding: "utf8" });
    expect(r.error, "shellcheck is in scripts/debian-packages.txt").toBeUndefined();
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("completes a command prefix and a group's verb", () => {
    expect(bash("ch")).toEqual(["check"]);
    expect(bash("l")).toEqual(["local", "lock"]);
    expect(bash("comp")).toEqual(["completion"]);
    expect(bash("local", "s")).toEqual(["status"]);
    expect(bash("maintenance", "")).toEqual(["--help", "off", "on", "status"]);
  });

  it("completes a command's flags", () => {
    expect(bash("local", "logs", "--fo")).toEqual(["--follow"]);
    expect(bash("backup", "restore", "--f")).toEqual(["--from"]);
    expect(bash("check", "--st")).toEqual(["--stack"]);
  });

  it("completes the scratch project's apps and stacks, and the store's releases for the app on the line", () => {
    expect(bash("local", "logs", "")).toEqual(["inbox", "ledger", "ledger-api"]);
    expect(bash("maintenance", "on", "--stack", "eu-prod", "led")).toEqual(["ledger", "ledger-api"]);
    expect(bash("history", "--app", "i")).toEqual(["inbox"]);
    expect(bash("check", "--stack", "")).toEqual(["eu-prod", "us-prod"]);
    expect(bash("diff-stacks", "eu-prod", "u")).toEqual(["us-prod"]);
    // bash splits --stack=eu at "=": COMP_WORDS holds "--stack", "=", "eu".
    expect(bash("local", "up", "--stack", "=", "eu")).toEqual(["eu-prod"]);
    expect(bash("local", "up", "--stack", "=")).toEqual(["eu-prod", "us-prod"]);
    expect(bash("release", "--stack", "eu-prod", "ledger", "")).toEqual(["r0123456789ab", "r0123456789cd"]);
    expect(bash("rollback", "inbox", "--to", "")).toEqual(["r9"]);
    expect(bash("local", "logs", "ledger", "--host", "")).toEqual(["eu-prod-web-1", "eu-prod-worker-2", "us-prod-web-1"]);
    expect(bash("local", "logs", "--stack", "us-prod", "ledger", "--host", "")).toEqual(["us-prod-web-1"]);
    expect(bash("backup", "restore", "--stack", "eu-prod", "")).toEqual(["20261123T101500Z-manual-3f2a"]);
    // Past the positionals a command takes, and after a value of no kind: no names.
    expect(bash("local", "logs", "ledger", "")).toEqual([]);
  }, SPAWNS);

  it("is generated from the command table: a new command completes without editing the script", () => {
    const zap: Command = {
      name: "zap frob",
      summary: "A command the table did not have.",
      usage: "fawkes zap frob APP",
      help: "",
      options: { widget: { type: "string", kind: "stack" } },
      positionals: { min: 1, max: 1, args: [{ name: "APP", kind: "app" }] },
      run: async () => 0,
    };
    const script = completionScript("bash", [...COMMANDS, zap]);
    expect(bashComplete(script, ["fawkes", "za"])).toEqual(["zap"]);
    expect(bashComplete(script, ["fawkes", "zap", ""])).toEqual(["--help", "frob"]);
    expect(bashComplete(script, ["fawkes", "zap", "frob", "--w"])).toEqual(["--widget"]);
    expect(bashComplete(script, ["fawkes", "zap", "frob", "--widget", "e"])).toEqual(["eu-prod"]);
    expect(bashComplete(script, ["fawkes", "zap", "frob", "in"])).toEqual(["inbox"]);
  }, SPAWNS);
});

/**
 * The matches zsh offers when `line` is typed and TAB pressed: an interactive zsh in a zpty runs
 * compinit with the script as `_fawkes` in $fpath (or sources it after compinit, as ~/.zshrc may);
 * compadd is wrapped to print what zsh matched.
 */
function zshComplete(script: string, line: string, how: "fpath" | "source" = "fpath"): string[] {
  const dir = mkdtempSync(join(scratch, "zsh-"));
  // Sourced, it is under another name, out of $fpath: compdef alone must make it fawkes' completion.
  const file = join(dir, how === "fpath" ? "_fawkes" : "fawkes.zsh");
  writeFileSync(file, script);
  writeFileSync(join(dir, "setup.zsh"), `PS1='' PROMPT='' RPROMPT=''
fpath=(${dir} $fpath)
autoload -Uz compinit && compinit -u -D
${how === "source" ? `source ${file}` : ""}
fawkes() { node "$FAWKES_BIN" "$@" }
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return $?; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  local h; for h in $__hits; do print -r -- "HIT:$IPREFIX$h"; done
  builtin compadd "$@"
}
_drv_end() { print -r -- "END-OF-COMPLETION"; exit }
comppostfuncs=(_drv_end)
bindkey '^I' complete-word
print SETUP-DONE
`);
  const driver = `zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "source \${(q)1}"
zpty -r z line '*SETUP-DONE*'
zpty -w -n z "$2"$'\\t'
zpty -r z out '*END-OF-COMPLETION*'
print -r -- $out
zpty -d z`;
  const r = spawnSync("zsh", ["-f", "-c", driver, "driver", join(dir, "setup.zsh"), line], {
    cwd: project,
    env: { ...process.env, FAWKES_HOME: home, FAWKES_BIN: BIN, HOME: dir, TERM: "dumb" },
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.error, "zsh is in scripts/debian-packages.txt, which npm test's pretest installs").toBeUndefined();
  expect(r.status, `${line}: ${r.stderr}`).toBe(0);
  return [...new Set([...r.stdout.matchAll(/HIT:(\S+)/g)].map((m) => m[1]!))].sort();
}

describe("the zsh script", () => {
  const zsh = (line: string) => zshComplete(completionScript("zsh", COMMANDS), `fawkes ${line}`);

  it("parses (zsh -n)", () => {
    const r = spawnSync("zsh", ["-n"], { input: completionScript("zsh", COMMANDS), encoding: "utf8" });
    expect(r.error, "zsh is in scripts/debian-packages.txt, which npm test's pretest installs").toBeUndefined();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("completes through compinit a command prefix, a group's verb and a flag", () => {
    expect(zsh("ch")).toEqual(["check"]);
    expect(zsh("l")).toEqual(["local", "lock"]);
    expect(zsh("local s")).toEqual(["status"]);
    expect(zsh("local logs --fo")).toEqual(["--follow"]);
  }, SPAWNS);

  it("completes through compinit the scratch project's apps, stacks (also after --stack=) and the store's releases", () => {
    expect(zsh("local logs led")).toEqual(["ledger", "ledger-api"]);
    expect(zsh("check --stack u")).toEqual(["us-prod"]);
    expect(zsh("local up --stack=e")).toEqual(["--stack=eu-prod"]);
    expect(zsh("release --stack eu-prod ledger r")).toEqual(["r0123456789ab", "r0123456789cd"]);
  }, SPAWNS);

  it("completes when sourced after compinit instead of found in $fpath", () => {
    const script = completionScript("zsh", COMMANDS);
    expect(zshComplete(script, "fawkes local s", "source")).toEqual(["status"]);
    expect(zshComplete(script, "fawkes history --app i", "source")).toEqual(["inbox"]);
  }, SPAWNS);
});
