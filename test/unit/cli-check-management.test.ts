// `fawkes check` of a management stack (knob console): said as what it is, the console of the
// stacks it manages, not as an environment of apps.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";

const REPO = join(import.meta.dirname, "../..");
let root = "";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "fawkes-check-ops-"));
  for (const p of ["Pulumi.yaml", "stacks", "image", "examples", "libs"]) if (existsSync(join(REPO, p))) cpSync(join(REPO, p), join(root, p), { recursive: true });
  const dev = readFileSync(join(root, "stacks", "Pulumi.dev.yaml"), "utf8");
  const image = / {2}fawkes:image:\n(?: {4}.*\n)+/.exec(dev)![0];
  writeFileSync(
    join(root, "stacks", "Pulumi.ops.yaml"),
    `config:
  aws:region: eu-west-1
  fawkes:accountId: "123456789012"
  fawkes:domain: fawkes.test
${image}  fawkes:console:
    manages: [staging, production]
    domain: console.fawkes.test
    certificateArn: arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-4000-8000-000000000003
    bundle: "${"a".repeat(64)}"
    oidc:
      issuer: https://login.fawkes.test
      authorizationEndpoint: https://login.fawkes.test/authorize
      tokenEndpoint: https://login.fawkes.test/token
      userInfoEndpoint: https://login.fawkes.test/userinfo
      clientId: console
      clientSecretParameter: /fawkes/ops/oidc-client-secret
`,
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

it("says a management stack is the deploy console of the stacks it manages", async () => {
  let out = "";
  let err = "";
  const code = await main(["check", "--stack", "ops", "--project", root], { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toContain("ok ops: the deploy console of staging, production (a management stack: no apps)\n");
});
