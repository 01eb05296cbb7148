// `release --target aws` and `rollback --target aws` run `check --target aws` first, about the
// release they are about to pin: a release missing from the bucket or a secret missing from SSM
// stops them before the pin, the deploy lock, `pulumi up` or any instance refresh, each problem
// named. The account is in memory behind aws-sdk-client-mock (test/helpers/aws-account.ts), the
// stack's lock table too (test/helpers/lock-table.ts); pulumi, the stack outputs and Auto Scaling
// are recording doubles.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { AwsCheckError } from "../../src/check/aws.ts";
import { loadStack } from "../../src/config/index.ts";
import { DEPLOY_LOCK_ITEM, LOCK_KEY, planEnvironment, storesOf } from "../../src/model/index.ts";
import { awsRelease, DeployLockLostError, dynamoDeployLock, LEASE_SECONDS, readHistory, RENEW_SECONDS, type AwsReleaseDeps, type FleetApi, type ReleaseRequest } from "../../src/release/index.ts";
import { AMI, awsProject, CERTIFICATE, emptyAccount, mockAccount, offlineAwsEnv, type AccountState, type AwsProject } from "../helpers/aws-account.ts";
import { lockTable } from "../helpers/lock-table.ts";

const NEW = "r0123456789ab";

let project: AwsProject;
let home: string;
let state: AccountState;
let restoreEnv: () => void;
let savedHome: string | undefined;
const aws = mockAccount(() => state);
let calls: string[];
let locks: ReturnType<typeof lockTable>;

function readyFor(stack: string): AccountState {
  const spec = loadStack(project.root, stack);
  const stores = planEnvironment(spec).hosts[0]!.stores;
  const s = emptyAccount();
  s.buckets.add(stores.artifactBucket);
  for (const [app, release] of Object.entries({ ...spec.knobs.releases, blog: NEW })) s.objects.add(`${stores.artifactBucket}/${app}/${release}.sha256`);
  for (const app of spec.catalogue.apps) for (const name of app.secrets) s.parameters.set(`${stores.parameterPrefix}/${app.name}/${name}`, "SecureString");
  s.certificates.set(CERTIFICATE, { status: "ISSUED", names: [`*.${spec.knobs.domain}`] });
  s.images.set(AMI, { state: "available", architecture: "x86_64" });
  s.oidcHosts = ["token.actions.githubusercontent.com"];
  return s;
}

const templates = { web: { launchTemplateId: "lt-0abc", groupName: "fawkes-staging-web", version: "3" }, worker: { launchTemplateId: "lt-0def", groupName: "fawkes-staging-worker", version: "2" } };

/** Pulumi, the outputs and Auto Scaling, each call recorded; the groups already run the versions. */
function deps(): AwsReleaseDeps {
  const fleet: FleetApi = {
    group: async (name) => {
      calls.push(`group ${name}`);
      const t = Object.values(templates).find((x) => x.groupName === name)!;
      return { name, desired: 1, launchTemplateId: t.launchTemplateId, version: t.version, instanceIds: ["i-1"] };
    },
    refreshes: async () => [],
    start: async () => {
      calls.push("start");
      return "r-1";
    },
    rollback: async () => void calls.push("rollback"),
    pin: async () => void calls.push("pin"),
  };
  return {
    pulumi: async (argv) => {
      calls.push(argv.slice(0, 2).join(" "));
      // The stack is held in its lock table, where every machine that releases to it looks.
      calls.push(`deploy lock held by ${locks.items.get(DEPLOY_LOCK_ITEM)?.Command?.S ?? "nobody"}`);
      return { exitCode: 0 };
    },
    outputs: async () => {
      calls.push("outputs");
      return { launchTemplates: templates };
    },
    fleet,
    clock: { now: () => 0, sleep: async () => {} },
  };
}

const request = (kind: ReleaseRequest["kind"] = "release", release = NEW): ReleaseRequest => ({ root: project.root, stack: "staging", app: "blog", release, kind, command: `fawkes ${kind} blog ${release} --stack staging --target aws`, echo: () => {} });
const stackFile = () => readFileSync(join(project.root, "stacks/Pulumi.staging.yaml"), "utf8");

beforeAll(() => {
  restoreEnv = offlineAwsEnv();
  project = awsProject();
  locks = lockTable(storesOf(loadStack(project.root, "staging")).lockTable, LOCK_KEY);
  home = mkdtempSync(join(tmpdir(), "fawkes-release-check-"));
  savedHome = process.env.FAWKES_HOME;
  process.env.FAWKES_HOME = home;
});
afterAll(() => {
  aws.restore();
  locks.restore();
  restoreEnv();
  project.remove();
  rmSync(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
});
beforeEach(() => {
  aws.install();
  locks.install();
  locks.items.clear();
  state = readyFor("staging");
  calls = [];
});

describe("release --target aws checks AWS first", () => {
  it("ready: the check passes, then pulumi up and the refreshes run", async () => {
    const before = stackFile();
    const entry = await awsRelease(request(), {}, deps());
    expect(entry.result).toBe("succeeded");
    expect(calls).toContain("pulumi up");
    expect(calls).toContain(`deploy lock held by ${request().command}`);
    expect(locks.items.size).toBe(0);
    expect(stackFile()).not.toBe(before);
    expect(stackFile()).toContain(`blog: ${NEW}`);
  });

  it("the release is not in the bucket: stops before the pin, the lock, pulumi up and Auto Scaling, naming the pin and the fix", async () => {
    const bucket = planEnvironment(loadStack(project.root, "staging")).hosts[0]!.stores.artifactBucket;
    state.objects.delete(`${bucket}/blog/${NEW}.sha256`);
    const before = stackFile();
    const history = readHistory("staging").length;
    const e = await awsRelease(request(), {}, deps()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AwsCheckError);
    expect((e as Error).message).toBe(
      `release stopped before changing anything: 1 problem on AWS for staging:\n  stacks/Pulumi.staging.yaml: config.fawkes:releases.blog: release ${NEW} of blog is not in s3://${bucket}/blog/ (no blog/${NEW}.sha256): new hosts would fail fetching it and be replaced in a loop\n    fix: build and push it from the commit that pinned it: fawkes build blog --ref <that commit> --push --stack staging\n(fawkes check --target aws --stack staging asks again)`,
    );
    expect(calls).toEqual([]);
    expect(locks.mock.calls()).toEqual([]);
    expect(stackFile()).toBe(before);
    expect(readHistory("staging")).toHaveLength(history);
  });

  it("a secret is not in SSM: stops before anything changes, naming the secret and the command that sets it", async () => {
    state.parameters.delete("/fawkes/staging/blog/DJANGO_SECRET_KEY");
    const before = stackFile();
    const e = await awsRelease(request(), {}, deps()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AwsCheckError);
    expect((e as Error).message).toContain("Pulumi.yaml: config.catalogue.value.apps[1].secrets: secret DJANGO_SECRET_KEY of blog is not set: no SSM parameter /fawkes/staging/blog/DJANGO_SECRET_KEY, and hosts stop at boot without it\n    fix: fawkes secret set blog DJANGO_SECRET_KEY --stack staging --target aws");
    expect(calls).toEqual([]);
    expect(stackFile()).toBe(before);
  });

  it("rollback --target aws checks the release it goes back to", async () => {
    const e = await awsRelease(request("rollback", "r00000000beef"), {}, deps()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AwsCheckError);
    expect((e as Error).message).toMatch(/^rollback stopped before changing anything: 1 problem on AWS for staging:\n.*release r00000000beef of blog is not in s3:\/\//);
    expect(calls).toEqual([]);
  });
});

describe("release --target aws holds the stack's deploy lock in its lock table", () => {
  afterEach(() => vi.useRealTimers());

  it("another machine took the stack over (this one's lease ran out): the release stops at its next poll, recorded as failed, naming the holder", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    let clock = Date.now();
    const table = storesOf(loadStack(project.root, "staging")).lockTable;
    const client = new DynamoDBClient({ region: "eu-west-1" });
    const here = dynamoDeployLock({ client, table, stack: "staging", now: () => clock });
    const there = dynamoDeployLock({ client, table, stack: "staging", now: () => clock, holder: { who: "bo@ci-runner", machine: "ci-runner", pid: 7 } });
    let polls = 0;
    const d = deps();
    const fleet: FleetApi = {
      ...d.fleet!,
      // web runs version 2 and the release makes 3: a refresh to start and watch.
      group: async (name) => ({ name, desired: 1, launchTemplateId: "lt-0abc", version: "2", instanceIds: ["i-1"] }),
      refreshes: async (_name, id) => (id === undefined ? [] : [{ id, status: ++polls < 5 ? "InProgress" : "Successful" }]),
      start: async () => {
        calls.push("start");
        // This machine slept past its lease; another took the stack; this one's next renewal finds out.
        clock += (LEASE_SECONDS + 1) * 1000;
        await there.acquire("fawkes release blog r9 --stack staging --target aws");
        await vi.advanceTimersByTimeAsync(RENEW_SECONDS * 1000);
        return "r-1";
      },
    };
    let t = 0;
    const e = await awsRelease(request(), {}, { ...d, fleet, lock: here, clock: { now: () => t, sleep: async (s) => void (t += s) } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DeployLockLostError);
    expect((e as Error).message).toContain('"fawkes release blog r9 --stack staging --target aws" by bo@ci-runner (pid 7 on ci-runner) holds it');
    expect(polls).toBeLessThanOrEqual(1);
    expect(readHistory("staging").at(-1)).toMatchObject({ command: request().command, result: "failed", failure: (e as Error).message });
    // The new holder keeps its lock.
    expect(locks.items.get(DEPLOY_LOCK_ITEM)?.Who?.S).toBe("bo@ci-runner");
  });
});
