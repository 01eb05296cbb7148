// Finds secret-looking values in user-data and in the bundles hosts fetch by it: what must never be
// there, since every host, every `describe-launch-template-versions` caller, every reader of the
// artifact bucket and Pulumi's state can read them.
/// <reference types="node" />
import { gunzipSync } from "node:zlib";

export interface SecretFinding {
  /** What it looks like, e.g. "an AWS access key id". */
  what: string;
  /** 1-based line of the decoded user-data. */
  line: number;
}

/** EC2 user-data as cloud-init reads it: base64, then gzip when it starts with 1f 8b. */
export function decodeUserData(value: string): string {
  const compact = value.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return value; // not base64: scan as given
  const bytes = Buffer.from(compact, "base64");
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  return raw.toString("utf8");
}

export interface DecodedFile {
  /** The file's path in a tarball, or "" for an object that is not one. */
  path: string;
  text: string;
}

const TAR_BLOCK = 512;
const tarText = (b: Buffer, offset: number, width: number) => b.subarray(offset, offset + width).toString("utf8").replace(/\0[\s\S]*$/, "");

/**
 * An S3 object's content as hosts read it: base64 undone, then gzip, then, for a ustar archive
 * (a host's bundle, which its stage-1 script unpacks over /), each regular file of it by path.
 */
export function decodeObject(contentBase64: string): DecodedFile[] {
  const bytes = Buffer.from(contentBase64.replace(/\s+/g, ""), "base64");
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  if (raw.length < TAR_BLOCK || tarText(raw, 257, 5) !== "ustar") return [{ path: "", text: raw.toString("utf8") }];
  const files: DecodedFile[] = [];
  for (let at = 0; at + TAR_BLOCK <= raw.length; ) {
    const h = raw.subarray(at, at + TAR_BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = Number.parseInt(tarText(h, 124, 12).trim() || "0", 8);
    const prefix = tarText(h, 345, 155);
    const type = tarText(h, 156, 1);
    if (type === "0" || type === "") files.push({ path: `${prefix ? `${prefix}/` : ""}${tarText(h, 0, 100)}`, text: raw.subarray(at + TAR_BLOCK, at + TAR_BLOCK + size).toString("utf8") });
    at += TAR_BLOCK + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
  }
  return files;
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

/**
 * A value that names where a secret comes from rather than being one: an SSM parameter path,
 * a shell or template reference, an ARN, nothing at all.
 */
function isReference(value: string): boolean {
  const v = value.replace(/^["'(]+|["',;)]+$/g, "");
  // `${DB_PASSWORD:-}`: a shell expansion with an empty default (a default with text is a value).
  return v === "" || /^(\/|\$|\{\{|arn:|ssm:|<)/.test(v) || /^[-=?+]?\}/.test(v);
}

interface Pattern {
  what: string;
  re: RegExp;
  /** Group holding the assigned value: findings whose value is a reference are not secrets. */
  valueGroup?: number;
  accept?: (m: RegExpExecArray) => boolean;
}

const HIGH_ENTROPY_BITS = 3.5;

const PATTERNS: readonly Pattern[] = [
  { what: "an AWS access key id", re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { what: "a private key", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/g },
  {
    what: "a password",
    re: /password\s*[:=]\s*(\S+)/gi,
    valueGroup: 1,
    // SQL's `PASSWORD :'pw'` in a psql script: the value of a psql variable, set from the environment.
    accept: (m) => !/^password\s+:(['"])[A-Za-z_][A-Za-z0-9_]*\1/i.test(m[0]),
  },
  { what: "a secret key", re: /secret[_-]?key["']?\s*[:=]\s*(\S*)/gi, valueGroup: 1 },
  {
    what: "a high-entropy value assigned to a *_KEY, *_TOKEN, *_SECRET or *PASSWORD name",
    re: /\b[A-Za-z0-9_]*(?:_KEY|_TOKEN|_SECRET|PASSWORD)["']?\s*[:=]\s*["']?([A-Za-z0-9+/=_\-.~]{20,})/gi,
    valueGroup: 1,
    accept: (m) => entropy(m[1]!) >= HIGH_ENTROPY_BITS,
  },
];

/** Every secret-looking value in a text, by line; values are never repeated in the findings. */
export function findSecrets(text: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const lines = text.split("\n");
  lines.forEach((lineText, i) => {
    for (const p of PATTERNS) {
      for (const m of lineText.matchAll(p.re)) {
        if (p.valueGroup !== undefined && isReference(m[p.valueGroup] ?? "")) continue;
        if (p.accept && !p.accept(m as RegExpExecArray)) continue;
        findings.push({ what: p.what, line: i + 1 });
        break;
      }
    }
  });
  return findings;
}
