import { chmodSync, copyFileSync, existsSync, readFileSync, renameSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { S3Client } from "@aws-sdk/client-s3";
import { s3Client } from "../aws/clients.ts";
import { releasesToPrune, removeStoredArtifact, storedReleases, type StoredRelease } from "./retention.ts";
import { artifactPaths, CorruptArtifactError, ensureStoreDir, sha256OfFile, STORE_FILE_MODE } from "./store.ts";

/** The three files of one release artifact, as paths on this machine (an `ArtifactPaths` fits). */
export interface ArtifactFiles {
  tarball: string;
  /** Holds the tarball's 64-hex sha256; stored last, its presence marks the artifact complete. */
  sha256: string;
  buildInfo: string;
}

/**
 * Where release artifacts live: a directory on this machine, or the environment's S3 bucket that
 * hosts fetch from. Both hold `<app>/<release>.tar.gz`, `.sha256` and `.build.json`.
 */
export interface ArtifactStore {
  /** For messages: a directory, or `s3://bucket/prefix`. */
  readonly where: string;
  /** Whether the release is complete in the store (its .sha256 is there). */
  has(app: string, release: string): Promise<boolean>;
  /**
   * What the store's .sha256 of the release says now (its first word), undefined when it is not
   * there: read once by whoever renders or deploys, then pinned in the host's bundle (sums.ts).
   */
  sum(app: string, release: string): Promise<string | undefined>;
  /** The complete releases of an app, sorted by release id. */
  list(app: string): Promise<StoredRelease[]>;
  /** Stores an artifact: tarball and build info, then the .sha256. */
  put(app: string, release: string, files: ArtifactFiles): Promise<void>;
  /** Deletes an artifact, its .sha256 first: half deleted, it is incomplete, never served as complete. */
  remove(app: string, release: string): Promise<void>;
}

/** The tarball's sum from its .sha256, checked against the tarball: a corrupt artifact is never stored. */
async function checkedSum(files: ArtifactFiles): Promise<string> {
  const want = readFileSync(files.sha256, "utf8").trim();
  if (!/^[0-9a-f]{64}$/.test(want)) throw new CorruptArtifactError(`${files.sha256} holds no sha256 sum`);
  const have = await sha256OfFile(files.tarball);
  if (have !== want) throw new CorruptArtifactError(`${files.tarball} does not match ${files.sha256} (${have} != ${want})`);
  return want;
}

/** Deletes the releases `releasesToPrune` picks from any store; returns their ids. */
export async function pruneStore(store: ArtifactStore, app: string, keep: number, protect: ReadonlySet<string>): Promise<string[]> {
  const removed = releasesToPrune(await store.list(app), keep, protect);
  for (const release of removed) await store.remove(app, release);
  return removed;
}

/**
 * Copies a release from one store's files into another store unless it already has it (its .sha256
 * is there): `build --push` and `qa up` on AWS fill a stack's bucket this way.
 */
export async function pushRelease(to: ArtifactStore, app: string, release: string, files: ArtifactFiles): Promise<"pushed" | "exists"> {
  if (await to.has(app, release)) return "exists";
  await to.put(app, release, files);
  return "pushed";
}

/** The store in a directory of this machine (`fawkes build` writes there). */
export function localStore(dir: string): ArtifactStore {
  const copyIn = (from: string, to: string) => {
    if (from === to) return;
    const tmp = `${to}.${process.pid}.partial`;
    copyFileSync(from, tmp);
    chmodSync(tmp, STORE_FILE_MODE);
    renameSync(tmp, to);
  };
  return {
    where: dir,
    has: async (app, release) => existsSync(artifactPaths(dir, app, release).sha256),
    async sum(app, release) {
      const paths = artifactPaths(dir, app, release);
      if (!existsSync(paths.sha256) || !existsSync(paths.tarball)) return undefined;
      return readFileSync(paths.sha256, "utf8").trim().split(/\s/)[0] ?? "";
    },
    list: async (app) => storedReleases(dir, app),
    async put(app, release, files) {
      await checkedSum(files);
      const to = artifactPaths(dir, app, release);
      ensureStoreDir(to);
      copyIn(files.tarball, to.tarball);
      copyIn(files.buildInfo, to.buildInfo);
      copyIn(files.sha256, to.sha256);
    },
    remove: async (app, release) => removeStoredArtifact(artifactPaths(dir, app, release)),
  };
}

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix before `<app>/`; hosts fetch from the bucket's top, so none by default. */
  prefix?: string;
  /** The bucket's region; the endpoint is the SDK's own setting (src/aws/clients.ts). */
  region: string;
  /** A ready client; `region` is then ignored. */
  client?: S3Client;
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === "NotFound" || err?.name === "NoSuchKey" || err?.$metadata?.httpStatusCode === 404;
}

/** The SDK's error, naming the object: the SDK's own messages name neither bucket nor key. */
function s3Failure(op: string, bucket: string, key: string, e: unknown): Error {
  const err = e as Error;
  return new Error(`${op} s3://${bucket}/${key} failed: ${err?.name && err.name !== "Error" ? `${err.name}: ` : ""}${err?.message ?? String(e)}`, { cause: e });
}

/** More pages than this under one app is not an artifact store: stop rather than loop on. */
const MAX_LIST_PAGES = 1000;

/**
 * The environment's artifact bucket, as hosts read it: `<app>/<release>.tar.gz` and `.sha256` (and
 * `.build.json`). Credentials come from the AWS SDK's default chain. The SDK loads on first use.
 */
export function s3Store(opts: S3StoreOptions): ArtifactStore {
  const { bucket } = opts;
  const prefix = opts.prefix === undefined || opts.prefix === "" ? "" : opts.prefix.replace(/\/*$/, "/");
  const key = (app: string, release: string, ext: "tar.gz" | "sha256" | "build.json") => `${prefix}${app}/${release}.${ext}`;
  let ready: Promise<{ sdk: typeof import("@aws-sdk/client-s3"); client: S3Client }> | undefined;
  const s3 = () =>
    (ready ??= import("@aws-sdk/client-s3").then(async (sdk) => ({
      sdk,
      client: opts.client ?? (await s3Client(sdk.S3Client, opts.region)),
    })));
  const call = async <T>(op: string, k: string, send: (s: Awaited<ReturnType<typeof s3>>) => Promise<T>): Promise<T> => {
    const s = await s3();
    try {
      return await send(s);
    } catch (e) {
      throw s3Failure(op, bucket, k, e);
    }
  };

  const builtAtOf = async (k: string): Promise<string | undefined> => {
    const text = await call("GetObject", k, async ({ sdk, client }) => {
      try {
        return await (await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: k }))).Body?.transformToString();
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    });
    try {
      const at = (JSON.parse(text ?? "") as { builtAt?: unknown })?.builtAt;
      return typeof at === "string" && !Number.isNaN(Date.parse(at)) ? at : undefined;
    } catch {
      return undefined;
    }
  };

  return {
    where: `s3://${bucket}/${prefix}`,
    has: (app, release) =>
      call("HeadObject", key(app, release, "sha256"), async ({ sdk, client }) => {
        try {
          await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key(app, release, "sha256") }));
          return true;
        } catch (e) {
          if (isNotFound(e)) return false;
          throw e;
        }
      }),
    sum: (app, release) =>
      call("GetObject", key(app, release, "sha256"), async ({ sdk, client }) => {
        try {
          const text = await (await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key(app, release, "sha256") }))).Body?.transformToString();
          return (text ?? "").trim().split(/\s/)[0] ?? "";
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      }),
    async list(app) {
      const under = `${prefix}${app}/`;
      const sums: Array<{ release: string; lastModified?: Date }> = [];
      let token: string | undefined;
      for (let page = 0; ; page++) {
        if (page === MAX_LIST_PAGES) throw new Error(`s3://${bucket}/${under}: more than ${MAX_LIST_PAGES} pages of objects; not an artifact store`);
        const res = await call("ListObjectsV2", under, ({ sdk, client }) => client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: under, ContinuationToken: token })));
        for (const o of res.Contents ?? []) {
          const name = o.Key?.slice(under.length) ?? "";
          if (name.endsWith(".sha256") && !name.includes("/") && !name.startsWith(".")) sums.push({ release: name.slice(0, -".sha256".length), lastModified: o.LastModified });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
        if (token === undefined) break;
      }
      const stored: StoredRelease[] = [];
      for (const s of sums.sort((a, b) => (a.release < b.release ? -1 : a.release > b.release ? 1 : 0))) {
        stored.push({ release: s.release, builtAt: (await builtAtOf(key(app, s.release, "build.json"))) ?? s.lastModified?.toISOString() ?? "" });
      }
      return stored;
    },
    async put(app, release, files) {
      const sum = await checkedSum(files);
      const upload = (ext: "tar.gz" | "sha256" | "build.json", body: Buffer, contentType: string, checksum?: string) =>
        call("PutObject", key(app, release, ext), ({ sdk, client }) =>
          client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key(app, release, ext), Body: body, ContentType: contentType, ...(checksum ? { ChecksumSHA256: checksum } : {}) })),
        );
      // A buffer, not a stream: signing over plain HTTP (emulators) needs the payload's hash. S3
      // checks ChecksumSHA256 and refuses a tarball damaged on the way.
      await upload("tar.gz", await readFile(files.tarball), "application/gzip", Buffer.from(sum, "hex").toString("base64"));
      await upload("build.json", await readFile(files.buildInfo), "application/json");
      await upload("sha256", await readFile(files.sha256), "text/plain");
    },
    async remove(app, release) {
      for (const ext of ["sha256", "tar.gz", "build.json"] as const) {
        await call("DeleteObject", key(app, release, ext), ({ sdk, client }) => client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key(app, release, ext) })));
      }
    },
  };
}
