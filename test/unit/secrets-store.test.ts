// The local secret store: its quoting, read back by the bootstrap's own local_secrets_fetch in
// bash and sourced as fawkes-exec sources it; atomic 0600 writes that keep other values; the
// generate-missing step of `fawkes local up`.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";
import { ensureLocalSecrets, localSecretsFile, localSecretStore, quoteSecret, readLocalSecretValues, SECRET_WORD, SecretsError, secretValueOf, unquoteSecret } from "../../src/secrets/index.ts";

const ROOT = join(import.meta.dirname, "../..");

/** Values that break naive quoting: quotes, spaces, expansions, line breaks, backslashes. */
const HOSTILE = [
  "plain-Value_1.2:3",
  "with spaces  and\ttab",
  "it's a 'quoted' \"double\" value",
  "$HOME ${PATH} $(touch /tmp/fawkes-pwned) `id` $((1+1))",
  "line one\nline two\n\nline four",
  "back\\slash\\n not a newline \\'",
  "~user !bang *glob ?[a] {a,b} ; & | > < # %",
  "$'\\n' literal",
  "\n leading line break",
  "\r\ncarriage",
  "ünïcødé ✓ 秘密",
  "=starts-with-equals",
  "-dash",
  "'",
  "''",
];

/** The bootstrap's local adapter as rendered for dev: its word pattern and local_secrets_fetch. */
function renderedLocalAdapter(): { pattern: string; fetch: string } {
  const image = renderWithTestArtifacts(planEnvironment(loadStack(ROOT, "dev"))).find((i) => i.role === "web")!;
  const bootstrap = image.files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content;
  const pattern = /^readonly LOCAL_SECRET_WORD=.*$/m.exec(bootstrap)?.[0];
  const fetch = /^local_secrets_fetch\(\) \{\n[\s\S]*?\n\}\n/m.exec(bootstrap)?.[0];
  if (!pattern || !fetch) throw new Error("the rendered bootstrap has no LOCAL_SECRET_WORD or local_secrets_fetch: the test follows the template");
  return { pattern, fetch };
}

/**
 * Runs the rendered local_secrets_fetch over `secretsDir` for `names`, sources what it prints as
 * fawkes-exec does (`set -a; . file`), and returns each variable's value (or the failure).
 */
async function throughBootstrap(secretsDir: string, app: string, names: string[]): Promise<{ values?: string[]; stderr: string; exitCode: number }> {
  const { pattern, fetch } = renderedLocalAdapter();
  const out = join(secretsDir, `${app}.out`);
  const script = [
    "set -euo pipefail",
    'die() { printf "die: %s\\n" "$*" >&2; exit 1; }',
    "STACK=dev",
    `LOCAL_SECRETS=${quoteSecret(secretsDir)}`,
    pattern,
    fetch,
    `local_secrets_fetch ${app} ${names.join(" ")} >${quoteSecret(out)}`,
    `set -a; . ${quoteSecret(out)}; set +a`,
    `for n in ${names.join(" ")}; do printf '%s\\0' "\${!n}"; done`,
  ].join("\n");
  const r = await execa("bash", ["-c", script], { reject: false, stripFinalNewline: false, env: { LC_ALL: "C.UTF-8" } });
  return { ...(r.exitCode === 0 ? { values: r.stdout.split("\0").slice(0, -1) } : {}), stderr: r.stderr, exitCode: r.exitCode ?? -1 };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fawkes-secrets-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("quoting", () => {
  it("leaves safe values bare and quotes the rest on one line", () => {
    expect(quoteSecret("r8fc028ebbba1_x-Y.z:1=2")).toBe("r8fc028ebbba1_x-Y.z:1=2");
    expect(quoteSecret("a b")).toBe("'a b'");
    expect(quoteSecret("it's")).toBe("'it'\\''s'");
    expect(quoteSecret("a\nb")).toBe("'a'$'\\n''b'");
    for (const v of HOSTILE) expect(quoteSecret(v)).not.toContain("\n");
  });

  it("reads back every value it wrote, and refuses words it did not write", () => {
    for (const v of HOSTILE) expect(unquoteSecret(quoteSecret(v))).toBe(v);
    fc.assert(
      fc.property(fc.string({ unit: "binary" }).filter((s) => !s.includes("\u0000")), (v) => {
        const word = quoteSecret(v);
        expect(SECRET_WORD.test(word)).toBe(true);
        expect(unquoteSecret(word)).toBe(v);
      }),
    );
    for (const w of ["a b", "$(id)", "`id`", "'open", "\"x\"", "a;b", "~root"]) expect(unquoteSecret(w)).toBeUndefined();
    expect(() => quoteSecret("a\u0000b")).toThrow(/NUL/);
  });

  it("is the pattern the rendered bootstrap checks", () => {
    const { pattern } = renderedLocalAdapter();
    const bashString = /^readonly LOCAL_SECRET_WORD="(.*)"$/.exec(pattern)![1]!.replace(/\\([\\$"`])/g, "$1");
    expect(bashString).toBe(SECRET_WORD.source);
  });
});

describe("the bootstrap reads what the store writes", () => {
  it("hands the app every value exactly, hostile ones included, when fawkes-exec sources the env file", async () => {
    const store = localSecretStore(dir);
    const names = HOSTILE.map((_, i) => `SECRET_${i}`);
    for (const [i, v] of HOSTILE.entries()) await store.set("shop", names[i]!, v);
    const r = await throughBootstrap(dir, "shop", names);
    expect(r.stderr).toBe("");
    expect(r.values).toEqual(HOSTILE);
    expect(existsSync("/tmp/fawkes-pwned")).toBe(false);
  });

  it("round-trips random values through bash", async () => {
    const values = fc.sample(fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), { numRuns: 60, seed: 7 });
    const store = localSecretStore(dir);
    for (const [i, v] of values.entries()) await store.set("blog", `V${i}`, v);
    const r = await throughBootstrap(dir, "blog", values.map((_, i) => `V${i}`));
    expect(r.values).toEqual(values);
  });

  it("refuses a hand-written line it would have to run, naming the secret, never its value", async () => {
    writeFileSync(localSecretsFile(dir, "shop"), "GOOD=ok\nBAD=$(touch /tmp/fawkes-pwned) hunter2\n", { mode: 0o600 });
    const r = await throughBootstrap(dir, "shop", ["GOOD", "BAD"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("secret BAD of shop in");
    expect(r.stderr).toContain("is not quoted as fawkes writes it (set it again: fawkes secret set shop BAD --stack dev)");
    expect(r.stderr).not.toContain("hunter2");
    expect(existsSync("/tmp/fawkes-pwned")).toBe(false);
  });

  it("says which secret is missing", async () => {
    await localSecretStore(dir).set("shop", "ONE", "1");
    const r = await throughBootstrap(dir, "shop", ["ONE", "TWO"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("secret TWO of shop missing in");
  });
});

describe("the local store file", () => {
  it("is written 0600 in a 0700 dir, whole, keeping the other values and comments", async () => {
    const secrets = join(dir, "envs/dev/secrets");
    const store = localSecretStore(secrets);
    await store.set("shop", "A", "first");
    await store.set("shop", "B", "second value");
    const file = localSecretsFile(secrets, "shop");
    writeFileSync(file, `${readFileSync(file, "utf8")}# a note kept\n`);
    await store.set("shop", "A", "changed");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(secrets).mode & 0o777).toBe(0o700);
    expect(readdirSync(secrets)).toEqual(["shop.env"]); // no temporary file left
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# a note kept\n");
    expect(text.match(/^A=/gm)).toHaveLength(1);
    expect(readLocalSecretValues(secrets, "shop")).toEqual(new Map([["A", "changed"], ["B", "second value"]]));
  });

  it("replaces every line of a name with one, lists names without values, and unsets", async () => {
    const file = localSecretsFile(dir, "shop");
    writeFileSync(file, "A=1\nB=2\nA=3\n", { mode: 0o644 });
    const store = localSecretStore(dir);
    await store.set("shop", "A", "4");
    expect(readFileSync(file, "utf8")).toBe("A=4\nB=2\n");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    writeFileSync(file, "A=4\nB=not quoted\n");
    expect(await store.list("shop")).toEqual(new Map([["A", { valid: true }], ["B", { valid: false, problem: expect.stringContaining("not quoted") }]]));
    expect(await store.unset("shop", "A")).toBe(true);
    expect(await store.unset("shop", "A")).toBe(false);
    expect(await store.unset("nothing", "A")).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("B=not quoted\n");
    expect(await store.list("nothing")).toEqual(new Map());
  });

  it("says which store file it could not write, and why", async () => {
    writeFileSync(join(dir, "blocker"), ""); // a file where the secrets dir should be: not writable, even by root
    const store = localSecretStore(join(dir, "blocker", "secrets"));
    await expect(store.set("shop", "A", "x")).rejects.toThrow(SecretsError);
    await expect(store.set("shop", "A", "x")).rejects.toThrow(/^cannot read .*\/blocker\/secrets\/shop\.env: ENOTDIR/);
  });
});

describe("local up's generate-missing step", () => {
  const apps = [
    { name: "shop", secrets: ["SHOP_SECRET_KEY", "SHOP_TOKEN"] },
    { name: "plain", secrets: [] },
  ];

  it("generates only what is missing, keeps what is set, never prints a value", async () => {
    await localSecretStore(dir).set("shop", "SHOP_TOKEN", "mine, with spaces");
    const lines: string[] = [];
    const generated = ensureLocalSecrets({ stack: "dev", secretsDir: dir, apps }, (l) => lines.push(l));
    expect(generated).toEqual(["shop/SHOP_SECRET_KEY"]);
    const values = readLocalSecretValues(dir, "shop");
    expect(values.get("SHOP_TOKEN")).toBe("mine, with spaces");
    expect(values.get("SHOP_SECRET_KEY")).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(lines).toEqual(["secrets of shop: generated a random value for SHOP_SECRET_KEY (set your own with fawkes secret set shop NAME --stack dev)"]);
    expect(lines.join("\n")).not.toContain(values.get("SHOP_SECRET_KEY")!);
    expect(existsSync(localSecretsFile(dir, "plain"))).toBe(true);
    expect(statSync(localSecretsFile(dir, "plain")).mode & 0o777).toBe(0o600);
    // Again: nothing to generate, nothing changed.
    const before = readFileSync(localSecretsFile(dir, "shop"), "utf8");
    expect(ensureLocalSecrets({ stack: "dev", secretsDir: dir, apps }, (l) => lines.push(l))).toEqual([]);
    expect(readFileSync(localSecretsFile(dir, "shop"), "utf8")).toBe(before);
  });

  it("reads a store an older fawkes wrote (NAME=base64url lines)", () => {
    writeFileSync(localSecretsFile(dir, "shop"), "SHOP_SECRET_KEY=Zm9v-YmFy_MTIz\n", { mode: 0o600 });
    ensureLocalSecrets({ stack: "dev", secretsDir: dir, apps }, () => {});
    expect(readLocalSecretValues(dir, "shop").get("SHOP_SECRET_KEY")).toBe("Zm9v-YmFy_MTIz");
  });

  it("stops before any host boots on a hand-written value hosts would refuse", () => {
    writeFileSync(localSecretsFile(dir, "shop"), "SHOP_SECRET_KEY=two words\n");
    expect(() => ensureLocalSecrets({ stack: "dev", secretsDir: dir, apps }, () => {})).toThrow(
      /shop\.env: the value of SHOP_SECRET_KEY is not quoted as fawkes writes it, and hosts would refuse it at boot; set it again with fawkes secret set shop SHOP_SECRET_KEY --stack dev/,
    );
  });
});

describe("values from stdin or the prompt", () => {
  const v = (s: string) => secretValueOf(Buffer.from(s, "utf8"));

  it("drops one trailing newline (LF or CRLF), nothing else", () => {
    expect(v("hunter2\n")).toBe("hunter2");
    expect(v("hunter2\r\n")).toBe("hunter2");
    expect(v("  spaced  ")).toBe("  spaced  ");
    expect(v("two\nlines\n")).toBe("two\nlines");
  });

  it("refuses empty, NUL, non-UTF-8, oversized and still line-break-ended values, without quoting them", () => {
    expect(() => v("")).toThrow(/the value is empty/);
    expect(() => v("\n")).toThrow(/the value is empty/);
    expect(() => v("a\u0000b")).toThrow(/NUL/);
    expect(() => secretValueOf(Buffer.from([0x66, 0xff, 0x66]))).toThrow(/not UTF-8/);
    expect(() => v("x".repeat(4097))).toThrow(/4097 bytes; a secret holds at most 4096/);
    expect(() => v("ends\n\n")).toThrow(/still ends in a line break/);
    try {
      v("secret-body\n\n");
    } catch (e) {
      expect((e as Error).message).not.toContain("secret-body");
    }
  });
});
