// The console's sign-in on AWS: tokens signed here the way the ALB signs x-amzn-oidc-data (ES256,
// base64url with `=` padding), checked against what AWS says a target must check. No network: the
// key fetch is a stub that records the URLs it was asked for.
import { createHmac, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { AlbIdentityError, albVerifier, type AlbVerifierOptions } from "../../src/console/alb-identity.ts";

const REGION = "eu-west-1";
const ALB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/fawkes-console/50dc6c495c0c9188";
const OTHER_ALB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/someone-else/0123456789abcdef";
const KID = "6db77464-4ac6-4968-9ec9-a6c669649ba1";
const NOW = Date.UTC(2026, 0, 15, 9, 0, 0);
const EXP = NOW / 1000 + 600;

interface Signer {
  privateKey: KeyObject;
  pem: string;
}

function keyPair(curve = "P-256"): Signer {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: curve });
  return { privateKey, pem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

function b64(data: string | Buffer, pad: boolean): string {
  const s = Buffer.from(data).toString("base64url");
  return pad ? s.padEnd(Math.ceil(s.length / 4) * 4, "=") : s;
}

function albHeader(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { typ: "JWT", kid: KID, alg: "ES256", iss: "https://idp.example.com", client: "console-client", signer: ALB, exp: EXP, ...extra };
}

function albClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: "u-1234", email: "ada@example.com", groups: ["deployers", "admins"], exp: EXP, iss: "https://idp.example.com", ...extra };
}

/** Signs as the ALB does: ES256 (r || s) over header.payload exactly as encoded, padding included. */
function albToken(key: Signer, header = albHeader(), claims = albClaims(), pad = true): string {
  const signingInput = `${b64(JSON.stringify(header), pad)}.${b64(JSON.stringify(claims), pad)}`;
  const signature = sign("sha256", Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  return `${signingInput}.${b64(signature, pad)}`;
}

function setup(key: Signer, extra: Partial<AlbVerifierOptions> = {}) {
  const fetchKey = vi.fn(async (_url: string) => key.pem);
  const check = albVerifier({ region: REGION, albArns: [ALB], fetchKey, now: () => NOW, ...extra });
  return { check, fetchKey };
}

async function refusal(p: Promise<unknown>): Promise<AlbIdentityError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AlbIdentityError);
  return err as AlbIdentityError;
}

describe("albVerifier: a token the ALB signed", () => {
  it("gives the user, their valid groups and the expiry; the padded token verifies over its bytes as sent", async () => {
    const key = keyPair();
    const { check, fetchKey } = setup(key);
    const token = albToken(key, albHeader(), albClaims({ groups: ["deployers", "admins", "../etc", "deployers", 7] }));
    expect(token).toMatch(/=\./); // padded, as the ALB sends it
    expect(await check({ oidcData: token, identity: "u-1234" })).toEqual({
      subject: "u-1234",
      name: "ada@example.com",
      email: "ada@example.com",
      groups: ["deployers", "admins"],
      expiresAt: EXP * 1000,
    });
    expect(fetchKey).toHaveBeenCalledWith(`https://public-keys.auth.elb.eu-west-1.amazonaws.com/${KID}`);
  });

  it("verifies the same token without padding too", async () => {
    const key = keyPair();
    const token = albToken(key, albHeader(), albClaims(), false);
    expect(token).not.toContain("=");
    expect((await setup(key).check({ oidcData: token })).subject).toBe("u-1234");
  });

  it("reads groups sent as a JSON array in a string, a comma-separated or a space-separated list", async () => {
    const key = keyPair();
    const { check } = setup(key);
    const groupsOf = async (groups: unknown) => (await check({ oidcData: albToken(key, albHeader(), albClaims({ groups })) })).groups;
    expect(await groupsOf('["deployers","ops team"]')).toEqual(["deployers", "ops team"]);
    expect(await groupsOf("deployers, ops team ,admins")).toEqual(["deployers", "ops team", "admins"]);
    expect(await groupsOf("deployers admins")).toEqual(["deployers", "admins"]);
    expect(await groupsOf("[not json")).toEqual([]);
    expect(await groupsOf(undefined)).toEqual([]);
    expect(await groupsOf({ admins: true })).toEqual([]);
  });

  it("reads Cognito's cognito:groups when told to, and then not the plain groups claim", async () => {
    const key = keyPair();
    const { check } = setup(key, { groupsClaim: "cognito:groups" });
    const token = albToken(key, albHeader(), albClaims({ groups: ["admins"], "cognito:groups": ["deployers"] }));
    expect((await check({ oidcData: token })).groups).toEqual(["deployers"]);
  });

  it("names the user by email, else preferred_username, else username, else sub", async () => {
    const key = keyPair();
    const { check } = setup(key);
    const nameOf = async (claims: Record<string, unknown>) => {
      const id = await check({ oidcData: albToken(key, albHeader(), { sub: "u-1", ...claims }) });
      return [id.name, id.email];
    };
    expect(await nameOf({ email: "a@example.com", preferred_username: "ada" })).toEqual(["a@example.com", "a@example.com"]);
    expect(await nameOf({ preferred_username: "ada", username: "alovelace" })).toEqual(["ada", undefined]);
    expect(await nameOf({ email: "bad\nline@example.com", username: "alovelace" })).toEqual(["alovelace", undefined]);
    expect(await nameOf({})).toEqual(["u-1", undefined]);
  });

  it("accepts x-amzn-oidc-identity only when it is the signed sub", async () => {
    const key = keyPair();
    const { check } = setup(key);
    const token = albToken(key);
    expect((await check({ oidcData: token, identity: "u-1234" })).subject).toBe("u-1234");
    expect((await refusal(check({ oidcData: token, identity: "u-9999" }))).message).toMatch(/x-amzn-oidc-identity does not match/);
  });
});

describe("albVerifier refuses", () => {
  it("a request without the header, or one that is not three parts", async () => {
    const { check } = setup(keyPair());
    expect((await refusal(check({}))).message).toMatch(/no x-amzn-oidc-data header/);
    expect((await refusal(check({ oidcData: "a.b" }))).message).toMatch(/three parts/);
    expect((await refusal(check({ oidcData: "x".repeat(20_000) }))).message).toMatch(/longer than/);
  });

  it("an expired token, allowing the clock skew; and a token without exp", async () => {
    const key = keyPair();
    const past = NOW / 1000 - 61;
    const expired = albToken(key, albHeader({ exp: past }), albClaims({ exp: past }));
    const err = await refusal(setup(key).check({ oidcData: expired }));
    expect(err.message).toMatch(/^the token expired at 2026-01-15T08:58:59\.000Z/);
    expect(err.message).not.toContain(expired.split(".")[1]);
    // 61 s late is within a 120 s skew
    expect((await setup(key, { clockSkewSeconds: 120 }).check({ oidcData: expired })).expiresAt).toBe(past * 1000);
    // the earlier of the header's and the claims' exp counts
    const claimsExpired = albToken(key, albHeader(), albClaims({ exp: past }));
    expect((await refusal(setup(key).check({ oidcData: claimsExpired }))).message).toMatch(/expired/);
    const { exp: _h, ...header } = albHeader();
    const { exp: _c, ...claims } = albClaims();
    expect((await refusal(setup(key).check({ oidcData: albToken(key, header, claims) }))).message).toMatch(/no expiry/);
    for (const exp of ["soon", -1e300, 1e300, null]) {
      expect((await refusal(setup(key).check({ oidcData: albToken(key, albHeader({ exp })) }))).message, String(exp)).toMatch(/expiry \(exp\) is not a time/);
    }
    // AWS's docs show exp as a string; a string of digits is read as seconds
    expect((await setup(key).check({ oidcData: albToken(key, albHeader({ exp: String(EXP) }), claims) })).expiresAt).toBe(EXP * 1000);
  });

  it("a token signed by another key under the same kid", async () => {
    const ours = keyPair();
    const forger = keyPair();
    const { check } = setup(ours);
    expect((await refusal(check({ oidcData: albToken(forger) }))).message).toMatch(/signature does not verify/);
  });

  it("claims changed after signing (groups widened), padded or not", async () => {
    const key = keyPair();
    const { check } = setup(key);
    for (const pad of [true, false]) {
      const [h, , s] = albToken(key, albHeader(), albClaims({ groups: ["viewers"] }), pad).split(".");
      const widened = b64(JSON.stringify(albClaims({ groups: ["viewers", "admins"] })), pad);
      const err = await refusal(check({ oidcData: `${h}.${widened}.${s}` }));
      expect(err.message).toMatch(/signature does not verify/);
      expect(err.message).not.toContain(widened);
    }
    // stripping the padding changes the bytes signed: the ALB's padded token is verified as sent
    const padded = albToken(key);
    expect(padded).toMatch(/=\./);
    const [h, p, s] = padded.split(".") as [string, string, string];
    expect((await refusal(check({ oidcData: `${h.replace(/=+$/, "")}.${p.replace(/=+$/, "")}.${s}` }))).message).toMatch(/signature/);
  });

  it("a token whose signer is not one of the console's load balancers, before fetching a key", async () => {
    const key = keyPair();
    const { check, fetchKey } = setup(key);
    expect((await refusal(check({ oidcData: albToken(key, albHeader({ signer: OTHER_ALB })) }))).message).toBe(
      `the token was signed by ${OTHER_ALB}, which is not this console's load balancer`,
    );
    expect((await refusal(check({ oidcData: albToken(key, albHeader({ signer: "<script>" })) }))).message).toMatch(/by a missing or malformed signer/);
    expect(fetchKey).not.toHaveBeenCalled();
    // several ALBs may be allowed
    expect((await setup(key, { albArns: [ALB, OTHER_ALB] }).check({ oidcData: albToken(key, albHeader({ signer: OTHER_ALB })) })).subject).toBe("u-1234");
  });

  it('alg "none" and HS256 keyed with the public key, before fetching a key', async () => {
    const key = keyPair();
    const { check, fetchKey } = setup(key);
    const encode = (header: Record<string, unknown>) => `${b64(JSON.stringify(header), false)}.${b64(JSON.stringify(albClaims({ groups: ["admins"] })), false)}`;
    const none = `${encode(albHeader({ alg: "none" }))}.`;
    expect((await refusal(check({ oidcData: none }))).message).toBe('the token is signed with "none"; the load balancer signs with ES256');
    const hsInput = encode(albHeader({ alg: "HS256" }));
    const hs = `${hsInput}.${createHmac("sha256", key.pem).update(hsInput).digest("base64url")}`;
    expect((await refusal(check({ oidcData: hs }))).message).toMatch(/"HS256"; the load balancer signs with ES256/);
    expect((await refusal(check({ oidcData: albToken(key, albHeader({ alg: undefined })) }))).message).toMatch(/missing or unknown algorithm/);
    expect(fetchKey).not.toHaveBeenCalled();
  });

  it("a hostile kid, before anything is fetched", async () => {
    const key = keyPair();
    const { check, fetchKey } = setup(key);
    for (const kid of ["../x", "a/b", "x?y", "@evil.example", "x#y", "%2e%2e", "a.b", "", " ", "k".repeat(129), 42, null]) {
      const err = await refusal(check({ oidcData: albToken(key, albHeader({ kid })) }));
      expect(err.message, String(kid)).toMatch(/key id \(kid\)/);
    }
    expect(fetchKey).not.toHaveBeenCalled();
  });

  it("a header or signature that is not base64url, which Node's lenient decoder would otherwise read", async () => {
    const key = keyPair();
    const { check, fetchKey } = setup(key);
    const [h, p, s] = albToken(key).split(".") as [string, string, string];
    expect((await refusal(check({ oidcData: `${h}!.${p}.${s}` }))).message).toMatch(/header is not base64url/);
    expect((await refusal(check({ oidcData: `${h}.${p}.${s}+/` }))).message).toMatch(/not base64url/);
    expect((await refusal(check({ oidcData: `${b64("[1]", false)}.${p}.${s}` }))).message).toMatch(/not a JSON object/);
    // padding must make whole groups of four; five characters never come out of base64
    expect((await refusal(check({ oidcData: `${h}.${p}.${s}=` }))).message).toMatch(/not base64url/);
    expect((await refusal(check({ oidcData: `${h}.${p}.${s.replace(/=+$/, "")}AAA` }))).message).toMatch(/not base64url/);
    expect(fetchKey).not.toHaveBeenCalled();
  });

  it("a signature in DER rather than the JWT's r || s, though the same key made it", async () => {
    const key = keyPair();
    const [h, p] = albToken(key).split(".") as [string, string];
    const der = sign("sha256", Buffer.from(`${h}.${p}`), key.privateKey);
    expect((await refusal(setup(key).check({ oidcData: `${h}.${p}.${b64(der, true)}` }))).message).toMatch(/signature does not verify/);
  });
});

describe("albVerifier's public keys", () => {
  it("are fetched from the region's endpoint, and GovCloud's S3 buckets", async () => {
    const key = keyPair();
    const urlFor = async (region: string) => {
      const signer = ALB.replace("eu-west-1", region).replace("arn:aws:", region.startsWith("us-gov-") ? "arn:aws-us-gov:" : "arn:aws:");
      const { check, fetchKey } = setup(key, { region, albArns: [signer] });
      await check({ oidcData: albToken(key, albHeader({ signer })) });
      return fetchKey.mock.calls.map(([url]) => url);
    };
    expect(await urlFor("ap-southeast-2")).toEqual([`https://public-keys.auth.elb.ap-southeast-2.amazonaws.com/${KID}`]);
    expect(await urlFor("us-gov-west-1")).toEqual([`https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1/${KID}`]);
    expect(await urlFor("us-gov-east-1")).toEqual([`https://s3-us-gov-east-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-east-1/${KID}`]);
  });

  it("are fetched once per kid, also for requests at the same moment", async () => {
    const key = keyPair();
    const { check, fetchKey } = setup(key);
    await Promise.all([check({ oidcData: albToken(key) }), check({ oidcData: albToken(key) })]);
    await check({ oidcData: albToken(key, albHeader(), albClaims({ sub: "u-2" })) });
    expect(fetchKey).toHaveBeenCalledTimes(1);
    await check({ oidcData: albToken(key, albHeader({ kid: "another-kid" })) });
    expect(fetchKey.mock.calls.map(([url]) => url)).toEqual([
      `https://public-keys.auth.elb.eu-west-1.amazonaws.com/${KID}`,
      "https://public-keys.auth.elb.eu-west-1.amazonaws.com/another-kid",
    ]);
  });

  it("are kept for 64 kids at most: the least recently used is fetched again", async () => {
    const key = keyPair();
    const { check, fetchKey } = setup(key);
    const withKid = (kid: string) => check({ oidcData: albToken(key, albHeader({ kid })) });
    for (let i = 0; i < 64; i++) await withKid(`kid-${i}`);
    await withKid("kid-0"); // used again: now the most recent
    await withKid("kid-64"); // evicts kid-1
    expect(fetchKey).toHaveBeenCalledTimes(65);
    await withKid("kid-0");
    expect(fetchKey).toHaveBeenCalledTimes(65);
    await withKid("kid-1");
    expect(fetchKey).toHaveBeenCalledTimes(66);
  });

  it("are fetched again after a failed fetch, which gives an AlbIdentityError", async () => {
    const key = keyPair();
    const fetchKey = vi.fn(async (_url: string) => key.pem).mockRejectedValueOnce(new Error("HTTP 503"));
    const check = albVerifier({ region: REGION, albArns: [ALB], fetchKey, now: () => NOW });
    const err = await refusal(check({ oidcData: albToken(key) }));
    expect(err.message).toBe(`could not fetch the load balancer's public key from https://public-keys.auth.elb.eu-west-1.amazonaws.com/${KID}: HTTP 503`);
    expect((await check({ oidcData: albToken(key) })).subject).toBe("u-1234");
    expect(fetchKey).toHaveBeenCalledTimes(2);
  });

  it("must be PEM of an EC P-256 key, and are not kept when they are not", async () => {
    const key = keyPair();
    const fetchKey = vi.fn(async (_url: string) => key.pem).mockResolvedValueOnce("<html>not found</html>").mockResolvedValueOnce(keyPair("P-384").pem);
    const check = albVerifier({ region: REGION, albArns: [ALB], fetchKey, now: () => NOW });
    expect((await refusal(check({ oidcData: albToken(key) }))).message).toMatch(/did not serve a PEM public key$/);
    expect((await refusal(check({ oidcData: albToken(key) }))).message).toMatch(/not EC P-256/);
    expect((await check({ oidcData: albToken(key) })).subject).toBe("u-1234");
  });
});

describe("albVerifier's options", () => {
  const fetchKey = async () => "";
  it("name every problem at once: region, ALB ARNs, skew", () => {
    expect(() => albVerifier({ region: "eu-west-1/../x", albArns: [], fetchKey })).toThrow(
      /^albVerifier: region "eu-west-1\/\.\.\/x" is not an AWS region name like "eu-west-1"; albArns is empty: no token would be accepted$/,
    );
    expect(() => albVerifier({ region: "eu-west-1", albArns: [ALB.replace("eu-west-1", "us-east-1"), "arn:aws:s3:::bucket"], clockSkewSeconds: -1, fetchKey })).toThrow(
      "albVerifier: albArns[0] is in us-east-1, but region is eu-west-1: keys are fetched for the region; albArns[1] is not an Application Load Balancer ARN (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>); clockSkewSeconds must be a number of seconds, 0 or more",
    );
  });

  it("refuse regions whose key endpoint AWS does not document", () => {
    expect(() => albVerifier({ region: "cn-north-1", albArns: [ALB.replace("arn:aws:", "arn:aws-cn:").replace("eu-west-1", "cn-north-1")], fetchKey })).toThrow(/China/);
    expect(() => albVerifier({ region: "us-gov-north-1", albArns: [ALB.replace("arn:aws:", "arn:aws-us-gov:").replace("eu-west-1", "us-gov-north-1")], fetchKey })).toThrow(/us-gov-west-1 and us-gov-east-1/);
  });
});
