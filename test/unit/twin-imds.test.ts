// The twin's instance metadata service answers as AWS documents IMDSv2 (what cloud-init's Ec2
// datasource and the AWS CLI rely on), driven on 127.0.0.1.
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { imdsHandler, type InstanceMetadata } from "../../src/twin/imds.ts";

const USER_DATA = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00, 0x0a]);
const metadata: InstanceMetadata = {
  instanceId: "i-0123456789abcdef0",
  imageId: "ami-0f00d00000000fa3e",
  instanceType: "t3.small",
  region: "eu-west-1",
  zone: "eu-west-1a",
  accountId: "123456789012",
  privateIp: "10.232.7.11",
  mac: "0a:ec:00:07:00:0b",
  subnetId: "subnet-1",
  vpcId: "vpc-1",
  role: { name: "blog-staging-web", profileArn: "arn:aws:iam::123456789012:instance-profile/blog-staging-web", credentials: { accessKeyId: "ASIAFAWKES", secretAccessKey: "s3cr3t", sessionToken: "tok", expiration: "2026-12-05T12:00:00Z" } },
  userData: USER_DATA,
};

let now = Date.parse("2026-12-05T00:00:00Z");
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer(imdsHandler(metadata, () => now));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function token(ttl = "60", extra: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/latest/api/token`, { method: "PUT", headers: { "X-aws-ec2-metadata-token-ttl-seconds": ttl, ...extra } });
}

describe("twin IMDS", () => {
  test("IMDSv1 is refused: a GET without a token gets 401, with a made-up token too", async () => {
    expect((await fetch(`${base}/latest/meta-data/instance-id`)).status).toBe(401);
    expect((await fetch(`${base}/latest/meta-data/instance-id`, { headers: { "X-aws-ec2-metadata-token": "guess" } })).status).toBe(401);
  });

  test("tokens: TTL 1-21600 accepted, out of range 400, a PUT through a proxy (X-Forwarded-For) 403, an expired token 401", async () => {
    expect((await token("0")).status).toBe(400);
    expect((await token("21601")).status).toBe(400);
    expect((await token("60", { "X-Forwarded-For": "10.0.0.9" })).status).toBe(403);
    const r = await token("2");
    expect(r.status).toBe(200);
    const t = await r.text();
    expect((await fetch(`${base}/latest/meta-data/instance-id`, { headers: { "X-aws-ec2-metadata-token": t } })).status).toBe(200);
    now += 3_000;
    expect((await fetch(`${base}/latest/meta-data/instance-id`, { headers: { "X-aws-ec2-metadata-token": t } })).status).toBe(401);
  });

  test("the tree: listings with sub-directories ending in '/', any API version, the identity document, the role's credentials", async () => {
    const t = await (await token()).text();
    const get = async (p: string) => {
      const r = await fetch(`${base}${p}`, { headers: { "X-aws-ec2-metadata-token": t } });
      return { status: r.status, text: await r.text() };
    };
    const listing = (await get("/2021-03-23/meta-data/")).text.split("\n");
    expect(listing).toEqual(expect.arrayContaining(["instance-id", "placement/", "network/", "iam/", "local-ipv4"]));
    expect((await get("/latest/meta-data/placement/availability-zone")).text).toBe("eu-west-1a");
    expect((await get(`/latest/meta-data/network/interfaces/macs/${metadata.mac}/local-ipv4s`)).text).toBe("10.232.7.11");
    const doc = JSON.parse((await get("/latest/dynamic/instance-identity/document")).text) as Record<string, string>;
    expect(doc).toMatchObject({ instanceId: metadata.instanceId, region: "eu-west-1", accountId: "123456789012", privateIp: "10.232.7.11" });
    expect((await get("/latest/meta-data/iam/security-credentials/")).text).toBe("blog-staging-web");
    const creds = JSON.parse((await get("/latest/meta-data/iam/security-credentials/blog-staging-web")).text) as Record<string, string>;
    expect(creds).toMatchObject({ Code: "Success", AccessKeyId: "ASIAFAWKES", SecretAccessKey: "s3cr3t", Token: "tok", Expiration: "2026-12-05T12:00:00Z" });
    expect((await get("/latest/meta-data/no-such-key")).status).toBe(404);
  });

  test("user-data is served byte for byte (gzip bytes stay gzip bytes)", async () => {
    const t = await (await token()).text();
    const r = await fetch(`${base}/latest/user-data`, { headers: { "X-aws-ec2-metadata-token": t } });
    expect(Buffer.from(await r.arrayBuffer())).toEqual(USER_DATA);
  });
});
