// The names AWS refuses, as its documentation states them: one pure module, so `fawkes check`
// says so before a deploy fails halfway. Each rule answers what is wrong and what would be right,
// or undefined for a name AWS accepts.

/**
 * S3 general purpose bucket names (docs: "General purpose bucket naming rules"): 3-63 characters
 * of a-z, 0-9, '.' and '-', beginning and ending with a letter or digit; no two adjacent periods;
 * not formatted as an IP address; not beginning with `xn--`, `sthree-` or `amzn-s3-demo-`; not
 * ending with `-s3alias`, `--ol-s3`, `.mrap` or `--x-s3` (reserved for access points, Multi-Region
 * Access Points and directory buckets). Bucket names are global across all accounts.
 */
export function s3BucketNameProblem(name: string): string | undefined {
  const right = "3-63 characters of a-z, 0-9, '.' and '-', a letter or digit at both ends";
  if (name.length < 3 || name.length > 63) return `bucket name "${name}" is ${name.length} characters; S3 needs ${right}`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return `bucket name "${name}" is not ${right}`;
  if (name.includes("..")) return `bucket name "${name}" has two adjacent periods, which S3 refuses`;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return `bucket name "${name}" is formatted as an IP address, which S3 refuses; use a name with letters`;
  for (const prefix of ["xn--", "sthree-", "amzn-s3-demo-"]) {
    if (name.startsWith(prefix)) return `bucket name "${name}" begins with "${prefix}", a prefix S3 reserves; begin with anything else`;
  }
  for (const suffix of ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]) {
    if (name.endsWith(suffix)) return `bucket name "${name}" ends with "${suffix}", a suffix S3 reserves; end with anything else`;
  }
  return undefined;
}

/** EC2 security group names (CreateSecurityGroup): up to 255 characters, and not beginning with `sg-`, which EC2 keeps for group ids. */
export function securityGroupNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 255) return `security group name "${name}" is ${name.length} characters; EC2 needs 1-255`;
  if (/^sg-/i.test(name)) return `security group name "${name}" begins with "sg-", which EC2 refuses (it is how group ids begin); begin with anything else`;
  return undefined;
}

/**
 * SSM Parameter Store names (docs: "Parameter name requirements"): a-z, A-Z, 0-9 and `_.-/`;
 * a path (beginning with '/') of at most 15 levels; not beginning with `aws` or `ssm` (any case),
 * with or without the leading '/'; at most 1011 characters in all, ARN prefix excluded.
 */
export function ssmParameterNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9_.\-/]+$/.test(name)) return `SSM parameter "${name}" has characters Parameter Store refuses; it allows a-z, A-Z, 0-9, '_', '.', '-' and '/'`;
  if (/^\/?(aws|ssm)/i.test(name)) return `SSM parameter "${name}" begins with "${/^\/?(aws|ssm)/i.exec(name)![0]}", which Parameter Store reserves (names beginning with aws or ssm, with or without '/'); use a project name that does not begin with aws or ssm`;
  if (name.length > 1011) return `SSM parameter "${name.slice(0, 40)}…" is ${name.length} characters; Parameter Store allows 1011`;
  if (name.startsWith("/") && name.split("/").length - 1 > 15) return `SSM parameter "${name}" has ${name.split("/").length - 1} levels; Parameter Store allows 15`;
  return undefined;
}

/** An AWS account id: 12 digits (leading zeros are part of it). */
export const ACCOUNT_ID = /^\d{12}$/;
