// The S3 artifact store against a real S3 API (s3rver, in process on 127.0.0.1, a random port):
// the layout hosts fetch (`<app>/<release>.tar.gz` and `.sha256`), the .sha256 uploaded last and
// deleted first, pruning, and `fawkes build shop --push --stack dev`, all through the SDK's own
// endpoint setting (AWS_ENDPOINT_URL_S3) and the one client factory (src/aws/clients.ts).
// No other network: the endpoint is 127.0.0.1 and the credentials come from the environment.
// A test that cannot run fails with the reason; none is skipped.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { execa } from "execa";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifactPaths, defaultStore, localStore, pruneStore, s3Store, type ArtifactFiles } from "../../src/artifact/index.ts";
import { loadStack } from "../../src/config/index.ts";
import { main } from "../../src/cli/main.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { s3Client } from "../../src/aws/clients.ts";
import { ROOT } from "../helpers/rendered-hosts.ts";

const tmp = mkdtempSync(join(tmpdir(), "fawkes-s3-e2e-"));
// s3rver knows one access key id, its default (it does not check SigV4 signatures).
const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
const BUCKET = "fawkes-e2e-artifacts";
const REGION = "eu-west-1";
/** What the SDK reads from the environment here: the endpoint and s3rver's keys; restored after. */
const ENV_KEYS = ["AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"] as const;
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
let server: S3rver;
let endpoint: string;
let client: S3Client;
/** PutObject and DeleteObject calls in the order the client sent them: `Put shop/r1.sha256`. */
const writes: string[] = [];

beforeAll(async () => {
  mkdirSync(join(tmp, "s3"));
  server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: join(tmp, "s3") });
  const { address, port } = await server.run();
  endpoint = `http://${address}:${port}`;
  Object.assign(process.env, { AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  // The factory's client: the endpoint from the environment, path-style because one is set.
  client = await s3Client(S3Client, REGION);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const verb = /^(Put|Delete)Object/.exec(context.commandName ?? "")?.[1];
      if (verb) writes.push(`${verb} ${(args.input as { Key: string }).Key}`);
      return next(args);
    },
    { step: "initialize", name: "recordWrites" },
  );
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
/** An artifact's three small files, as `fawkes build` leaves them in the local store. */
function artifact(release: string, builtAt: string | undefined): ArtifactFiles {
  const dir = join(tmp, `src-${n++}`);
  mkdirSync(dir);
  const content = `tarball of ${release} ${n}`;
  const files = { tarball: join(dir, `${release}.tar.gz`), sha256: join(dir, `${release}.sha256`), buildInfo: join(dir, `${release}.build.json`) };
  writeFileSync(files.tarball, content);
  writeFileSync(files.sha256, `${createHash("sha256").update(content).digest("hex")}\n`);
  writeFileSync(files.buildInfo, JSON.stringify(builtAt === undefined ? { release } : { release, builtAt }));
  return files;
}

const day = (d: number) => new Date(Date.UTC(2026, 10, d)).toISOString();

async function keys(bucket: string, prefix: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function text(bucket: string, key: string): Promise<string> {
  return (await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()) ?? "";
}

describe("s3Store", () => {
  it("puts an artifact where hosts fetch it, the .sha256 last; has and list see it", async () => {
    const store = s3Store({ bucket: BUCKET, region: REGION, client });
    expect(store.where).toBe(`s3://${BUCKET}/`);
    expect(await store.has("shop", "r1")).toBe(false);
    expect(await store.list("shop")).toEqual([]);
    const files = artifact("r1", day(1));
    writes.length = 0;
    await store.put("shop", "r1", files);
    expect(writes).toEqual(["Put shop/r1.tar.gz", "Put shop/r1.build.json", "Put shop/r1.sha256"]);
    expect(await keys(BUCKET, "shop/")).toEqual(["shop/r1.build.json", "shop/r1.sha256", "shop/r1.tar.gz"]);
    expect(await text(BUCKET, "shop/r1.tar.gz")).toBe(readFileSync(files.tarball, "utf8"));
    expect(await text(BUCKET, "shop/r1.sha256")).toBe(readFileSync(files.sha256, "utf8"));
    expect((await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "shop/r1.tar.gz" }))).ContentType).toBe("application/gzip");
    expect(await store.has("shop", "r1")).toBe(true);
    expect(await store.has("blog", "r1")).toBe(false);
    expect(await store.list("shop")).toEqual([{ release: "r1", builtAt: day(1) }]);
  });

  it("is incomplete without its .sha256: a put that fails half way is neither `has` nor listed", async () => {
    const store = s3Store({ bucket: BUCKET, region: REGION, client });
    const files = artifact("r2", day(2));
    rmSync(files.buildInfo);
    writes.length = 0;
    await expect(store.put("shop", "r2", files)).rejects.toThrow(/r2\.build\.json/);
    expect(writes).toEqual(["Put shop/r2.tar.gz"]);
    expect(await keys(BUCKET, "shop/r2")).toEqual(["shop/r2.tar.gz"]);
    expect(await store.has("shop", "r2")).toBe(false);
    expect((await store.list("shop")).map((s) => s.release)).toEqual(["r1"]);
  });

  it("removes the .sha256 first and leaves nothing of the release", async () => {
    const store = s3Store({ bucket: BUCKET, region: REGION, client });
    writes.length = 0;
    await store.remove("shop", "r1");
    await store.remove("shop", "r2");
    expect(writes.slice(0, 3)).toEqual(["Delete shop/r1.sha256", "Delete shop/r1.tar.gz", "Delete shop/r1.build.json"]);
    expect(await keys(BUCKET, "shop/")).toEqual([]);
    expect(await store.has("shop", "r1")).toBe(false);
  });

  it("lists builtAt from the build info, else the .sha256's LastModified; a prefix goes before <app>/", async () => {
    const store = s3Store({ bucket: BUCKET, region: REGION, prefix: "elsewhere", client });
    await store.put("shop", "r1", artifact("r1", undefined));
    expect(await keys(BUCKET, "elsewhere/")).toEqual(["elsewhere/shop/r1.build.json", "elsewhere/shop/r1.sha256", "elsewhere/shop/r1.tar.gz"]);
    const [listed] = await store.list("shop");
    expect(listed!.release).toBe("r1");
    expect(Math.abs(Date.parse(listed!.builtAt) - Date.now())).toBeLessThan(120_000);
    await store.remove("shop", "r1");
    expect(await keys(BUCKET, "elsewhere/")).toEqual([]);
  });

  it("names the bucket and key when S3 says no (a missing bucket, an unknown access key)", async () => {
    await expect(s3Store({ bucket: "no-such-bucket", region: REGION, client }).list("shop")).rejects.toThrow(/ListObjectsV2 s3:\/\/no-such-bucket\/shop\/ failed: NoSuchBucket/);
    const badKeys = new S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials: { accessKeyId: "NOBODY", secretAccessKey: "wrong" } });
    await expect(s3Store({ bucket: BUCKET, region: REGION, client: badKeys }).has("shop", "r1")).rejects.toThrow(new RegExp(`HeadObject s3://${BUCKET}/shop/r1\\.sha256 failed`));
  });

  it("pruneStore keeps the newest N and a protected old one", async () => {
    const store = s3Store({ bucket: BUCKET, region: REGION, client });
    for (const d of [1, 2, 3, 4, 5]) await store.put("blog", `r${d}`, artifact(`r${d}`, day(d)));
    await store.put("shop", "r1", artifact("r1", day(1)));
    expect(await pruneStore(store, "blog", 2, new Set(["r1"]))).toEqual(["r3", "r2"]);
    expect(await keys(BUCKET, "blog/")).toEqual(["r1", "r4", "r5"].flatMap((r) => [`blog/${r}.build.json`, `blog/${r}.sha256`, `blog/${r}.tar.gz`]));
    expect(await pruneStore(store, "blog", 2, new Set(["r1"]))).toEqual([]);
    expect(await store.has("shop", "r1")).toBe(true);
    for (const r of ["r1", "r4", "r5"]) await store.remove("blog", r);
    await store.remove("shop", "r1");
  });
});

describe("fawkes build --push", () => {
  it("refuses --push without --stack: a push names its environment", async () => {
    let err = "";
    const code = await main(["build", "shop", "--push"], { out: () => {}, err: (t) => (err += t), cwd: ROOT });
    expect(code).toBe(2);
    expect(err).toContain("--push needs --stack S");
  });

  it("uploads shop's pinned release to the dev stack's bucket, and a second run finds it there", async () => {
    const spec = loadStack(ROOT, "dev");
    const bucket = planEnvironment(spec).hosts[0]!.stores.artifactBucket;
    const pin = spec.knobs.releases.shop!;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    // A store of this test's own, seeded from the machine's: the build's pruning then touches only it.
    const store = join(tmp, "local-store");
    const machine = artifactPaths(defaultStore(), "shop", pin);
    if (await localStore(defaultStore()).has("shop", pin)) await localStore(store).put("shop", pin, machine);
    else if (process.getuid?.() !== 0) throw new Error(`shop ${pin} is not in ${defaultStore()} and building it needs root: run the e2e tests as root`);
    const env = {
      AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined, AWS_EC2_METADATA_DISABLED: "true", AWS_REGION: REGION,
    };
    const push = () => execa("node", ["bin/fawkes.mjs", "build", "shop", "--store", store, "--push", "--stack", "dev"], { cwd: ROOT, env, reject: false, all: true, timeout: 900_000 });

    const first = await push();
    expect(first.exitCode, first.all).toBe(0);
    expect(first.stdout.split("\n")).toContain(`pushed shop ${pin} to s3://${bucket}/shop/`);
    expect(await keys(bucket, "shop/")).toEqual([`shop/${pin}.build.json`, `shop/${pin}.sha256`, `shop/${pin}.tar.gz`]);
    const local = artifactPaths(store, "shop", pin);
    expect(await text(bucket, `shop/${pin}.sha256`)).toBe(readFileSync(local.sha256, "utf8"));
    expect((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `shop/${pin}.tar.gz` }))).ContentLength).toBe(statSync(local.tarball).size);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `shop/${pin}.tar.gz` }));
    const sum = createHash("sha256").update(await got.Body!.transformToByteArray()).digest("hex");
    expect(`${sum}\n`).toBe(readFileSync(local.sha256, "utf8"));

    const second = await push();
    expect(second.exitCode, second.all).toBe(0);
    expect(second.stdout.split("\n")).toContain(`shop ${pin} already in s3://${bucket}/shop/`);
    expect(second.stdout).not.toContain("pushed");
  }, 900_000);
});
