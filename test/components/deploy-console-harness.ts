// A management stack `ops` of this repository under Pulumi's mocks, for the deploy console's tests:
// its console knob, the config Pulumi hands its program, and the program run.
import { runProgram } from "../../src/plan/program.ts";
import { ACCOUNT, pulumiConfigOf, ROOT, type CapturedInvoke, type CapturedResource } from "./harness.ts";

export const STACK = "ops";
export const REGION = "eu-west-1";
export const SECRET_PARAMETER = "/fawkes/ops/oidc-client-secret";
export const BUNDLE = "9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d";
export const OIDC = {
  issuer: "https://login.fawkes.test",
  authorizationEndpoint: "https://login.fawkes.test/oauth2/v1/authorize",
  tokenEndpoint: "https://login.fawkes.test/oauth2/v1/token",
  userInfoEndpoint: "https://login.fawkes.test/oauth2/v1/userinfo",
  clientId: "0oa1fawkesconsole",
  clientSecretParameter: SECRET_PARAMETER,
};
export const KNOB = {
  manages: ["staging", "production"],
  domain: "console.fawkes.test",
  certificateArn: `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/00000000-0000-4000-8000-000000000003`,
  bundle: BUNDLE,
  oidc: OIDC,
  groupsClaim: "cognito:groups",
};

/** The config Pulumi hands the program of a management stack `ops` of this repository: the stack has no file, its knobs are these. */
export function configOf(console: unknown, extra: Record<string, unknown> = {}): Record<string, string> {
  return pulumiConfigOf(STACK, {
    "aws:region": REGION,
    "fawkes:accountId": ACCOUNT,
    "fawkes:domain": "fawkes.test",
    "fawkes:image": { ami: "ami-0123456789abcdef0", architecture: "x86_64", recipe: "48ae9051" },
    "fawkes:console": console,
    ...extra,
  });
}

export interface Management {
  resources: CapturedResource[];
  invokes: CapturedInvoke[];
  exports: Record<string, unknown>;
}

export async function management(console: unknown = KNOB, secrets: "reveal" | "mask" = "reveal"): Promise<Management> {
  return await runProgram(ROOT, STACK, configOf(console), { secrets });
}
