// Who is asking, on AWS: the ALB's listener rule does authenticate-oidc and passes the user's claims
// to the console as a JWT it signs itself (x-amzn-oidc-data, ES256). AWS asks the target to verify
// that signature and the signer before trusting a claim, since anything that reaches the console's
// port can send the header; this does, with node:crypto, because strict JWT libraries refuse the
// ALB's base64url-with-padding.
import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { GroupName } from "../config/index.ts";

/** The signed-in user as the console authorizes them: groups decide view, deploy and admin. */
export interface AlbIdentity {
  /** The IdP's `sub`: the one claim that names a user for good. */
  subject: string;
  /** For people to read (history, lock holder): email, else preferred_username, else username, else sub. */
  name: string;
  email?: string;
  /** The IdP's groups that are valid group names; the others are dropped, never guessed at. */
  groups: string[];
  /** When the ALB's token runs out, epoch ms: a session kept by the console must not outlive it. */
  expiresAt: number;
}

/** What the console knows about its own load balancer; everything else comes from the token. */
export interface AlbVerifierOptions {
  /** The ALB's region: its public keys are served per region. */
  region: string;
  /** The ALB(s) whose signature is accepted: the token header's `signer` must equal one. */
  albArns: readonly string[];
  /** The claim that lists the user's groups; default "groups" (Cognito: "cognito:groups"). */
  groupsClaim?: string;
  /** Fetches a public key (PEM) by URL; default: global fetch, 5 s timeout, error unless HTTP 200. */
  fetchKey?: (url: string) => Promise<string>;
  now?: () => number;
  /** Slack allowed on `exp` for clocks that disagree; default 60. */
  clockSkewSeconds?: number;
}

/** Why a request is not signed in: said on the 401 page, so it never repeats the token. */
export class AlbIdentityError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AlbIdentityError";
  }
}

// The kid goes into a URL path: letters, digits and hyphens only (AWS's are UUIDs), so no `/`, `..`,
// `?`, `#`, `%` or `@` can send the fetch anywhere but AWS's key endpoint.
const KID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/;
const ALB_ARN = /^arn:aws(?:-[a-z]+)*:elasticloadbalancing:([a-z0-9-]+):[0-9]{12}:loadbalancer\/app\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;
// base64url, with the `=` padding the ALB adds and RFC 7515 does not.
const PART = /^[A-Za-z0-9_-]+={0,2}$/;
// GovCloud serves the keys from S3, not from public-keys.auth.elb.<region>.amazonaws.com.
const GOVCLOUD_KEYS = new Map([
  ["us-gov-west-1", "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1"],
  ["us-gov-east-1", "https://s3-us-gov-east-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-east-1"],
]);
// The ALB refuses claims over 11 KB; a longer header is not from it, and is not parsed.
const MAX_TOKEN_CHARS = 16 * 1024;
const KEY_CACHE_ENTRIES = 64;
const FETCH_TIMEOUT_MS = 5000;
// A NumericDate in seconds that a Date can still show (the year 5138).
const MAX_EXP_SECONDS = 1e11;

/**
 * Builds the check the console runs on every request on AWS: the ALB's headers in, the verified
 * user out, or an AlbIdentityError saying why not. Public keys are fetched by kid and kept (64 at
 * most); a failed fetch is not kept, so the next request tries again.
 */
export function albVerifier(opts: AlbVerifierOptions): (headers: { oidcData?: string; identity?: string }) => Promise<AlbIdentity> {
  const keyBase = keyBaseOf(opts);
  const allowed = new Set(opts.albArns);
  const groupsClaim = opts.groupsClaim ?? "groups";
  const fetchKey = opts.fetchKey ?? fetchPem;
  const now = opts.now ?? Date.now;
  const skewMs = (opts.clockSkewSeconds ?? 60) * 1000;
  const keys = new Map<string, Promise<KeyObject>>();

  const keyFor = (kid: string): Promise<KeyObject> => {
    const kept = keys.get(kid);
    if (kept) {
      keys.delete(kid); // the most recently used stays longest
      keys.set(kid, kept);
      return kept;
    }
    const loading = loadKey(`${keyBase}/${kid}`, fetchKey);
    keys.set(kid, loading);
    if (keys.size > KEY_CACHE_ENTRIES) keys.delete(keys.keys().next().value as string);
    loading.catch(() => {
      if (keys.get(kid) === loading) keys.delete(kid);
    });
    return loading;
  };

  return async ({ oidcData, identity }) => {
    if (oidcData === undefined || oidcData === "") {
      throw new AlbIdentityError("no x-amzn-oidc-data header: the request did not come through the load balancer's sign-in");
    }
    if (oidcData.length > MAX_TOKEN_CHARS) throw new AlbIdentityError(`x-amzn-oidc-data is longer than ${MAX_TOKEN_CHARS} characters`);
    const parts = oidcData.split(".");
    if (parts.length !== 3) throw new AlbIdentityError("x-amzn-oidc-data is not a JWT: it must be three parts joined by dots");
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];

    const header = jsonPart(headerPart, "header");
    if (header.alg !== "ES256") {
      const alg = typeof header.alg === "string" && /^[A-Za-z0-9]{1,16}$/.test(header.alg) ? `"${header.alg}"` : "a missing or unknown algorithm";
      throw new AlbIdentityError(`the token is signed with ${alg}; the load balancer signs with ES256`);
    }
    if (typeof header.kid !== "string" || !KID.test(header.kid)) {
      throw new AlbIdentityError("the token's key id (kid) is missing or not letters, digits and hyphens");
    }
    if (typeof header.signer !== "string" || !allowed.has(header.signer)) {
      const who = typeof header.signer === "string" && ALB_ARN.test(header.signer) ? header.signer : "a missing or malformed signer";
      throw new AlbIdentityError(`the token was signed by ${who}, which is not this console's load balancer`);
    }
    if (!isBase64Url(payloadPart) || !isBase64Url(signaturePart)) throw new AlbIdentityError("the token's claims or signature are not base64url");

    const key = await keyFor(header.kid);
    const signature = Buffer.from(signaturePart, "base64url");
    // Signed over the parts exactly as sent, padding and all; ES256 in a JWT is r || s (IEEE P1363), not DER.
    const signed = Buffer.from(`${headerPart}.${payloadPart}`, "ascii");
    if (signature.length !== 64 || !verify("sha256", signed, { key, dsaEncoding: "ieee-p1363" }, signature)) {
      throw new AlbIdentityError("the token's signature does not verify with the load balancer's public key");
    }

    const claims = jsonPart(payloadPart, "claims");
    const expiresAt = expiryOf(header.exp, claims.exp);
    if (now() > expiresAt + skewMs) throw new AlbIdentityError(`the token expired at ${new Date(expiresAt).toISOString()}; reload the page to sign in again`);

    const subject = claims.sub;
    if (typeof subject !== "string" || subject === "" || subject.length > 255) throw new AlbIdentityError("the token's claims carry no subject (sub)");
    if (identity !== undefined && identity !== subject) throw new AlbIdentityError("x-amzn-oidc-identity does not match the signed claims' subject (sub)");

    const email = readable(claims.email);
    const name = email ?? readable(claims.preferred_username) ?? readable(claims.username) ?? subject;
    return { subject, name, ...(email === undefined ? {} : { email }), groups: groupsOf(claims[groupsClaim]), expiresAt };
  };
}

function keyBaseOf(opts: AlbVerifierOptions): string {
  const problems: string[] = [];
  const { region } = opts;
  if (!REGION.test(region)) problems.push(`region "${region}" is not an AWS region name like "eu-west-1"`);
  else if (region.startsWith("cn-")) problems.push(`region "${region}": AWS documents no ALB public key endpoint for the China regions`);
  else if (region.startsWith("us-gov-") && !GOVCLOUD_KEYS.has(region)) problems.push(`region "${region}": AWS documents ALB public keys only for us-gov-west-1 and us-gov-east-1`);
  if (opts.albArns.length === 0) problems.push("albArns is empty: no token would be accepted");
  opts.albArns.forEach((arn, i) => {
    const m = ALB_ARN.exec(arn);
    if (!m) problems.push(`albArns[${i}] is not an Application Load Balancer ARN (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)`);
    else if (m[1] !== region) problems.push(`albArns[${i}] is in ${m[1]}, but region is ${region}: keys are fetched for the region`);
  });
  const skew = opts.clockSkewSeconds;
  if (skew !== undefined && !(Number.isFinite(skew) && skew >= 0)) problems.push("clockSkewSeconds must be a number of seconds, 0 or more");
  if (problems.length > 0) throw new Error(`albVerifier: ${problems.join("; ")}`);
  return GOVCLOUD_KEYS.get(region) ?? `https://public-keys.auth.elb.${region}.amazonaws.com`;
}

async function fetchPem(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
  return await response.text();
}

async function loadKey(url: string, fetchKey: (url: string) => Promise<string>): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await fetchKey(url);
  } catch (err) {
    throw new AlbIdentityError(`could not fetch the load balancer's public key from ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (err) {
    throw new AlbIdentityError(`${url} did not serve a PEM public key`, { cause: err });
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new AlbIdentityError(`${url} served a key that is not EC P-256, which ES256 needs`);
  }
  return key;
}

function isBase64Url(part: string): boolean {
  if (!PART.test(part)) return false;
  return part.includes("=") ? part.length % 4 === 0 : part.length % 4 !== 1;
}

function jsonPart(part: string, what: string): Record<string, unknown> {
  if (!isBase64Url(part)) throw new AlbIdentityError(`the token's ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new AlbIdentityError(`the token's ${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new AlbIdentityError(`the token's ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

// AWS documents exp in the header; ALBs also put it among the claims. Both are signed: the earlier wins.
function expiryOf(headerExp: unknown, claimsExp: unknown): number {
  const seconds = [headerExp, claimsExp].filter((e) => e !== undefined).map((e) => {
    const n = typeof e === "number" ? e : typeof e === "string" && /^[0-9]{1,12}$/.test(e) ? Number(e) : NaN;
    if (!(n >= 0 && n <= MAX_EXP_SECONDS)) throw new AlbIdentityError("the token's expiry (exp) is not a time in seconds");
    return n;
  });
  if (seconds.length === 0) throw new AlbIdentityError("the token has no expiry (exp)");
  return Math.min(...seconds) * 1000;
}

// A claim shown to people: a non-empty string of at most 256 characters, no control characters.
function readable(value: unknown): string | undefined {
  // eslint-disable-next-line no-control-regex
  return typeof value === "string" && value !== "" && value.length <= 256 && !/[\u0000-\u001f\u007f]/.test(value) ? value : undefined;
}

// IdPs send groups as a JSON array, a string holding one, or a comma- or space-separated list.
function groupsOf(value: unknown): string[] {
  let list: unknown[] = [];
  if (Array.isArray(value)) list = value;
  else if (typeof value === "string") {
    const text = value.trim();
    if (text.startsWith("[")) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (Array.isArray(parsed)) list = parsed;
      } catch {
        list = [];
      }
    } else {
      list = (text.includes(",") ? text.split(",") : text.split(/\s+/)).map((g) => g.trim());
    }
  }
  const groups: string[] = [];
  for (const g of list) {
    if (typeof g === "string" && GroupName.safeParse(g).success && !groups.includes(g)) groups.push(g);
  }
  return groups;
}
