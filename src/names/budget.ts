/** AWS name limits that fawkes names run into. */
export const NAME_LIMITS = {
  alb: 32,
  targetGroup: 32,
  s3Bucket: 63,
  iamRole: 64,
  iamInstanceProfile: 128,
  /** Customer managed IAM policies (the deploy console's, one per managed stack). */
  iamPolicy: 128,
  launchTemplate: 128,
  autoScalingGroup: 255,
  securityGroup: 255,
  logGroup: 512,
  snsTopic: 256,
  sqsQueue: 80,
  /** CloudWatch alarm names. */
  alarm: 255,
  /** EventBridge rule names. */
  eventRule: 64,
  /** AWS Backup vault, plan and selection names. */
  backup: 50,
  /** RDS instance identifiers: letters, digits and '-', a letter first (what every budget name is). */
  rdsInstance: 63,
  /** RDS DB subnet group and parameter group names. */
  rdsGroup: 255,
  /** RDS snapshot identifiers (the final snapshot of a protected database). */
  rdsSnapshot: 255,
  /** A KMS alias after its `alias/` prefix (256 in all). */
  kmsAlias: 250,
  /** EC2 Image Builder components, recipes, infrastructure and distribution configurations, pipelines. */
  imageBuilder: 128,
  /** What fawkes names an AMI before Image Builder appends `-{{imagebuilder:buildDate}}` (128 in all). */
  amiName: 100,
  dnsLabel: 63,
  /** Value of a tag, e.g. `Name` of a VPC or subnet. */
  tag: 256,
} as const;
export type NameKind = keyof typeof NAME_LIMITS;

/** 32-bit FNV-1a as 8 hex digits (36 bits would not fit every budget; 32 is plenty per stack). */
export function shortHash(text: string, length = 6): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0").slice(0, length);
}

/** Lowercase, a-z0-9 and '-', no leading, trailing or doubled '-'. */
export function slug(text: string): string {
  return text
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * The one way fawkes names AWS resources: `<parts joined by '-'>`, slugged, within the limit of
 * its kind. A name that had to be changed to fit (cut, or characters replaced) ends in a hash of
 * the parts as given, so distinct inputs stay distinct and the same parts always give the same name.
 */
export function budgetName(kind: NameKind, ...parts: string[]): string {
  const limit = NAME_LIMITS[kind];
  const full = parts.map(slug).filter((p) => p.length > 0).join("-");
  const name = /^[a-z]/.test(full) ? full : full === "" ? "f" : `f-${full}`;
  const lossless = name === parts.join("-");
  if (lossless && name.length <= limit) return name;
  const hash = shortHash(parts.join("\u0000"));
  const head = name.slice(0, limit - hash.length - 1).replace(/-+$/, "");
  return `${head}-${hash}`;
}
