// The AWS side of qa, driven through a recording double of the Automation API (QaStacks): the
// order of Pulumi operations on a first and a later up, the stack tags, the stack name of hostile
// branches, down and gc never touching a stack qa did not make, one failure not stopping gc, a
// missing Pulumi CLI said plainly. The builder is a stand-in (no root, no debootstrap) and the
// bucket a local store. Also: the artifact store's URNs against what the program registers under
// Pulumi mocks, and the real implementation on a machine without the Pulumi CLI.
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { withRecipe } from "../helpers/recipe.ts";
import { PutParameterCommand } from "@aws-sdk/client-ssm";
import { AwsCheckError } from "../../src/check/aws.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { ACCOUNT, AMI, emptyAccount, mockAccount, offlineAwsEnv, type AccountState } from "../helpers/aws-account.ts";
import { artifactPaths, localStore, type ArtifactFiles, type ArtifactStore, type BuildOptions, type BuildResult } from "../../src/artifact/index.ts";
import { main } from "../../src/cli/main.ts";
import { loadStack } from "../../src/config/index.ts";
import { isQaStack, qaStackName } from "../../src/names/index.ts";
import {
  artifactStoreUrns, formatList, lineWriter, PULUMI_CLI_MISSING, PulumiCliMissingError, pulumiStacks, QA_TAGS, qaDownAws, QaError, qaGcAws, qaListAws, qaUpAws, removeQaStack,
  tagValue, translated, withClearErrors, writeRecord, removeRecord, type QaRecord, type QaStacks, type QaStackSummary, type QaTeardown, type StateResource,
} from "../../src/qa/index.ts";

const REPO = join(import.meta.dirname, "../..");
const H = 3600_000;
const D = 24 * H;
const NOW = new Date("2026-11-20T12:00:00.000Z");
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
/** feature/a is not a stack name as it stands: its QA stack ends in a hash of the branch. */
const A = qaStackName("feature/a");
const B = qaStackName("feature/b");
const ENOENT = () => Object.assign(new Error("code: -2\n stdout: \n stderr: Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT\n err?: Error: Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT\n"), { name: "CommandError" });

/** One call to Pulumi or to the bucket, in order. */
interface Call {
  op: string;
  stack?: string;
  args?: unknown;
}

interface FakeStack {
  tags: Record<string, string>;
  urns: string[];
  outputs: Record<string, unknown>;
}

/** A resource of a fake stack's state, as `pulumi stack export` has it: its type from its URN, the names and region the teardown reads. */
function stateResource(urn: string): StateResource {
  const [, , chain = "", name = ""] = urn.split("::");
  const type = chain.split("$").pop()!;
  const stack = urn.split("::")[0]!.slice("urn:pulumi:".length);
  const outputs: Record<string, unknown> =
    type === "pulumi:providers:aws" ? { region: "eu-west-1" } : type === "aws:s3/bucket:Bucket" ? { bucket: `fawkes-${stack}-artifacts` } : type === "aws:cloudwatch/logGroup:LogGroup" ? { name: `/fawkes/${stack}/${name}` } : {};
  return { urn, type, id: `${name}-id`, outputs };
}

/** The teardown's AWS calls, recorded into the same log as Pulumi's. */
function recordingTeardown(calls: Call[]): QaTeardown {
  return {
    async run(region, step) {
      calls.push({ op: "teardown", args: `${region} ${step.kind} ${step.kind === "empty-bucket" ? step.bucket : step.logGroup}` });
      return { step, deleted: 1 };
    },
  };
}

/**
 * QaStacks in memory: stacks with tags, state URNs and outputs; every call recorded with its
 * arguments; `failOn("destroy", "qa-x")` (or without a stack: every one) makes that call throw.
 */
class RecordingStacks implements QaStacks {
  readonly stacks = new Map<string, FakeStack>();
  private readonly failures: Array<{ op: string; stack?: string; error: () => Error }> = [];

  constructor(
    readonly calls: Call[],
    private readonly project = "fawkes",
  ) {}

  failOn(op: string, stack?: string, error: () => Error = () => new Error(`error: ${op} failed (told to)`)): this {
    this.failures.push({ op, stack, error });
    return this;
  }

  /** A stack that exists already, as another run or a person left it. */
  seed(name: string, tags: Record<string, string>, urns: string[] = [`urn:pulumi:${name}::${this.project}::pulumi:pulumi:Stack::${this.project}-${name}`]): this {
    this.stacks.set(name, { tags: { ...tags }, urns, outputs: { urls: { shop: `https://shop.${name}.example` } } });
    return this;
  }

  private record(op: string, stack?: string, args?: unknown): void {
    this.calls.push({ op, ...(stack !== undefined ? { stack } : {}), ...(args !== undefined ? { args } : {}) });
    const f = this.failures.find((x) => x.op === op && (x.stack === undefined || x.stack === stack));
    if (f) throw f.error();
  }

  private get(stack: string): FakeStack {
    const s = this.stacks.get(stack);
    if (!s) throw new Error(`error: no stack named '${stack}' found`);
    return s;
  }

  async preflight() {
    this.record("preflight");
  }
  async selectOrCreate(stack: string) {
    const created = !this.stacks.has(stack);
    this.record("selectOrCreate", stack, { created });
    if (created) this.stacks.set(stack, { tags: {}, urns: [], outputs: {} });
  }
  async tags(stack: string) {
    this.record("tags", stack);
    return { ...this.get(stack).tags };
  }
  async setTag(stack: string, key: string, value: string) {
    this.record("setTag", stack, { [key]: value });
    this.get(stack).tags[key] = value;
  }
  async resources(stack: string) {
    this.record("resources", stack);
    return this.get(stack).urns.map(stateResource);
  }
  async up(stack: string, opts: { target?: string[]; onOutput: (line: string) => void }) {
    this.record("up", stack, opts.target ? { target: opts.target } : {});
    const s = this.get(stack);
    opts.onOutput(`Updating (${stack}):`);
    if (opts.target) {
      s.urns = [...new Set([...s.urns, ...opts.target])];
    } else {
      const all = artifactStoreUrns(this.project, stack).targets;
      s.urns = [
        ...new Set([
          ...s.urns,
          ...all,
          `urn:pulumi:${stack}::${this.project}::fawkes:index:Environment$fawkes:compute:Fleet::${this.project}-web`,
          `urn:pulumi:${stack}::${this.project}::fawkes:index:Environment$fawkes:ops:AppResources$aws:cloudwatch/logGroup:LogGroup::apps-shop`,
        ]),
      ];
      s.outputs = { urls: { shop: `http://shop.${stack}.example`, blog: `http://blog.${stack}.example` }, fleets: { web: "asg" } };
    }
    opts.onOutput(`Resources: ${s.urns.length} unchanged`);
    return { outputs: opts.target ? {} : { ...s.outputs } };
  }
  async outputs(stack: string) {
    this.record("outputs", stack);
    return { ...this.get(stack).outputs };
  }
  async destroy(stack: string, opts: { onOutput: (line: string) => void }) {
    this.record("destroy", stack);
    opts.onOutput(`Destroying (${stack}):`);
    const s = this.get(stack);
    s.urns = [];
    s.outputs = {};
  }
  async remove(stack: string) {
    this.record("remove", stack);
    // Pulumi refuses to remove a stack that still has resources (without --force).
    if (this.get(stack).urns.length > 0) throw new Error(`error: '${stack}' still has resources; removal rejected`);
    this.stacks.delete(stack);
  }
  async list(): Promise<QaStackSummary[]> {
    this.record("list");
    return [...this.stacks].map(([name, s]) => ({ name, tags: { ...s.tags }, resourceCount: s.urns.length }));
  }
}

/** The account qa up checks before its full up (test/helpers/aws-account.ts): the pinned AMI is there. */
let account: AccountState;
const aws = mockAccount(() => account);

/** The S3 bucket the check asks about, as the stack's hosts would fetch from it. */
const s3Bucket = (spec: Parameters<NonNullable<Parameters<typeof qaUpAws>[0]["bucket"]>>[0]) => planEnvironment(spec).hosts[0]!.stores.artifactBucket;

/**
 * The bucket: a real local store in a temp dir, recording its calls into the same log; what it
 * holds is what the account's S3 answers for the stack's bucket (unless `lost` names the app).
 */
function recordingBucket(dir: string, calls: Call[], bucket = "", lost?: string): ArtifactStore {
  const inner = localStore(dir);
  const mirror = async (app: string, release: string) => {
    if (bucket === "" || app === lost || !(await inner.has(app, release))) return;
    account.buckets.add(bucket);
    account.objects.add(`${bucket}/${app}/${release}.sha256`);
  };
  return {
    where: `${dir}/`,
    has: async (app, release) => {
      calls.push({ op: "bucket.has", args: `${app} ${release}` });
      await mirror(app, release);
      return inner.has(app, release);
    },
    sum: (app, release) => inner.sum(app, release),
    list: (app) => inner.list(app),
    put: async (app, release, files: ArtifactFiles) => {
      calls.push({ op: "bucket.put", args: `${app} ${release}` });
      await inner.put(app, release, files);
      await mirror(app, release);
    },
    remove: (app, release) => inner.remove(app, release),
  };
}

/** A stand-in for buildArtifact: the release id from app and commit, a real (tiny) artifact in the store. */
function fakeBuilder(calls: Call[]): (opts: BuildOptions) => Promise<BuildResult> {
  return async ({ app, ref, store }) => {
    const release = `r${createHash("sha256").update(`${app}@${ref}`).digest("hex").slice(0, 12)}`;
    const paths = artifactPaths(store!, app, release);
    const status = existsSync(paths.sha256) ? "exists" : "built";
    calls.push({ op: "build", args: `${app} ${status}` });
    if (status === "built") {
      mkdirSync(paths.dir, { recursive: true });
      writeFileSync(paths.tarball, `${app} ${release}`);
      writeFileSync(paths.buildInfo, JSON.stringify({ builtAt: NOW.toISOString() }));
      writeFileSync(paths.sha256, `${createHash("sha256").update(`${app} ${release}`).digest("hex")}\n`);
    }
    return { app, release, status, tarball: paths.tarball, sha256: readFileSync(paths.sha256, "utf8").trim(), bytes: 10, gitSha: ref! };
  };
}

let root = "";
let work = "";
let home = "";
let savedHome: string | undefined;
const git = (...args: string[]) => execa("git", ["-c", "user.name=fawkes tests", "-c", "user.email=tests@fawkes.test", "-C", root, ...args], { env: { GIT_COMMITTER_DATE: committerDate } });
let committerDate = new Date(NOW.getTime() - 3 * H).toISOString();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "fawkes-qa-aws-"));
  root = join(work, "project");
  mkdirSync(join(root, "stacks"), { recursive: true });
  // The repository's catalogue and stacks: the project name and the qa template are the real ones.
  writeFileSync(join(root, "Pulumi.yaml"), readFileSync(join(REPO, "Pulumi.yaml")));
  withRecipe(root);
  cpSync(join(REPO, "examples"), join(root, "examples"), { recursive: true });
  // An account and an AMI of the test's own in place of the sample placeholders, which the check refuses.
  for (const s of ["dev", "qa", "staging", "production"]) {
    writeFileSync(join(root, `stacks/Pulumi.${s}.yaml`), readFileSync(join(REPO, `stacks/Pulumi.${s}.yaml`), "utf8").replaceAll('"123456789012"', `"${ACCOUNT}"`).replaceAll("ami-0123456789abcdef0", AMI));
  }
  await git("init", "-q", "-b", "master");
  await git("add", "-A");
  await git("commit", "-q", "-m", "base");
  await git("branch", "feature/a");
  await git("branch", "feature/b");
  home = join(work, "home");
  savedHome = process.env.FAWKES_HOME;
  process.env.FAWKES_HOME = home;
  restoreEnv = offlineAwsEnv();
});

afterAll(() => {
  aws.restore();
  restoreEnv();
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
  rmSync(work, { recursive: true, force: true });
});

let restoreEnv: () => void;
let calls: Call[];
let stacks: RecordingStacks;
let teardown: QaTeardown;
let store = "";
let bucketDir = "";
let lines: string[];

beforeEach(() => {
  calls = [];
  stacks = new RecordingStacks(calls);
  teardown = recordingTeardown(calls);
  store = mkdtempSync(join(work, "store-"));
  bucketDir = mkdtempSync(join(work, "bucket-"));
  lines = [];
  account = emptyAccount();
  account.images.set(AMI, { state: "available", architecture: "x86_64" });
  aws.install();
});

afterEach(() => {
  for (const s of [A, B]) rmSync(join(root, `stacks/Pulumi.${s}.yaml`), { force: true });
});

function upOptions(branch: string, over: Partial<Parameters<typeof qaUpAws>[0]> = {}): Parameters<typeof qaUpAws>[0] {
  // The program's resources matter to the check only for a certificate, OIDC and quotas, none of which a QA stack has.
  return { root, branch, stacks, store, build: fakeBuilder(calls), bucket: (spec) => recordingBucket(bucketDir, calls, s3Bucket(spec)), awsCheck: { resources: [] }, progress: (m) => lines.push(m), now: NOW, ...over };
}

/** The calls that change something or decide the order: reads left out. */
const steps = (from = 0) => calls.slice(from).filter((c) => !["tags", "list", "outputs", "bucket.has"].includes(c.op)).map((c) => `${c.op}${c.stack ? ` ${c.stack}` : ""}${c.op === "up" ? ((c.args as { target?: string[] }).target ? " (targeted)" : " (full)") : ""}${c.op.startsWith("bucket") || c.op === "build" || c.op === "teardown" ? ` ${String(c.args)}` : ""}`);

describe("qa up on AWS", () => {
  it("first up: select-or-create, tags, a targeted up of the artifact store, the push, then the full up, in that order", async () => {
    const head = (await git("log", "-1", "--format=%cI", "feature/a")).stdout;
    const r = await qaUpAws(upOptions("feature/a"));
    const stack = A;
    const urns = artifactStoreUrns("fawkes", stack);
    const [shop, blog] = [r.releases.shop!, r.releases.blog!];
    expect(steps()).toEqual([
      "preflight",
      "build shop built",
      "build blog built",
      `selectOrCreate ${stack}`,
      ...Object.values(QA_TAGS).filter((k) => k !== QA_TAGS.qa).map(() => `setTag ${stack}`),
      `setTag ${stack}`,
      `resources ${stack}`,
      `up ${stack} (targeted)`,
      `bucket.put shop ${shop}`,
      `bucket.put blog ${blog}`,
      `up ${stack} (full)`,
    ]);
    expect(calls.find((c) => c.op === "selectOrCreate")?.args).toEqual({ created: true });
    const targeted = calls.find((c) => c.op === "up" && (c.args as { target?: string[] }).target)!.args as { target: string[] };
    expect(targeted.target).toEqual(urns.targets);
    expect(targeted.target).toContain(urns.bucket);
    // The tags qa list and gc read, fawkes:qa last.
    const setTags = calls.filter((c) => c.op === "setTag").map((c) => c.args as Record<string, string>);
    expect(Object.assign({}, ...setTags)).toEqual({
      [QA_TAGS.branch]: "feature/a",
      [QA_TAGS.commit]: r.commit,
      [QA_TAGS.lastPush]: new Date(head).toISOString(),
      [QA_TAGS.ttl]: "3d",
      [QA_TAGS.createdAt]: NOW.toISOString(),
      [QA_TAGS.createdStackFile]: "true",
      [QA_TAGS.qa]: "true",
    });
    expect(Object.keys(setTags.at(-1)!)).toEqual([QA_TAGS.qa]);
    // Pins in the stack file the program reads; the releases in the bucket hosts fetch from.
    const file = readFileSync(join(root, `stacks/Pulumi.${stack}.yaml`), "utf8");
    expect(file).toContain(`shop: ${shop}`);
    expect(file).toContain(`blog: ${blog}`);
    expect(loadStack(root, stack).knobs.releases).toMatchObject({ shop, blog });
    expect(existsSync(join(bucketDir, `shop/${shop}.sha256`))).toBe(true);
    expect(r).toMatchObject({ stack, target: "aws", bucketCreated: true, createdStackFile: true, urls: { shop: `http://shop.${stack}.example`, blog: `http://blog.${stack}.example` } });
    expect(r.pushed.map((p) => p.status)).toEqual(["pushed", "pushed"]);
    // Pulumi's output reaches the progress callback line by line.
    expect(lines).toContain(`Updating (${stack}):`);
    expect(lines).toContain(`pushed shop ${shop} to ${bucketDir}/shop/`);
  });

  it("a second up with the same head: nothing created, built, tagged or pushed; no targeted up; one full up", async () => {
    await qaUpAws(upOptions("feature/a"));
    const file = readFileSync(join(root, `stacks/Pulumi.${A}.yaml`), "utf8");
    const from = calls.length;
    const again = await qaUpAws(upOptions("feature/a", { now: new Date(NOW.getTime() + D) }));
    expect(steps(from)).toEqual(["preflight", "build shop exists", "build blog exists", `selectOrCreate ${A}`, `resources ${A}`, `up ${A} (full)`]);
    expect(calls.slice(from).find((c) => c.op === "selectOrCreate")?.args).toEqual({ created: false });
    expect(again.bucketCreated).toBe(false);
    expect(again.pushed.map((p) => p.status)).toEqual(["exists", "exists"]);
    expect(again.createdAt).toBe(NOW.toISOString());
    expect(readFileSync(join(root, `stacks/Pulumi.${A}.yaml`), "utf8")).toBe(file);
  });

  it("a new head: new releases built, pinned and pushed; commit and last push re-tagged; createdAt kept", async () => {
    const first = await qaUpAws(upOptions("feature/b"));
    await git("checkout", "-q", "feature/b");
    writeFileSync(join(root, "CHANGES"), "b\n");
    await git("add", "CHANGES");
    committerDate = ago(2 * H);
    await git("commit", "-q", "-m", "b");
    await git("checkout", "-q", "master");
    const from = calls.length;
    const second = await qaUpAws(upOptions("feature/b", { now: new Date(NOW.getTime() + H) }));
    expect(second.commit).not.toBe(first.commit);
    expect(second.releases.shop).not.toBe(first.releases.shop);
    const retagged = calls.slice(from).filter((c) => c.op === "setTag").map((c) => Object.keys(c.args as object)[0]);
    expect(retagged.sort()).toEqual([QA_TAGS.commit, QA_TAGS.lastPush].sort());
    expect(steps(from).filter((s) => s.startsWith("up") || s.startsWith("bucket"))).toEqual([
      `bucket.put shop ${second.releases.shop}`,
      `bucket.put blog ${second.releases.blog}`,
      `up ${B} (full)`,
    ]);
    expect(stacks.stacks.get(B)?.tags[QA_TAGS.createdAt]).toBe(NOW.toISOString());
    expect(readFileSync(join(root, `stacks/Pulumi.${B}.yaml`), "utf8")).toContain(`shop: ${second.releases.shop}`);
  });

  it("--ttl is the stack's TTL tag; a stack file that was there before is recorded as not made by qa up", async () => {
    writeFileSync(join(root, `stacks/Pulumi.${B}.yaml`), "config:\n  fawkes:qaTtl: 1w\n");
    const r = await qaUpAws(upOptions("feature/b", { ttl: "36h" }));
    expect(r).toMatchObject({ ttl: "36h", createdStackFile: false });
    expect(stacks.stacks.get(B)?.tags).toMatchObject({ [QA_TAGS.ttl]: "36h", [QA_TAGS.createdStackFile]: "false" });
  });

  it("a hostile branch (255 characters, capitals, a slash, an umlaut): the stack is its qaStackName, the branch tag within Pulumi's limit", async () => {
    const branch = `feature/ÜBER-${"long-".repeat(60)}`.slice(0, 255);
    expect(branch).toHaveLength(255);
    const r = await qaUpAws(upOptions(branch, { ref: "feature/a" }));
    const stack = qaStackName(branch);
    expect(r.stack).toBe(stack);
    expect(isQaStack(stack)).toBe(true);
    expect(stack.length).toBeLessThanOrEqual(53);
    expect(new Set(calls.filter((c) => c.stack !== undefined).map((c) => c.stack))).toEqual(new Set([stack]));
    const tag = stacks.stacks.get(stack)!.tags[QA_TAGS.branch]!;
    expect(tag).toBe(branch);
    expect(Buffer.byteLength(tag)).toBeLessThanOrEqual(256);
    expect(artifactStoreUrns("fawkes", stack).bucket).toContain(`urn:pulumi:${stack}::fawkes::`);
    rmSync(join(root, `stacks/Pulumi.${stack}.yaml`));
  });

  it("a branch longer than a tag value holds is cut on a character boundary, marked with …", () => {
    const long = `feature/${"ü".repeat(200)}`;
    const v = tagValue(long);
    expect(Buffer.byteLength(v)).toBeLessThanOrEqual(256);
    expect(v.endsWith("…")).toBe(true);
    expect(long.startsWith(v.slice(0, -1))).toBe(true);
    expect(tagValue("feature/a")).toBe("feature/a");
  });

  it("a failing up is reported as a QaError with Pulumi's error lines; the stack is already tagged for down and gc", async () => {
    stacks.failOn("up", A, () => new Error("code: 255\n stdout: Updating\n stderr: error: update failed\nerror: AccessDenied: s3:CreateBucket\n err?: Error"));
    const e = await qaUpAws(upOptions("feature/a")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QaError);
    expect((e as Error).message).toBe(`pulumi up of ${A} failed: error: update failed; error: AccessDenied: s3:CreateBucket`);
    expect(stacks.stacks.get(A)?.tags[QA_TAGS.qa]).toBe("true");
  });
});

describe("qa up on AWS: secrets and the check before pulumi up", () => {
  const full = () => steps().filter((x) => x.endsWith("(full)"));

  it("generates each declared secret missing from SSM for the branch stack, never overwriting one that exists", async () => {
    account.parameters.set(`/fawkes/${A}/shop/SHOP_SECRET_KEY`, "SecureString");
    const r = await qaUpAws(upOptions("feature/a"));
    expect(r.secretsGenerated).toEqual(["blog/DJANGO_SECRET_KEY", "blog/DATABASE_PASSWORD"]);
    const puts = aws.ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => ({ Name: p.Name, Type: p.Type, Overwrite: p.Overwrite }))).toEqual([
      { Name: `/fawkes/${A}/blog/DJANGO_SECRET_KEY`, Type: "SecureString", Overwrite: false },
      { Name: `/fawkes/${A}/blog/DATABASE_PASSWORD`, Type: "SecureString", Overwrite: false },
    ]);
    // Random, and a valid database password (it goes into a URL and SQL as is).
    for (const p of puts) expect(p.Value).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(puts[0]!.Value).not.toBe(puts[1]!.Value);
    expect(lines.join("\n")).toContain(`secrets of blog: generated a random value for DJANGO_SECRET_KEY, DATABASE_PASSWORD in ssm:/fawkes/${A} (eu-west-1)`);
    // The values were written before the full up, the only one that boots hosts.
    expect(full()).toEqual([`up ${A} (full)`]);

    const again = await qaUpAws(upOptions("feature/a"));
    expect(again.secretsGenerated).toEqual([]);
    expect(aws.ssm.commandCalls(PutParameterCommand)).toHaveLength(2);
  });

  it("a parameter made between the listing and the write is kept (PutParameter without Overwrite)", async () => {
    // SSM lists nothing, but the parameter is there when the value is written: AWS refuses the write.
    account.parameters.set(`/fawkes/${A}/shop/SHOP_SECRET_KEY`, "SecureString");
    account.unlisted.add(`/fawkes/${A}/shop/SHOP_SECRET_KEY`);
    const r = await qaUpAws(upOptions("feature/a"));
    expect(r.secretsGenerated).not.toContain("shop/SHOP_SECRET_KEY");
    expect(aws.ssm.commandCalls(PutParameterCommand).filter((c) => c.args[0].input.Name?.endsWith("/shop/SHOP_SECRET_KEY"))).toHaveLength(1);
  });

  it("a release missing from the bucket stops it before the full pulumi up, naming the pin and the fix", async () => {
    const e = await qaUpAws(upOptions("feature/a", { bucket: (spec) => recordingBucket(bucketDir, calls, s3Bucket(spec), "blog") })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AwsCheckError);
    const message = (e as Error).message;
    expect(message).toMatch(new RegExp(`^qa up stopped before changing anything: 1 problem on AWS for ${A}:\n`));
    expect(message).toMatch(new RegExp(`stacks/Pulumi\\.${A}\\.yaml: config\\.fawkes:releases\\.blog: release r[0-9a-f]{12} of blog is not in s3://`));
    expect(message).toContain(`fix: build and push it from the commit that pinned it: fawkes build blog --ref <that commit> --push --stack ${A}`);
    expect(full()).toEqual([]);
  });

  it("a secret stored as a plain String is not overwritten, and stops it before the full pulumi up", async () => {
    account.parameters.set(`/fawkes/${A}/shop/SHOP_SECRET_KEY`, "String");
    const e = await qaUpAws(upOptions("feature/a")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AwsCheckError);
    expect((e as Error).message).toContain(`Pulumi.yaml: config.catalogue.value.apps[0].secrets: secret SHOP_SECRET_KEY of shop (/fawkes/${A}/shop/SHOP_SECRET_KEY) is stored as String, not SecureString`);
    expect(aws.ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Name)).not.toContain(`/fawkes/${A}/shop/SHOP_SECRET_KEY`);
    expect(full()).toEqual([]);
  });

  it("SSM refusing the write stops it with a QaError naming the parameter and the permission; no full up", async () => {
    aws.ssm.on(PutParameterCommand).rejects(Object.assign(new Error("User: arn:aws:iam::111122223333:user/ci is not authorized to perform: ssm:PutParameter"), { name: "AccessDeniedException" }));
    const e = await qaUpAws(upOptions("feature/a")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QaError);
    expect((e as Error).message).toMatch(new RegExp(`^${A}: a secret could not be generated: SSM PutParameter /fawkes/${A}/\\w+/\\w+ failed: AccessDeniedException: .*ssm:PutParameter`));
    expect(full()).toEqual([]);
  });
});

describe("qa down on AWS", () => {
  it("destroys, then removes the stack, then the stack file qa up created; other stacks untouched", async () => {
    stacks.seed("production", { [QA_TAGS.qa]: "true" });
    await qaUpAws(upOptions("feature/a"));
    const from = calls.length;
    const r = await qaDownAws({ root, branch: "feature/a", stacks, teardown, progress: (m) => lines.push(m) });
    // The bucket emptied before the destroy (its state may still say forceDestroy false), the log group a dying host's agent may make again deleted after it.
    expect(steps(from)).toEqual([
      "preflight",
      `resources ${A}`,
      `teardown eu-west-1 empty-bucket fawkes-${A}-artifacts`,
      `destroy ${A}`,
      `teardown eu-west-1 delete-log-group /fawkes/${A}/apps-shop`,
      `remove ${A}`,
    ]);
    expect(r.teardown.map((t) => t.step.kind)).toEqual(["empty-bucket", "delete-log-group"]);
    expect(r).toMatchObject({ stack: A, stackFileRemoved: true });
    expect(existsSync(join(root, `stacks/Pulumi.${A}.yaml`))).toBe(false);
    expect(existsSync(join(root, "stacks/Pulumi.qa.yaml"))).toBe(true);
    expect([...stacks.stacks.keys()]).toEqual(["production"]);
    expect(lines).toContain(`Destroying (${A}):`);
  });

  it("keeps a stack file qa up did not create", async () => {
    writeFileSync(join(root, `stacks/Pulumi.${B}.yaml`), "config:\n  fawkes:qaTtl: 1w\n");
    await qaUpAws(upOptions("feature/b"));
    const r = await qaDownAws({ root, branch: "feature/b", stacks, teardown });
    expect(r.stackFileRemoved).toBe(false);
    expect(existsSync(join(root, `stacks/Pulumi.${B}.yaml`))).toBe(true);
  });

  it("refuses any stack that is not a QA stack, and a qa-* stack qa up did not tag: nothing destroyed", async () => {
    stacks.seed("production", { [QA_TAGS.qa]: "true" }).seed("qa-hand-made", { owner: "ops" });
    for (const name of ["production", "qa", "staging", "../production"]) {
      await expect(removeQaStack(stacks, root, name, { [QA_TAGS.qa]: "true" }, () => {})).rejects.toThrow(`refusing to remove ${name}: not a QA stack`);
    }
    const e = await qaDownAws({ root, branch: "hand-made", stacks, teardown }).catch((x: unknown) => x);
    expect((e as Error).message).toContain("refusing to remove qa-hand-made: qa up did not make it (no fawkes:qa=true tag)");
    expect(calls.filter((c) => c.op === "destroy" || c.op === "remove")).toEqual([]);
    expect([...stacks.stacks.keys()].sort()).toEqual(["production", "qa-hand-made"]);
  });

  it("no such stack: says so and lists the QA stacks there", async () => {
    stacks.seed("qa-other", { [QA_TAGS.qa]: "true", [QA_TAGS.branch]: "other" });
    await expect(qaDownAws({ root, branch: "feature/nope", stacks, teardown })).rejects.toThrow(`no QA stack for branch "feature/nope" (stack ${qaStackName("feature/nope")}) in the Pulumi backend; QA stacks there: other (qa-other)`);
  });
});

describe("qa list and qa gc on AWS", () => {
  const qaTags = (branch: string, lastPush: string, ttl = "3d"): Record<string, string> => ({
    [QA_TAGS.qa]: "true",
    [QA_TAGS.branch]: branch,
    [QA_TAGS.commit]: "0123456789abcdef0123456789abcdef01234567",
    [QA_TAGS.lastPush]: lastPush,
    [QA_TAGS.ttl]: ttl,
    [QA_TAGS.createdAt]: ago(12 * D),
    [QA_TAGS.createdStackFile]: "true",
  });

  /** Old and fresh QA stacks, and old stacks qa must never touch: the qa template and production tagged as if QA, one untagged. */
  function fleet(): RecordingStacks {
    return stacks
      .seed("qa-old", qaTags("feature/old", ago(10 * D)))
      .seed("qa-fresh", qaTags("feature/fresh", ago(1 * H)))
      .seed("qa", qaTags("qa", ago(300 * D)))
      .seed("production", qaTags("main", ago(300 * D)))
      .seed("qa-untagged", { [QA_TAGS.lastPush]: ago(300 * D), [QA_TAGS.ttl]: "1d" })
      .seed("qa-torn", { [QA_TAGS.qa]: "true", [QA_TAGS.branch]: "torn" })
      .seed("dev", {});
  }

  it("list: the tagged QA stacks only, from their tags, with URLs from their outputs; the others reported", async () => {
    fleet();
    const { rows, problems } = await qaListAws({ stacks, now: NOW });
    expect(rows.map((r) => [r.stack, r.branch, r.target, r.expired, r.state])).toEqual([
      ["qa-fresh", "feature/fresh", "aws", false, "deployed"],
      ["qa-old", "feature/old", "aws", true, "deployed"],
    ]);
    expect(rows[0]).toMatchObject({ ttl: "3d", ageSeconds: 12 * 86400, sinceLastPushSeconds: 3600, ttlLeftSeconds: 3 * 86400 - 3600, urls: { shop: "https://shop.qa-fresh.example" } });
    expect(problems.join("\n")).toContain("qa: tagged fawkes:qa=true but not a QA stack name");
    expect(problems.join("\n")).toContain("production: tagged fawkes:qa=true but not a QA stack name");
    expect(problems.join("\n")).toContain("qa-torn: tagged fawkes:qa=true, but its tags are not qa's");
    expect(formatList(rows)).toContain("feature/fresh  qa-fresh  aws     1w 5d  1h ago     2d 23h         deployed\n    shop: https://shop.qa-fresh.example\n");
    expect(calls.filter((c) => c.op === "outputs").map((c) => c.stack)).toEqual(["qa-fresh", "qa-old"]);
  });

  it("gc --ttl 5d removes only the expired QA stack; never qa, production, an untagged or an unreadable one", async () => {
    fleet();
    const r = await qaGcAws({ root, stacks, teardown, ttl: "5d", now: NOW, progress: (m) => lines.push(m) });
    expect(r.expired.map((x) => x.stack)).toEqual(["qa-old"]);
    expect(r.kept.map((x) => x.stack)).toEqual(["qa-fresh"]);
    expect(r.failed).toEqual([]);
    expect(calls.filter((c) => c.op === "destroy" || c.op === "remove").map((c) => `${c.op} ${c.stack}`)).toEqual(["destroy qa-old", "remove qa-old"]);
    expect([...stacks.stacks.keys()].sort()).toEqual(["dev", "production", "qa", "qa-fresh", "qa-torn", "qa-untagged"]);
  });

  it("gc with a TTL so short everything qa made is expired still never touches a non-QA stack", async () => {
    fleet();
    const r = await qaGcAws({ root, stacks, teardown, ttl: "1s", now: NOW });
    expect(r.expired.map((x) => x.stack).sort()).toEqual(["qa-fresh", "qa-old"]);
    expect([...stacks.stacks.keys()].sort()).toEqual(["dev", "production", "qa", "qa-torn", "qa-untagged"]);
  });

  it("gc --dry-run destroys nothing", async () => {
    fleet();
    const r = await qaGcAws({ root, stacks, teardown, ttl: "5d", dryRun: true, now: NOW });
    expect(r).toMatchObject({ dryRun: true, ttl: "5d" });
    expect(r.expired.map((x) => x.stack)).toEqual(["qa-old"]);
    expect(calls.filter((c) => c.op === "destroy" || c.op === "remove" || c.op === "setTag")).toEqual([]);
  });

  it("a failing destroy of one expired stack: reported, and the other expired stack is still removed", async () => {
    stacks.seed("qa-old-a", qaTags("old-a", ago(10 * D))).seed("qa-old-b", qaTags("old-b", ago(10 * D))).failOn("destroy", "qa-old-a");
    const r = await qaGcAws({ root, stacks, teardown, now: NOW });
    expect(r.expired.map((x) => x.stack)).toEqual(["qa-old-a", "qa-old-b"]);
    expect(r.failed).toEqual([{ stack: "qa-old-a", error: "pulumi destroy of qa-old-a failed: error: destroy failed (told to)" }]);
    expect(stacks.stacks.has("qa-old-a")).toBe(true);
    expect(stacks.stacks.has("qa-old-b")).toBe(false);
    expect(calls.filter((c) => c.op === "remove").map((c) => c.stack)).toEqual(["qa-old-b"]);
  });
});

describe("without the Pulumi CLI", () => {
  it("the spawn error becomes the clear message, for every command; qa up stops before building anything", async () => {
    stacks.failOn("preflight", undefined, ENOENT);
    await expect(qaUpAws(upOptions("feature/a"))).rejects.toThrow(PULUMI_CLI_MISSING);
    expect(calls.map((c) => c.op)).toEqual(["preflight"]);
    await expect(qaListAws({ stacks })).rejects.toThrow(PulumiCliMissingError);
    await expect(qaGcAws({ root, stacks })).rejects.toThrow(PULUMI_CLI_MISSING);
    await expect(qaDownAws({ root, branch: "feature/a", stacks })).rejects.toThrow(new RegExp(`^${PULUMI_CLI_MISSING.replace(/[.()/?]/g, "\\$&")}$`));
    expect(PULUMI_CLI_MISSING).toBe("the AWS path of qa needs the Pulumi CLI (https://www.pulumi.com/docs/install/) and a backend login; on this machine use --local");
  });

  it("qa down of a branch with a local environment here says so and to pass --local", async () => {
    stacks.failOn("preflight", undefined, ENOENT);
    const stack = qaStackName("feature/a");
    const record: QaRecord = {
      branch: "feature/a", stack, target: "local", project: root, stackFile: join(root, `stacks/Pulumi.${stack}.yaml`), createdStackFile: true, ref: "feature/a",
      commit: "0".repeat(40), createdAt: ago(D), lastPush: ago(D), ttl: "3d", releases: {}, urls: {},
    };
    writeRecord(record);
    try {
      const e = await qaDownAws({ root, branch: "feature/a", stacks }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PulumiCliMissingError);
      expect((e as Error).message).toBe(`${PULUMI_CLI_MISSING}. A local QA environment of branch feature/a (${stack}) exists on this machine: to remove it, pass --local (fawkes qa down --branch feature/a --local)`);
    } finally {
      removeRecord(stack);
    }
  });

  describe("the real implementation, with no pulumi on PATH", () => {
    let savedPath: string | undefined;
    beforeAll(() => {
      savedPath = process.env.PATH;
      process.env.PATH = (savedPath ?? "").split(delimiter).filter((d) => d !== "" && !existsSync(join(d, "pulumi"))).join(delimiter);
    });
    afterAll(() => {
      process.env.PATH = savedPath;
    });

    it("pulumiStacks(root) fails with the clear message, and the next call tries again", async () => {
      const real = withClearErrors(pulumiStacks(root));
      await expect(real.preflight()).rejects.toThrow(PULUMI_CLI_MISSING);
      await expect(real.list()).rejects.toThrow(PULUMI_CLI_MISSING);
    });

    it.each([
      ["qa", "up", "--branch", "feature/a"],
      ["qa", "down", "--branch", "feature/a"],
      ["qa", "list"],
      ["qa", "gc", "--dry-run"],
    ])("fawkes %s %s ... without --local: exit 1 and the message", async (...argv) => {
      let out = "";
      let err = "";
      const code = await main([...argv, "--project", root], { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
      expect(code).toBe(1);
      expect(err).toBe(`error: ${PULUMI_CLI_MISSING}\n`);
      expect(out).toBe("");
    });
  });
});

describe("the Automation API helpers", () => {
  it("output chunks become whole lines, the last one flushed", () => {
    const got: string[] = [];
    const w = lineWriter((l) => got.push(l));
    w.write("Updating (qa-x):\n   + aws:s3:Bu");
    w.write("cket created\r\n\n");
    w.write("Resources: 3 created");
    expect(got).toEqual(["Updating (qa-x):", "   + aws:s3:Bucket created"]);
    w.flush();
    expect(got.at(-1)).toBe("Resources: 3 created");
  });

  it("a failed Pulumi command: its error lines; a missing CLI: the clear message", () => {
    expect(translated("up", "qa-x", new Error("code: 255\n stdout: x\n stderr: warning: a\nerror: b\n err?: Error: c")).message).toBe("pulumi up of qa-x failed: error: b");
    expect(translated("stack ls", undefined, new Error("code: 1\n stdout: \n stderr: one\ntwo\n")).message).toBe("pulumi stack ls failed: one; two");
    expect(translated("up", "qa-x", ENOENT())).toBeInstanceOf(PulumiCliMissingError);
    const own = new QaError("mine");
    expect(translated("up", "qa-x", own)).toBe(own);
  });
});

describe("the artifact store's URNs, against what the program registers under Pulumi mocks", () => {
  it("the same resources, types and names; the URNs as the SDK's createUrn makes them", async () => {
    const { captureEnvironment } = await import("../components/harness.ts");
    const stack = qaStackName("feature/urns");
    const spec = loadStack(REPO, stack);
    await captureEnvironment(spec);
    const monitor = pulumi.runtime.getMonitor() as unknown as { resources: Map<string, { urn: string }> };
    const registered = [...monitor.resources.keys()];
    const urns = artifactStoreUrns(spec.project, stack);

    // The mock monitor keeps only the nearest parent's type in a URN (mocks.js newUrn); the engine
    // and the SDK's createUrn keep the whole chain. Compare in the mock's shape, one by one.
    const mockShape = (urn: string) => {
      const [head, project, types, name] = urn.split("::") as [string, string, string, string];
      return [head, project, types.split("$").slice(-2).join("$"), name].join("::");
    };
    const storeRegistered = registered.filter((u) => u.includes("fawkes:storage:ArtifactStore"));
    expect(storeRegistered.sort()).toEqual(urns.store.map(mockShape).sort());
    expect(registered).toContain(urns.targets[2]); // the Environment component
    expect(registered.filter((u) => u.includes("aws:s3/bucket:Bucket::"))).toEqual([mockShape(urns.bucket)]);

    // The real shape: createUrn down the parent chain (the root stack never part of it).
    const env = await new Promise<string>((res) => pulumi.createUrn(spec.project, "fawkes:index:Environment", undefined, spec.project, stack).apply(res));
    const storeUrn = await new Promise<string>((res) => pulumi.createUrn(`${spec.project}-artifacts`, "fawkes:storage:ArtifactStore", env, spec.project, stack).apply(res));
    const bucket = await new Promise<string>((res) => pulumi.createUrn(`${spec.project}-artifacts-bucket`, "aws:s3/bucket:Bucket", storeUrn, spec.project, stack).apply(res));
    const stackRoot = `urn:pulumi:${stack}::${spec.project}::pulumi:pulumi:Stack::${spec.project}-${stack}`;
    const underRoot = await new Promise<string>((res) => pulumi.createUrn(spec.project, "fawkes:index:Environment", stackRoot, spec.project, stack).apply(res));
    expect([env, storeUrn, bucket, underRoot]).toEqual([urns.targets[2], urns.store[0], urns.bucket, urns.targets[2]]);
    expect(urns.targets.slice(0, 2)).toEqual([stackRoot, `urn:pulumi:${stack}::${spec.project}::pulumi:providers:aws::aws`]);
  });
});
