// The one endpoint setting of every AWS SDK client fawkes makes: the SDK's own AWS_ENDPOINT_URL
// and AWS_ENDPOINT_URL_<SERVICE>, read by the SDK, with S3 path-style whenever one is set. A small
// HTTP server on 127.0.0.1 records what each store sends; nothing leaves the machine.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { stackArtifactBucket } from "../../src/artifact/index.ts";
import { configuredEndpoint, s3Client } from "../../src/aws/clients.ts";
import { loadStack } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { stackSecretParameters } from "../../src/secrets/index.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const ENV = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SSM", "FAWKES_S3_ENDPOINT", "FAWKES_SSM_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CONFIG_FILE"] as const;
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

interface Seen {
  method: string;
  host: string;
  path: string;
  target: string;
}
const seen: Seen[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    seen.push({ method: req.method ?? "", host: req.headers.host ?? "", path: req.url ?? "", target: String(req.headers["x-amz-target"] ?? "") });
    req.resume();
    req.on("end", () => {
      if (req.headers["x-amz-target"]) {
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify({ Parameters: [{ Name: "/fawkes/staging/shop/SHOP_SECRET_KEY", Type: "SecureString" }] }));
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  seen.length = 0;
  for (const k of ENV) delete process.env[k];
  // No shared config file of this machine's user: its endpoint_url would be read too.
  process.env.AWS_CONFIG_FILE = "/nonexistent/fawkes-test-config";
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIDFAWKESTEST", AWS_SECRET_ACCESS_KEY: "not-a-secret" });
});
afterEach(() => {
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe("the endpoint of fawkes's AWS clients", () => {
  it("the artifact bucket follows AWS_ENDPOINT_URL_S3, path-style (the bucket in the path, not in the host name)", async () => {
    process.env.AWS_ENDPOINT_URL_S3 = url.replace("127.0.0.1", "localhost");
    const spec = loadStack(ROOT, "staging");
    const bucket = planEnvironment(spec).hosts[0]!.stores.artifactBucket;
    const pin = spec.knobs.releases.shop!;
    expect(await stackArtifactBucket(spec).has("shop", pin)).toBe(false);
    expect(seen).toEqual([{ method: "HEAD", host: url.replace("http://127.0.0.1", "localhost"), path: `/${bucket}/shop/${pin}.sha256`, target: "" }]);
  });

  it("the secret store follows AWS_ENDPOINT_URL, the setting of every service", async () => {
    process.env.AWS_ENDPOINT_URL = url;
    const listed = await stackSecretParameters(loadStack(ROOT, "staging")).list("shop");
    expect([...listed.keys()]).toEqual(["SHOP_SECRET_KEY"]);
    expect(seen.map((s) => s.target)).toEqual(["AmazonSSM.DescribeParameters"]);
  });

  it("a service's own variable wins over AWS_ENDPOINT_URL", async () => {
    process.env.AWS_ENDPOINT_URL = "http://127.0.0.1:9";
    process.env.AWS_ENDPOINT_URL_S3 = url;
    expect(await configuredEndpoint(await s3Client(S3Client, "eu-west-1"))).toBe(url);
  });

  it("FAWKES_S3_ENDPOINT is gone: without the SDK's setting S3 is AWS's, virtual-hosted in the stack's region", async () => {
    process.env.FAWKES_S3_ENDPOINT = url;
    const client = await s3Client(S3Client, "eu-west-1");
    expect(await configuredEndpoint(client)).toBeUndefined();
    expect(client.config.forcePathStyle).toBe(false);
  });

  it("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns the setting off, as the SDK documents", async () => {
    process.env.AWS_ENDPOINT_URL = url;
    process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true";
    expect(await configuredEndpoint(await s3Client(S3Client, "eu-west-1"))).toBeUndefined();
  });
});
