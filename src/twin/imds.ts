// The instance metadata service a twin host reads, on 169.254.169.254 inside the host's own network
// namespace: IMDSv2 only, as the launch templates require (http_tokens = required). What AWS
// documents, and cloud-init's Ec2 datasource and the AWS CLI rely on:
// - PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1-21600) gives a token;
//   a PUT carrying X-Forwarded-For is refused (403): a proxy must not fetch tokens for others.
// - every GET needs a live token in X-aws-ec2-metadata-token, else 401 (v1 refused);
// - a directory lists its entries one per line, sub-directories ending with "/";
// - any API version prefix ("latest", "2021-03-23", ...) serves the same tree.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** A metadata tree: a leaf is its text, a branch its entries. */
export type MetadataTree = { [key: string]: string | MetadataTree };

export interface InstanceMetadata {
  instanceId: string;
  imageId: string;
  instanceType: string;
  region: string;
  zone: string;
  accountId: string;
  privateIp: string;
  mac: string;
  subnetId: string;
  vpcId: string;
  /** The instance profile's role and its current credentials. */
  role?: { name: string; profileArn: string; credentials: RoleCredentials };
  /** The launch template's user-data, as the instance has it (bytes, base64 decoded). */
  userData?: Buffer;
}

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO 8601 in UTC with Z, as IMDS reports it. */
  expiration: string;
}

export const IMDS_ADDRESS = "169.254.169.254";
const MAX_TTL = 21_600;

/** The tree under /<version>/meta-data/ and /<version>/dynamic/ for one instance. */
export function metadataTree(m: InstanceMetadata, now: Date): { metaData: MetadataTree; dynamic: MetadataTree } {
  const hostname = `ip-${m.privateIp.replaceAll(".", "-")}.${m.region}.compute.internal`;
  const iam: MetadataTree = m.role
    ? {
        info: JSON.stringify({ Code: "Success", LastUpdated: iso(now), InstanceProfileArn: m.role.profileArn, InstanceProfileId: "AIPA" + m.instanceId.slice(2).toUpperCase() }, null, 2),
        "security-credentials": {
          [m.role.name]: JSON.stringify(
            { Code: "Success", LastUpdated: iso(now), Type: "AWS-HMAC", AccessKeyId: m.role.credentials.accessKeyId, SecretAccessKey: m.role.credentials.secretAccessKey, Token: m.role.credentials.sessionToken, Expiration: m.role.credentials.expiration },
            null,
            2,
          ),
        },
      }
    : {};
  const metaData: MetadataTree = {
    "ami-id": m.imageId,
    "ami-launch-index": "0",
    hostname,
    "instance-id": m.instanceId,
    "instance-type": m.instanceType,
    "local-hostname": hostname,
    "local-ipv4": m.privateIp,
    mac: m.mac,
    network: {
      interfaces: {
        macs: {
          [m.mac]: { "device-number": "0", "interface-id": `eni-${m.instanceId.slice(2)}`, "local-hostname": hostname, "local-ipv4s": m.privateIp, mac: m.mac, "subnet-id": m.subnetId, "vpc-id": m.vpcId, "owner-id": m.accountId },
        },
      },
    },
    placement: { "availability-zone": m.zone, region: m.region },
    services: { domain: "amazonaws.com", partition: "aws" },
    ...(m.role ? { iam } : {}),
  };
  const document = {
    accountId: m.accountId,
    architecture: "x86_64",
    availabilityZone: m.zone,
    imageId: m.imageId,
    instanceId: m.instanceId,
    instanceType: m.instanceType,
    pendingTime: iso(now),
    privateIp: m.privateIp,
    region: m.region,
    version: "2017-09-30",
  };
  return { metaData, dynamic: { "instance-identity": { document: JSON.stringify(document, null, 2) } } };
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** What a GET of `path` (after the version) answers: a leaf, a listing, or nothing. */
export function lookup(tree: MetadataTree, path: string): string | undefined {
  const parts = path.split("/").filter(Boolean);
  let node: string | MetadataTree = tree;
  for (const p of parts) {
    if (typeof node === "string") return undefined;
    const next: string | MetadataTree | undefined = node[p];
    if (next === undefined) return undefined;
    node = next;
  }
  if (typeof node === "string") return node;
  return Object.entries(node)
    .map(([k, v]) => (typeof v === "string" ? k : `${k}/`))
    .join("\n");
}

/** A token store: random tokens with their own expiry, as IMDS issues them. */
class Tokens {
  private readonly live = new Map<string, number>();
  issue(ttlSeconds: number, now: number): string {
    for (const [t, until] of this.live) if (until <= now) this.live.delete(t);
    const token = randomBytes(32).toString("base64url");
    this.live.set(token, now + ttlSeconds * 1000);
    return token;
  }
  valid(token: string | undefined, now: number): boolean {
    const until = token === undefined ? undefined : this.live.get(token);
    return until !== undefined && until > now;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function answer(res: ServerResponse, status: number, body: string | Buffer = "", headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/plain", Server: "EC2ws", ...headers });
  res.end(body);
}

/** The request handler, apart from the socket: tests drive it on 127.0.0.1. */
export function imdsHandler(m: InstanceMetadata, clock: () => number = Date.now) {
  const tokens = new Tokens();
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://imds");
    const [version = "", kind = "", ...rest] = url.pathname.split("/").slice(1);
    const now = clock();
    if (req.method === "PUT" && kind === "api" && rest.join("/") === "token") {
      if (header(req, "x-forwarded-for") !== undefined) return answer(res, 403, "Forbidden");
      const ttl = Number(header(req, "x-aws-ec2-metadata-token-ttl-seconds"));
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) return answer(res, 400, "Bad Request");
      return answer(res, 200, tokens.issue(ttl, now), { "X-Aws-Ec2-Metadata-Token-Ttl-Seconds": String(ttl) });
    }
    if (req.method !== "GET" && req.method !== "HEAD") return answer(res, 405, "Method Not Allowed", { Allow: "GET, HEAD, PUT" });
    if (!tokens.valid(header(req, "x-aws-ec2-metadata-token"), now)) return answer(res, 401, "Unauthorized");
    if (version === "") return answer(res, 200, "latest");
    const tree = metadataTree(m, new Date(now));
    if (kind === "") return answer(res, 200, ["dynamic", "meta-data", ...(m.userData ? ["user-data"] : [])].join("\n"));
    if (kind === "user-data" && rest.length === 0) return m.userData ? answer(res, 200, m.userData, { "Content-Type": "application/octet-stream" }) : answer(res, 404, "Not Found");
    const root = kind === "meta-data" ? tree.metaData : kind === "dynamic" ? tree.dynamic : undefined;
    const body = root === undefined ? undefined : lookup(root, rest.join("/"));
    return body === undefined ? answer(res, 404, "Not Found") : answer(res, 200, body);
  };
}

/** Listens on `address`:`port` (169.254.169.254:80 inside a twin host's namespace). */
export async function serveImds(m: InstanceMetadata, address = IMDS_ADDRESS, port = 80): Promise<Server> {
  const server = createServer(imdsHandler(m));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => resolve());
  });
  return server;
}
