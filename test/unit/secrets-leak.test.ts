// No secret value leaves its store. Every declared secret of every app of every stack gets a
// distinctive random value in a temporary FAWKES_HOME (set through `fawkes secret set`); then
// every stack is rendered, its Pulumi program run under mocks with secrets revealed, the change
// planned (`fawkes plan --all`, json and md) on a scratch repository whose branch adds a secret,
// a recorded rollout runs local up's secrets step (history entry and rollout log), and every
// byte fawkes printed or wrote is searched for every value, also inside base64 and gzip.
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, type Command } from "../../src/cli/command.ts";
import { secretListCommand, secretSetCommand } from "../../src/cli/commands/secret.ts";
import { main } from "../../src/cli/main.ts";
import { listStacks, loadStack, readProject, type EnvironmentSpec } from "../../src/config/index.ts";
import { envLayout } from "../../src/local/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { pulumiConfigOf, runProgram } from "../../src/plan/program.ts";
import { readHistory, recorded } from "../../src/release/index.ts";
import { renderDatabaseHost } from "../../src/render/index.ts";
import { renderWithTestArtifacts, storeOfHome, testReleaseSums, writeTestArtifacts } from "../helpers/release-sums.ts";
import { ensureLocalSecrets, localSecretsFile, localSecretStore, readLocalSecretValues } from "../../src/secrets/index.ts";

const ROOT = join(import.meta.dirname, "../..");

// ---------------------------------------------------------------- the scanner

/** value -> where it belongs (`dev/shop/SHOP_SECRET_KEY`). */
const planted = new Map<string, string>();

/** A text and what hides inside it: base64 runs decoded, gzip unpacked. */
function views(text: string): string[] {
  const out = [text];
  for (const m of text.matchAll(/[A-Za-z0-9+/]{24,}={0,2}/g)) {
    const bytes = Buffer.from(m[0], "base64");
    out.push(bytes.toString("latin1"));
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        out.push(gunzipSync(bytes).toString("utf8"));
      } catch {
        // a base64 run that only starts like gzip
      }
    }
  }
  return out;
}

function textOfBytes(bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  return b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b).toString("utf8") : b.toString("utf8");
}

/** `<where>: <secret>` for every planted value found in `text`. */
function leaks(where: string, text: string, values: ReadonlyMap<string, string> = planted): string[] {
  const found: string[] = [];
  for (const view of views(text)) for (const [value, label] of values) if (view.includes(value)) found.push(`${where}: ${label}`);
  return [...new Set(found)];
}

// ---------------------------------------------------------------- the world

let home: string;
let savedHome: string | undefined;
let scratch: string;
const specs: EnvironmentSpec[] = [];
/** Everything the secret commands printed. */
const printed: string[] = [];

const git = (...args: string[]) => execa("git", ["-c", "user.name=fawkes tests", "-c", "user.email=tests@fawkes.test", "-C", scratch, ...args]);

async function runCommand(cmd: Command, argv: string[]): Promise<number> {
  const code = await cmd.run(parse(cmd, argv), { out: (t) => printed.push(t), err: (t) => printed.push(t), cwd: scratch });
  return code;
}

async function fawkes(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main([...argv, "--project", scratch], { out: (t) => (out += t), err: (t) => (err += t), cwd: scratch });
  return { code, out, err };
}

/** This working tree (tracked and new files) as a repository of its own: `main`, then a branch adding a secret. */
async function scratchRepository(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "fawkes-leak-"));
  const files = (await execa("git", ["-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])).stdout.split("\0").filter((f) => f !== "");
  for (const f of files) {
    if (!existsSync(join(ROOT, f)) || statSync(join(ROOT, f)).isDirectory()) continue;
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(dir, f));
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, ".gitignore"), "node_modules\n");
  return dir;
}

beforeAll(async () => {
  savedHome = process.env.FAWKES_HOME;
  home = mkdtempSync(join(tmpdir(), "fawkes-leak-home-"));
  process.env.FAWKES_HOME = home;

  scratch = await scratchRepository();
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "base");
  // The branch declares a new secret: plans then show secret names changing in the host images.
  await git("checkout", "-q", "-b", "feature");
  const project = join(scratch, "Pulumi.yaml");
  const before = readFileSync(project, "utf8");
  const after = before.replace(/(\n( +)- SHOP_SECRET_KEY\n)/, "$1$2- SHOP_API_TOKEN\n");
  if (after === before) throw new Error("Pulumi.yaml no longer declares SHOP_SECRET_KEY as the test expects: update the test");
  writeFileSync(project, after);
  await git("commit", "-q", "-am", "shop: SHOP_API_TOKEN");

  for (const stack of listStacks(readProject(scratch))) specs.push(loadStack(scratch, stack));
  // fawkes render pins the sums of the releases in the machine's store: the tests' own artifacts.
  writeTestArtifacts(storeOfHome(home), ...specs);
  for (const spec of specs) {
    for (const app of spec.catalogue.apps) {
      for (const name of app.secrets) {
        const value = randomBytes(16).toString("hex");
        planted.set(value, `${spec.stack}/${app.name}/${name}`);
        const input = { interactive: () => false, readPiped: async () => Buffer.from(`${value}\n`), prompt: async () => Buffer.from("") };
        const code = await runCommand(secretSetCommand({ input }), [app.name, name, "--stack", spec.stack]);
        if (code !== 0) throw new Error(`secret set ${app.name} ${name} --stack ${spec.stack} failed: ${printed.join("")}`);
      }
    }
    await runCommand(secretListCommand(), ["--stack", spec.stack]);
    await runCommand(secretListCommand(), ["--stack", spec.stack, "--json"]);
  }
}, 120_000);

afterAll(() => {
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
  for (const dir of [home, scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the checks

describe("the test itself", () => {
  it("has a value in the store for every declared secret of every app of every stack", () => {
    expect(specs.map((s) => s.stack)).toEqual(expect.arrayContaining(["dev", "production", "qa", "staging"]));
    let count = 0;
    for (const spec of specs) {
      for (const app of spec.catalogue.apps) {
        const stored = readLocalSecretValues(envLayout(spec.stack).secretsDir, app.name);
        for (const name of app.secrets) {
          const value = [...planted].find(([, label]) => label === `${spec.stack}/${app.name}/${name}`)?.[0];
          expect(value, `${spec.stack}/${app.name}/${name}`).toMatch(/^[0-9a-f]{32}$/);
          expect(stored.get(name), `${spec.stack}/${app.name}/${name}`).toBe(value);
          count++;
        }
      }
    }
    expect(count).toBeGreaterThanOrEqual(specs.length * 3); // SHOP_SECRET_KEY, SHOP_API_TOKEN, DJANGO_SECRET_KEY at least
  });

  it("finds a value planted in plain text, JSON, base64 and gzipped user-data", () => {
    const value = randomBytes(16).toString("hex");
    const one = new Map([[value, "planted"]]);
    const userData = `#cloud-config\nwrite_files:\n  - content: SECRET=${value}\n`;
    expect(leaks("plain", `a line with ${value} in it`, one)).toEqual(["plain: planted"]);
    expect(leaks("json", JSON.stringify({ inputs: { value } }), one)).toEqual(["json: planted"]);
    expect(leaks("base64", JSON.stringify({ userData: Buffer.from(userData).toString("base64") }), one)).toEqual(["base64: planted"]);
    expect(leaks("gzip", JSON.stringify({ userData: gzipSync(userData).toString("base64") }), one)).toEqual(["gzip: planted"]);
    expect(leaks("clean", JSON.stringify({ userData: gzipSync("#cloud-config\n").toString("base64") }), one)).toEqual([]);
  });
});

describe("no secret value in", () => {
  it("any output of the secret commands", () => {
    expect(printed.join("")).toContain("SHOP_API_TOKEN of shop set in the local store");
    expect(leaks("secret set/list output", printed.join(""))).toEqual([]);
  });

  it("any user-data, bundle or host-image file of any stack, rendered or written by fawkes render", async () => {
    const found: string[] = [];
    for (const spec of specs) {
      for (const image of renderWithTestArtifacts(planEnvironment(spec))) {
        const where = `${spec.stack} ${image.role}`;
        found.push(...leaks(`${where} user-data`, image.userData), ...leaks(`${where} user-data bytes`, textOfBytes(image.userDataBytes)));
        found.push(...leaks(`${where} manifest`, JSON.stringify(image.manifest)));
        // The bundle its stage 1 fetches from the artifact store: the tarball as stored, gunzipped.
        found.push(...leaks(`${where} bundle ${image.bundle.key}`, textOfBytes(image.bundle.bytes)));
        for (const f of image.files) found.push(...leaks(`${where} ${f.path}`, f.content));
        expect(image.files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")?.content).toMatch(/SECRET_NAMES=\([^)]*SHOP_SECRET_KEY/);
      }
      // The local db host reads its master password at boot too: none in its user-data either.
      const plan = planEnvironment(spec);
      if (plan.database) {
        const db = renderDatabaseHost(plan.database, plan.hosts[0]!.image);
        found.push(...leaks(`${spec.stack} db user-data`, db.userData), ...leaks(`${spec.stack} db user-data bytes`, textOfBytes(db.userDataBytes)));
      }
      const out = join(home, "render", spec.stack);
      const r = await fawkes("render", "--stack", spec.stack, "--out", out);
      expect(r.code, r.err).toBe(0);
      found.push(...leaks(`fawkes render ${spec.stack} output`, r.out + r.err));
      for (const file of walk(out)) found.push(...leaks(relative(home, file), textOfBytes(readFileSync(file))));
    }
    expect(found).toEqual([]);
  });

  it("any resource input or state of any stack's Pulumi program, secrets revealed", async () => {
    const found: string[] = [];
    for (const spec of specs) {
      const run = await runProgram(scratch, spec.stack, pulumiConfigOf(scratch, spec.stack), { secrets: "reveal", releaseSums: testReleaseSums(spec) });
      expect(run.resources.some((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate")).toBe(true);
      for (const r of run.resources) found.push(...leaks(`${spec.stack} ${r.type} ${r.name}`, JSON.stringify({ inputs: r.inputs, state: r.state })));
      found.push(...leaks(`${spec.stack} invokes`, JSON.stringify(run.invokes)));
    }
    expect(found).toEqual([]);
  }, 120_000);

  it("fawkes plan --all, as JSON and as the pull-request comment", async () => {
    const found: string[] = [];
    for (const format of ["json", "md"]) {
      const r = await fawkes("plan", "--all", "--base", "main", "--format", format);
      expect(r.err).not.toContain("error:");
      expect(r.code).toBe(0);
      expect(r.out).toContain("SHOP_API_TOKEN"); // the plan does show the secrets' names changing
      found.push(...leaks(`plan --format ${format}`, r.out + r.err));
    }
    expect(found).toEqual([]);
  }, 240_000);

  it("a history entry, the rollout logs, or any other file fawkes wrote in FAWKES_HOME", async () => {
    const dev = specs.find((s) => s.stack === "dev")!;
    const secretsDir = envLayout("dev").secretsDir;
    // A recorded rebuild whose work is local up's secrets step: one value is regenerated.
    await localSecretStore(secretsDir).unset("shop", "SHOP_SECRET_KEY");
    const echoed: string[] = [];
    const ok = await recorded({ stack: "dev", kind: "rebuild", target: "local", command: "fawkes local rebuild --all --stack dev" }, (l) => echoed.push(l), async (log) => {
      ensureLocalSecrets({ stack: "dev", secretsDir, apps: dev.catalogue.apps }, log.progress);
      return { hostsReplaced: [], result: "succeeded" };
    });
    const regenerated = readLocalSecretValues(secretsDir, "shop").get("SHOP_SECRET_KEY")!;
    expect(regenerated).toMatch(/^[A-Za-z0-9_-]{32}$/);
    planted.set(regenerated, "dev/shop/SHOP_SECRET_KEY (generated)");
    expect(echoed.join("\n")).toContain("generated a random value for SHOP_SECRET_KEY");

    // A recorded run that fails on a hand-written value: the failure is recorded, the value is not.
    const handWritten = `${randomBytes(16).toString("hex")} two words`;
    planted.set(handWritten.split(" ")[0]!, "dev/blog/DJANGO_SECRET_KEY (hand-written)");
    writeFileSync(localSecretsFile(secretsDir, "blog"), `DJANGO_SECRET_KEY=${handWritten}\n`, { mode: 0o600 });
    await expect(
      recorded({ stack: "dev", kind: "rebuild", target: "local", command: "fawkes local rebuild --all --stack dev" }, (l) => echoed.push(l), async (log) => {
        ensureLocalSecrets({ stack: "dev", secretsDir, apps: dev.catalogue.apps }, log.progress);
        return { hostsReplaced: [], result: "succeeded" };
      }),
    ).rejects.toThrow(/DJANGO_SECRET_KEY is not quoted as fawkes writes it/);

    const entries = readHistory("dev");
    expect(entries.map((e) => e.result)).toEqual(["succeeded", "failed"]);
    expect(entries[1]!.failure).toContain("DJANGO_SECRET_KEY");
    const history = await fawkes("history", "--stack", "dev", "--json");
    expect(history.code).toBe(0);

    const found = [...leaks("history --json", history.out + history.err), ...leaks("echoed progress", echoed.join("\n"))];
    const stores = join(home, "envs");
    let scanned = 0;
    for (const file of walk(home)) {
      if (relative(stores, file).match(/^[^/]+\/secrets\//)) continue; // the stores themselves
      found.push(...leaks(relative(home, file), textOfBytes(readFileSync(file))));
      scanned++;
    }
    expect(walk(join(home, "history")).some((f) => f.endsWith("rollout.log"))).toBe(true);
    expect(scanned).toBeGreaterThan(3);
    expect(found).toEqual([]);
    expect(ok.result).toBe("succeeded");
  });
});

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}
