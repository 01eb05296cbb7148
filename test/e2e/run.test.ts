// `fawkes run APP -- CMD...` end to end on the local target, as root: a stack `runs` of a project of
// its own (the shop alone: one web host, one worker host, no database), booted once. The command
// runs as one of the shop's processes: its user, its current release dir, its environment (secrets,
// FAWKES_RELEASE, the venv) exactly as its running process has it; exit codes and stdin pass
// through; --host picks the host; names are refused before anything runs; the history has each run.
// The CLI runs in this process (main) or, where a terminal or stdin matters, as `node bin/fawkes.mjs`.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { loadStack } from "../../src/config/index.ts";
import { envLayout, localDown, localUp } from "../../src/local/index.ts";
import { inHost } from "../../src/local/host.ts";
import { readState } from "../../src/local/state.ts";
import { readHistory } from "../../src/release/history.ts";
import { localSecretStore } from "../../src/secrets/index.ts";
import { main } from "../../src/cli/main.ts";
import { knobsStack, scratchProject, type ScratchProject } from "../helpers/scratch-project.ts";
import { downAfterAll, requireRoot } from "./machine.ts";

const STACK = "runs";
const BIN = join(import.meta.dirname, "../../bin/fawkes.mjs");
/** A secret with what a shell or a quoting slip would change: it must arrive byte for byte. */
const SECRET = "s3cr3t 'it''s' \"$HOME\" `id` \\n;|&";
let project: ScratchProject | undefined;
let release = "";

/** `fawkes <command> --project <root> ...`: the project before the rest, which may hold a `--` and the command run takes after it. */
const inProject = (argv: string[]) => [argv[0]!, "--project", project!.root, ...argv.slice(1)];

/** The CLI in this process. */
async function fawkes(...argv: string[]) {
  let out = "";
  let err = "";
  const code = await main(inProject(argv), { out: (t) => (out += t), err: (t) => (err += t), cwd: project!.root });
  return { code, out, err };
}

/** The CLI as its own process, as a person or a script runs it. */
function fawkesProcess(argv: string[], opts: { input?: string } = {}) {
  return execa("node", [BIN, ...inProject(argv)], { reject: false, ...(opts.input !== undefined ? { input: opts.input } : { stdin: "ignore" }) });
}

const hostInit = (name: string) => readState(envLayout(STACK).state)!.hosts[name]!.init!;

beforeAll(async () => {
  requireRoot();
  await localDown(envLayout(STACK));
  project = await scratchProject("run");
  // The shop alone: a web process and a worker, no database host to boot.
  const file = join(project.root, "Pulumi.yaml");
  const doc = parseDocument(readFileSync(file, "utf8"));
  const apps = doc.getIn(["config", "catalogue", "value", "apps"]) as { items: Array<{ get(k: string): unknown }> };
  apps.items = apps.items.filter((a) => a.get("name") === "shop");
  writeFileSync(file, doc.toString());
  // The repository's stacks pin the blog too: this project has the test's stack only.
  await project.git("rm", "-q", "stacks/*.yaml");
  await project.git("commit", "-q", "-am", "the shop alone");
  const stackFile = (shop: string) => writeFileSync(join(project!.root, "stacks", `Pulumi.${STACK}.yaml`), knobsStack(STACK, { web: 1, worker: 1, releases: { shop }, rollout: { warmupSeconds: 0, checkpointDelaySeconds: 0 } }));
  // A build reads the project's stacks: pinned first to a release that is not built yet.
  mkdirSync(join(project.root, "stacks"), { recursive: true });
  stackFile("r000000000000");
  release = await project.buildAt("shop", await project.git("rev-parse", "HEAD"));
  stackFile(release);
  await localSecretStore(envLayout(STACK).secretsDir).set("shop", "SHOP_SECRET_KEY", SECRET);
  const up = await localUp(loadStack(project.root, STACK), { progress: () => {} });
  expect(up.failed).toEqual([]);
}, 900_000);

downAfterAll(STACK, () => project);

describe("fawkes run on the local target", () => {
  it("runs as the app's user, in its current release, with the environment and secrets its process has", async () => {
    const r = await fawkes("run", "shop", "--stack", STACK, "--", "sh", "-c", 'id -un; pwd; pwd -P; echo "$FAWKES_RELEASE"; command -v python; printf "%s" "$SHOP_SECRET_KEY"');
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const [user, pwd, physical, fawkesRelease, python, ...secret] = r.out.split("\n");
    expect(user).toBe("shop");
    expect(pwd).toBe("/srv/apps/shop/current");
    expect(physical).toBe(`/srv/apps/shop/releases/${release}`);
    expect(fawkesRelease).toBe(release);
    expect(python).toBe("/srv/apps/shop/current/venv/bin/python");
    expect(secret.join("\n")).toBe(SECRET);
  });

  it("gets what the app's running process got, and nothing of fawkes's own environment", async () => {
    process.env.FAWKES_RUN_LEAK = "from the machine";
    let runEnv: Map<string, string>;
    try {
      const r = await fawkes("run", "shop", "--stack", STACK, "--", "env", "-0");
      expect(r.code).toBe(0);
      runEnv = new Map(r.out.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    } finally {
      delete process.env.FAWKES_RUN_LEAK;
    }
    const init = hostInit("runs-web-1");
    const pid = (await inHost(init, ["supervisorctl", "pid", "shop-web"])).stdout.trim();
    // As the app's user: the host's root holds no CAP_SYS_PTRACE, which another uid's environ takes.
    const environ = (await inHost(init, ["runuser", "-u", "shop", "--", "cat", `/proc/${pid}/environ`])).stdout;
    expect(environ).toContain("FAWKES_APP=shop\0");
    const appEnv = new Map(environ.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    expect(runEnv.has("FAWKES_RUN_LEAK")).toBe(false);
    expect(runEnv.get("SHOP_SECRET_KEY")).toBe(SECRET);
    // bash's own (fawkes-exec's) aside, every variable of the one-off command is the app process's, with its value.
    const own = ["PWD", "SHLVL", "_", "OLDPWD"];
    const differ = [...runEnv].filter(([k, v]) => !own.includes(k) && appEnv.get(k) !== v).map(([k]) => k);
    expect(differ).toEqual([]);
    // And the app process has nothing more but what supervisord adds and what it inherited from the
    // boot: LC_CTYPE (cloud-init's Python coerces the C locale) and the bootstrap's DEADLINE_PID.
    const more = [...appEnv.keys()].filter((k) => !runEnv.has(k) && !own.includes(k) && !/^SUPERVISOR_/.test(k));
    expect(more.sort()).toEqual(["DEADLINE_PID", "LC_CTYPE"]);
  });

  it("passes the command's exit code through, and says its own failures with 125", async () => {
    expect((await fawkes("run", "shop", "--stack", STACK, "--", "sh", "-c", "exit 7")).code).toBe(7);
    expect((await fawkes("run", "shop", "--stack", STACK, "--", "sh", "-c", "kill -TERM $$")).code).toBe(143);
    const missing = await fawkes("run", "shop", "--stack", STACK, "--", "no-such-command");
    expect(missing.code).toBe(127);
    const p = await fawkesProcess(["run", "shop", "--stack", STACK, "--", "sh", "-c", "exit 42"]);
    expect(p.exitCode).toBe(42);
  });

  it("passes stdin through: a script piped into the app's python", async () => {
    const p = await fawkesProcess(["run", "shop", "--stack", STACK, "--", "python", "-c", "import sys, shop; print(sys.stdin.read().upper(), shop.__name__); sys.exit(3)"], { input: "from the pipe" });
    expect(p.stderr).toBe("");
    expect(p.stdout).toBe("FROM THE PIPE shop");
    expect(p.exitCode).toBe(3);
  });

  it("runs on the host --host names, a web host by default", async () => {
    expect((await fawkes("run", "shop", "--stack", STACK, "--", "uname", "-n")).out).toBe("runs-web-1\n");
    const worker = await fawkes("run", "shop", "--stack", STACK, "--host", "runs-worker-1", "--", "uname", "-n");
    expect(worker).toMatchObject({ code: 0, out: "runs-worker-1\n" });
    const none = await fawkes("run", "shop", "--stack", STACK, "--host", "runs-web-9", "--", "uname", "-n");
    expect(none).toMatchObject({ code: 125, out: "", err: "error: runs-web-9 is not a running host of runs that runs shop; those that do: runs-web-1 (web), runs-worker-1 (worker)\n" });
  });

  it("refuses a bad app or host name before anything runs, and records nothing", async () => {
    const marker = "/srv/apps/shop/shared/data/ran";
    const before = readHistory(STACK).length;
    const touch = ["--", "sh", "-c", `touch ${marker}`];
    for (const [argv, message] of [
      [["run", "../shop", "--stack", STACK, ...touch], 'error: APP "../shop": not an app name'],
      [["run", "shop", "--stack", STACK, "--host", "../../runs-web-1", ...touch], 'error: --host "../../runs-web-1": not a host name'],
      [["run", "shop", "--stack", STACK, "--host=-rf", ...touch], 'error: --host "-rf": not a host name'],
      [["run", "nope", "--stack", STACK, ...touch], 'error: no app "nope" in the catalogue'],
    ] as const) {
      const r = await fawkes(...argv);
      expect(r.code, argv.join(" ")).toBe(125);
      expect(r.err.startsWith(message), r.err).toBe(true);
    }
    expect(readHistory(STACK)).toHaveLength(before);
    expect((await fawkes("run", "shop", "--stack", STACK, "--", "test", "-e", marker)).code).toBe(1);
  });

  it("records each run in the history: who, app, host, the argv quoted, exit code; fawkes history shows it", async () => {
    const r = await fawkes("run", "shop", "--stack", STACK, "--host", "runs-worker-1", "--", "sh", "-c", "echo 'a b'; exit 5", "$HOME");
    expect(r.code).toBe(5);
    const last = readHistory(STACK).at(-1)!;
    expect(last).toMatchObject({
      stack: STACK,
      kind: "run",
      target: "local",
      app: "shop",
      host: "runs-worker-1",
      command: `fawkes run shop --stack ${STACK} --host runs-worker-1 -- sh -c 'echo '\\''a b'\\''; exit 5' '$HOME'`,
      exitCode: 5,
      result: "failed",
    });
    expect(JSON.stringify(last)).not.toContain("s3cr3t");
    const shown = await fawkes("history", "--stack", STACK, "--limit", "1");
    expect(shown.out).toMatch(/ run +shop on runs-worker-1 +failed /);
    expect(shown.out).toContain(`    $ ${last.command}\n    exit code 5\n`);
  });

  it("gives the command a terminal of its own when fawkes has one, and pipes otherwise", async () => {
    const isatty = ["--", "python", "-c", "import os; print(os.isatty(0), os.isatty(1), os.isatty(2))"];
    const line = (argv: string[]) => [BIN, ...inProject(argv)].map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(" ");
    const atTerminal = await execa("script", ["-qec", `node ${line(["run", "shop", "--stack", STACK, ...isatty])}`, "/dev/null"], { reject: false, stdin: "ignore" });
    expect(atTerminal.stdout.replace(/\r/g, "")).toContain("True True True");
    expect((await fawkes("run", "shop", "--stack", STACK, ...isatty)).out).toBe("False False False\n");
    // Piped stdin, fawkes at a terminal all the same: the command cannot open the terminal fawkes runs at.
    const tty = ["--", "sh", "-c", "if (: </dev/tty) 2>/dev/null; then echo reachable; else echo unreachable; fi"];
    const piped = await execa("script", ["-qec", `echo | node ${line(["run", "shop", "--stack", STACK, ...tty])}`, "/dev/null"], { reject: false, stdin: "ignore" });
    expect(piped.stdout.replace(/\r/g, "").trim()).toBe("unreachable");
  });
});
