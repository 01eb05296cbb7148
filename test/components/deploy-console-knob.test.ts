// A bad console knob (a management stack's) refused with its exact message, by the program under
// Pulumi's mocks and by what only the managed stacks' specs show.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { managedProblems } from "../../components/index.ts";
import type { EnvironmentSpec } from "../../src/config/index.ts";
import { runProgram } from "../../src/plan/program.ts";
import { configOf, KNOB, OIDC, STACK } from "./deploy-console-harness.ts";
import { ROOT, specOf } from "./harness.ts";

describe("a bad console knob is refused with its exact message", () => {
  const messageOf = async (console: unknown, extra: Record<string, unknown> = {}): Promise<string> => {
    const error = await runProgram(ROOT, STACK, configOf(console, extra)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    return (error as Error).message;
  };
  const at = (path: string, message: string) => `1 configuration problem:\n  stack config of ops: config.fawkes:console.${path}: ${message}`;

  it("manages itself", async () => {
    expect(await messageOf({ ...KNOB, manages: ["staging", "ops"] })).toBe(
      at("manages[1]", '"ops" is this stack: a management stack runs the console and no apps, so it has nothing to deploy of its own; list the stacks whose environments the console deploys'),
    );
  });

  it("manages a stack the project does not have, with the closest one", async () => {
    expect(await messageOf({ ...KNOB, manages: ["stagin"] })).toBe(
      at("manages[0]", '"stagin" is not a stack of this project (it has no stack file); stacks the console may manage: dev, production, staging; did you mean "staging"?'),
    );
  });

  it("manages a QA stack", async () => {
    expect(await messageOf({ ...KNOB, manages: ["qa-feature-x"] })).toBe(
      at("manages[0]", '"qa-feature-x" is a QA stack: QA stacks are made and torn down by fawkes qa up|down, which create and delete resources, and the console deploys with each environment\'s deployer permissions only; list long-lived stacks'),
    );
  });

  it("a literal client secret, or the secret where its parameter's name belongs", async () => {
    const { clientSecretParameter: _, ...withoutParameter } = OIDC;
    expect(await messageOf({ ...KNOB, oidc: { ...withoutParameter, clientSecret: "8Lq2vZ0rT5yWc3nK7pXe1mUa9sFd4hGj" } })).toBe(
      "2 configuration problems:\n" +
        "  stack config of ops: config.fawkes:console.oidc.clientSecretParameter: missing; required: a string\n" +
        "  stack config of ops: config.fawkes:console.oidc.clientSecret: the client secret never enters config (stack files are read by everyone who reads the repository): store it in SSM Parameter Store as a SecureString (aws ssm put-parameter --type SecureString --name /fawkes/console/oidc-client-secret --value ...) and name it in clientSecretParameter; remove this key",
    );
    expect(await messageOf({ ...KNOB, oidc: { ...OIDC, clientSecretParameter: "8Lq2vZ0rT5yWc3nK7pXe1mUa9sFd4hGj" } })).toBe(
      at("oidc.clientSecretParameter", 'must be the name of an SSM Parameter Store SecureString, a path like "/fawkes/console/oidc-client-secret": the client secret itself never enters config'),
    );
  });

  it("a management stack that sets a knob of apps", async () => {
    expect(await messageOf(KNOB, { "fawkes:releases": { shop: "r8fc028ebbba1" }, "fawkes:fleet": { web: { min: 1, max: 1, desired: 1 } } })).toBe(
      "2 configuration problems:\n" +
        "  stack config of ops: config.fawkes:releases: a management stack (console is set) runs no apps, only the deploy console's host: nothing here would use it; remove releases\n" +
        "  stack config of ops: config.fawkes:fleet: a management stack (console is set) runs no apps, only the deploy console's host: nothing here would use it; remove fleet",
    );
  });
});

describe("what only the managed stacks' specs show", () => {
  const ops = () => {
    const base = specOf("staging");
    return { ...base, stack: STACK, knobs: { ...base.knobs, console: { ...KNOB, oidc: { ...OIDC, scope: "openid email profile", sessionTimeoutSeconds: 28800 } } } } as EnvironmentSpec;
  };

  it("a managed stack that is itself a management stack", () => {
    expect(managedProblems(ops(), [specOf("staging"), ops()])).toEqual([
      { file: "stack config of ops", path: "config.fawkes:console.manages[1]", message: '"ops" is itself a management stack: it runs a console and no apps, so there is nothing to deploy; list stacks that run apps' },
    ]);
  });

  it("a managed stack whose deployer policy would not fit in one managed policy (6,144 characters)", () => {
    const staging = specOf("staging");
    const many = { ...staging, catalogue: { ...staging.catalogue, apps: Array.from({ length: 40 }, (_, i) => ({ ...staging.catalogue.apps[0]!, name: `app${i}` })) } } as EnvironmentSpec;
    const [problem, ...rest] = managedProblems(ops(), [staging, many]);
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ path: "config.fawkes:console.manages[1]" });
    expect(problem!.message).toMatch(/^the deployer permissions of "staging" take \d+ characters, more than the 6144 IAM allows in one managed policy \(each app's log groups add to it\)$/);
  });
});
