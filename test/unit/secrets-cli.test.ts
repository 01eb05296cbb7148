// `fawkes secret set|list|unset`: names checked against the catalogue, values only from stdin or
// the prompt, never printed; the local store and, through a recording double of the SDK client's
// `send`, SSM Parameter Store (unverified against AWS itself).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteParameterCommand, DescribeParametersCommand, PutParameterCommand } from "@aws-sdk/client-ssm";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse, UsageError, type Command } from "../../src/cli/command.ts";
import { secretListCommand, secretSetCommand, secretUnsetCommand, type SecretDeps, type SecretInput } from "../../src/cli/commands/secret.ts";
import { main } from "../../src/cli/main.ts";
import { loadStack } from "../../src/config/index.ts";
import { envLayout } from "../../src/local/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";
import { localSecretsFile, readLocalSecretValues } from "../../src/secrets/index.ts";

const ROOT = join(import.meta.dirname, "../..");
const VALUE = "s3cr3t 'value' with $HOME\nand a second line";

let home: string;
let savedHome: string | undefined;
beforeEach(() => {
  savedHome = process.env.FAWKES_HOME;
  home = mkdtempSync(join(tmpdir(), "fawkes-secret-cli-"));
  process.env.FAWKES_HOME = home;
});
afterEach(() => {
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

/** Piped stdin holding `text`, or a terminal where `typed` is typed at the prompt. */
function piped(text: string): SecretInput & { prompts: string[] } {
  return { prompts: [], interactive: () => false, readPiped: async () => Buffer.from(text, "utf8"), prompt: async () => Buffer.from("") };
}
function terminal(typed: string): SecretInput & { prompts: string[] } {
  const prompts: string[] = [];
  return { prompts, interactive: () => true, readPiped: async () => Buffer.from(""), prompt: async (q) => (prompts.push(q), Buffer.from(typed, "utf8")) };
}

/** A recording double of SSMClient's `send`: every command kept, answers from `answer`. */
function recordingSsm(answer: (cmd: object) => unknown = () => ({})): { send: (cmd: object) => Promise<unknown>; calls: object[] } {
  const calls: object[] = [];
  return { calls, send: async (cmd) => (calls.push(cmd), answer(cmd)) };
}

/** Runs a command as main does: parse, run, usage errors as exit 2. */
async function run(cmd: Command, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io = { out: (t: string) => (out += t), err: (t: string) => (err += t), cwd: ROOT };
  try {
    return { code: await cmd.run(parse(cmd, argv), io), out, err };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return { code: 2, out, err: `${err}error: ${e.message}\n` };
  }
}
const set = (deps: SecretDeps, ...argv: string[]) => run(secretSetCommand(deps), argv);
const list = (deps: SecretDeps, ...argv: string[]) => run(secretListCommand(deps), argv);
const unset = (deps: SecretDeps, ...argv: string[]) => run(secretUnsetCommand(deps), argv);
const devStore = () => envLayout("dev").secretsDir;

describe("fawkes secret set, locally", () => {
  it("stores the piped value, one trailing newline dropped, and says when hosts get it", async () => {
    const r = await set({ input: piped(`${VALUE}\n`) }, "shop", "SHOP_SECRET_KEY", "--stack", "dev");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(readLocalSecretValues(devStore(), "shop").get("SHOP_SECRET_KEY")).toBe(VALUE);
    expect(r.out).toContain(`dev: SHOP_SECRET_KEY of shop set in the local store ${join(home, "envs/dev/secrets/shop.env")}`);
    expect(r.out).toContain("dev is not up here: its hosts get it when they boot (fawkes local up --stack dev)");
    expect(r.out).not.toContain("s3cr3t");
  });

  it("says that running hosts get it on their next boot when the stack is up", async () => {
    const { writeState } = await import("../../src/local/state.ts");
    writeState(envLayout("dev").state, { stack: "dev", subnet: "10.0.0.0/24", port: 8080, createdAt: "", hosts: { "dev-web-1": {} as never, "dev-worker-1": {} as never } });
    const r = await set({ input: piped("v") }, "shop", "SHOP_SECRET_KEY", "--stack", "dev");
    expect(r.out).toContain("dev has 2 hosts up here: they get it on their next boot (fawkes local rebuild --all --stack dev)");
  });

  it("asks at a terminal, naming app, secret and stack, and keeps the other values", async () => {
    await set({ input: piped("kept") }, "shop", "SHOP_SECRET_KEY", "--stack", "dev");
    const input = terminal("typed value");
    expect((await set({ input }, "blog", "DJANGO_SECRET_KEY", "--stack", "dev")).code).toBe(0);
    expect(input.prompts).toEqual(["value of DJANGO_SECRET_KEY for blog in dev (local; not echoed): "]);
    expect(readLocalSecretValues(devStore(), "blog").get("DJANGO_SECRET_KEY")).toBe("typed value");
    expect(readLocalSecretValues(devStore(), "shop").get("SHOP_SECRET_KEY")).toBe("kept");
  });

  it("refuses a value on the command line, saying why, without repeating it", async () => {
    for (const argv of [["shop", "SHOP_SECRET_KEY", "hunter2", "--stack", "dev"], ["shop", "SHOP_SECRET_KEY", "--value", "hunter2", "--stack", "dev"], ["shop", "SHOP_SECRET_KEY", "two", "hunter2", "--stack", "dev"]]) {
      const r = await set({ input: piped("never read") }, ...argv);
      expect(r.code).toBe(2);
      expect(r.err).toContain("a secret's value is never taken from the command line, where shell history and `ps` keep it");
      expect(r.err).not.toContain("hunter2");
    }
    expect(readLocalSecretValues(devStore(), "shop").size).toBe(0);
  });

  it("refuses names the catalogue does not declare, with the declared ones and a did-you-mean", async () => {
    const secret = await set({ input: piped("v") }, "shop", "SHOP_SECRET_KY", "--stack", "dev");
    expect(secret.code).toBe(2);
    expect(secret.err).toContain('shop has no secret "SHOP_SECRET_KY" in the catalogue (Pulumi.yaml, apps.shop.secrets); shop declares: SHOP_SECRET_KEY; did you mean "SHOP_SECRET_KEY"?');
    const app = await set({ input: piped("v") }, "shpo", "SHOP_SECRET_KEY", "--stack", "dev");
    expect(app.code).toBe(2);
    expect(app.err).toContain('no app "shpo" in the catalogue (Pulumi.yaml); apps: shop, blog; did you mean "shop"?');
  });

  it("refuses an empty value, a missing or odd --stack and an unknown target", async () => {
    const empty = await set({ input: piped("\n") }, "shop", "SHOP_SECRET_KEY", "--stack", "dev");
    expect(empty.code).toBe(1);
    expect(empty.err).toContain("error: the value is empty");
    expect((await set({ input: piped("v") }, "shop", "SHOP_SECRET_KEY")).err).toContain("--stack S is required");
    expect((await set({ input: piped("v") }, "shop", "SHOP_SECRET_KEY", "--stack", "../etc")).err).toContain('--stack "../etc": not a stack name');
    expect((await set({ input: piped("v") }, "shop", "SHOP_SECRET_KEY", "--stack", "dev", "--target", "gcp")).err).toContain("--target gcp: must be local");
    expect(readLocalSecretValues(devStore(), "shop").size).toBe(0);
  });

  it("reads a real pipe (bin/fawkes)", async () => {
    const r = await execa("node", [join(ROOT, "bin/fawkes.mjs"), "secret", "set", "shop", "SHOP_SECRET_KEY", "--stack", "dev"], { cwd: ROOT, input: "piped\tvalue\n", env: { FAWKES_HOME: home }, reject: false });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(readLocalSecretValues(devStore(), "shop").get("SHOP_SECRET_KEY")).toBe("piped\tvalue");
  });
});

describe("fawkes secret list and unset, locally", () => {
  it("lists names and whether set, never values; leftovers too; --json for machines", async () => {
    await set({ input: piped("visible? never") }, "shop", "SHOP_SECRET_KEY", "--stack", "dev");
    const { localSecretStore } = await import("../../src/secrets/index.ts");
    await localSecretStore(devStore()).set("shop", "OLD_TOKEN", "left over");
    const text = await list({}, "--stack", "dev");
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^ {2}shop +SHOP_SECRET_KEY +set\n/m);
    expect(text.out).toMatch(/^ {2}blog +DJANGO_SECRET_KEY +not set \(fawkes local up gives it a random value\)\n/m);
    expect(text.out).toMatch(/^ {2}shop +OLD_TOKEN +set, not declared by shop \(fawkes secret unset shop OLD_TOKEN --stack dev\)\n/m);
    const json = JSON.parse((await list({}, "--stack", "dev", "--app", "shop", "--json")).out);
    expect(json).toEqual({
      stack: "dev",
      target: "local",
      where: devStore(),
      secrets: [
        { app: "shop", name: "SHOP_SECRET_KEY", declared: true, set: true },
        { app: "shop", name: "OLD_TOKEN", declared: false, set: true },
      ],
    });
    expect(text.out + JSON.stringify(json)).not.toMatch(/never|left over/);
    expect((await list({}, "--stack", "dev", "--app", "blgo")).err).toContain('did you mean "blog"?');
  });

  it("unsets a declared secret or a leftover, and refuses other names", async () => {
    await set({ input: piped("v") }, "shop", "SHOP_SECRET_KEY", "--stack", "dev");
    const { localSecretStore } = await import("../../src/secrets/index.ts");
    await localSecretStore(devStore()).set("shop", "OLD_TOKEN", "left over");
    const r = await unset({}, "shop", "SHOP_SECRET_KEY", "--stack", "dev");
    expect(r.code).toBe(0);
    expect(r.out).toContain("dev: SHOP_SECRET_KEY of shop removed from");
    expect(r.out).toContain("a host that boots without it fails at its secrets step, but fawkes local up first gives it a new random value");
    expect((await unset({}, "shop", "SHOP_SECRET_KEY", "--stack", "dev")).out).toContain("was not set in");
    expect((await unset({}, "shop", "OLD_TOKEN", "--stack", "dev")).code).toBe(0);
    const nope = await unset({}, "shop", "NOPE", "--stack", "dev");
    expect(nope.code).toBe(2);
    expect(nope.err).toContain("shop declares: SHOP_SECRET_KEY");
    expect(readFileSync(localSecretsFile(devStore(), "shop"), "utf8")).not.toMatch(/^(SHOP_SECRET_KEY|OLD_TOKEN)=/m);
  });
});

describe("fawkes secret on AWS (a recording double of SSMClient.send; unverified against AWS)", () => {
  it("puts a SecureString, overwriting, under the very name the bootstrap reads", async () => {
    const ssm = recordingSsm();
    const r = await set({ input: piped(`${VALUE}\n`), ssm }, "shop", "SHOP_SECRET_KEY", "--stack", "staging", "--target", "aws");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(ssm.calls).toHaveLength(1);
    const put = ssm.calls[0] as PutParameterCommand;
    expect(put).toBeInstanceOf(PutParameterCommand);
    expect(put.input).toEqual({ Name: "/fawkes/staging/shop/SHOP_SECRET_KEY", Value: VALUE, Type: "SecureString", Overwrite: true });
    expect(r.out).toContain("staging: SHOP_SECRET_KEY of shop set in SSM Parameter Store, ssm:/fawkes/staging (eu-west-1)");
    expect(r.out).toContain("running ones keep what they read until they are replaced");
    expect(r.out).not.toContain("s3cr3t");
    // The bootstrap of every staging host reads "$PARAMETER_PREFIX/$app/$name".
    for (const image of renderWithTestArtifacts(planEnvironment(loadStack(ROOT, "staging")))) {
      const bootstrap = image.files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content;
      expect(bootstrap).toContain("readonly PARAMETER_PREFIX=/fawkes/staging\n");
      expect(bootstrap).toContain('aws ssm get-parameter --with-decryption --name "$PARAMETER_PREFIX/$app/$name"');
    }
  });

  it("keeps the value out of an SDK error", async () => {
    const ssm = recordingSsm(() => {
      throw Object.assign(new Error(`1 validation error detected: Value '${VALUE}' at 'value' failed to satisfy constraint`), { name: "ValidationException" });
    });
    const r = await set({ input: piped(VALUE), ssm }, "shop", "SHOP_SECRET_KEY", "--stack", "dev", "--target", "aws");
    expect(r.code).toBe(1);
    expect(r.err).toContain("error: SSM PutParameter /fawkes/dev/shop/SHOP_SECRET_KEY failed: ValidationException: 1 validation error detected: Value '[secret]' at 'value'");
    expect(r.err).not.toContain("s3cr3t");
  });

  it("lists from metadata only, one level under the app, and deletes", async () => {
    const ssm = recordingSsm((cmd) => {
      if (cmd instanceof DescribeParametersCommand) {
        return cmd.input.NextToken === undefined
          ? { Parameters: [{ Name: "/fawkes/dev/shop/SHOP_SECRET_KEY", Type: "SecureString" }, { Name: "/fawkes/dev/shop/efs", Type: "String" }], NextToken: "page-2" }
          : { Parameters: [{ Name: "/fawkes/dev/shop/PLAIN_OLD", Type: "String" }] };
      }
      if (cmd instanceof DeleteParameterCommand) throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
      return {};
    });
    const r = await list({ ssm }, "--stack", "dev", "--app", "shop", "--target", "aws", "--json");
    expect(JSON.parse(r.out).secrets).toEqual([
      { app: "shop", name: "SHOP_SECRET_KEY", declared: true, set: true },
      { app: "shop", name: "PLAIN_OLD", declared: false, set: true, problem: "stored as String, not SecureString: set it again with fawkes secret set" },
    ]);
    expect(ssm.calls.map((c) => (c as DescribeParametersCommand).input)).toEqual([
      { ParameterFilters: [{ Key: "Path", Option: "OneLevel", Values: ["/fawkes/dev/shop"] }], MaxResults: 50 },
      { ParameterFilters: [{ Key: "Path", Option: "OneLevel", Values: ["/fawkes/dev/shop"] }], MaxResults: 50, NextToken: "page-2" },
    ]);
    expect(ssm.calls.some((c) => "WithDecryption" in ((c as { input: object }).input ?? {}))).toBe(false);
    ssm.calls.length = 0;
    const u = await unset({ ssm }, "shop", "SHOP_SECRET_KEY", "--stack", "dev", "--target", "aws");
    expect(u.out).toContain("was not set in ssm:/fawkes/dev");
    expect(ssm.calls[0]).toBeInstanceOf(DeleteParameterCommand);
    expect((ssm.calls[0] as DeleteParameterCommand).input).toEqual({ Name: "/fawkes/dev/shop/SHOP_SECRET_KEY" });
  });
});

describe("the CLI", () => {
  it("lists the secret commands and explains each with --help", async () => {
    let out = "";
    const io = { out: (t: string) => (out += t), err: () => {}, cwd: ROOT };
    expect(await main(["--help"], io)).toBe(0);
    for (const c of ["secret set", "secret list", "secret unset"]) expect(out).toContain(`  ${c}`);
    out = "";
    expect(await main(["secret", "set", "--help"], io)).toBe(0);
    expect(out).toContain("usage: fawkes secret set APP NAME --stack S [--target local|aws] [--generate] < value");
    expect(out).toContain("never from argv");
  });

  it("refuses an argv value through main too, exit 2", async () => {
    let err = "";
    const code = await main(["secret", "set", "shop", "SHOP_SECRET_KEY", "hunter2", "--stack", "dev"], { out: () => {}, err: (t) => (err += t), cwd: ROOT });
    expect(code).toBe(2);
    expect(err).toContain("never taken from the command line");
    expect(err).not.toContain("hunter2");
  });
});
