// What must exist in the AWS account before a stack's `pulumi up`, computed from the loaded stack
// and the resources its program registers (captured under Pulumi's mocks): the artifact of every
// pinned release, every secret the catalogue names, the certificate and the names it must cover,
// the pinned AMI, the GitHub OIDC provider the deploy roles trust, and what counts against the
// VPC and Elastic IP quotas. Pure: no SDK, no files; aws-probe.ts asks AWS, aws.ts compares.
import { DATABASE_PASSWORD, type EnvironmentSpec } from "../config/index.ts";

/** Where a need comes from: the file and key a person would edit. */
export interface Source {
  file: string;
  path: string;
}

/** The part of a captured resource read here. */
export interface PlannedResource {
  type: string;
  name: string;
  /* eslint-disable-next-line @typescript-eslint/no-explicit-any -- resource inputs are untyped wire values */
  inputs: Record<string, any>;
}

export interface ArtifactNeed {
  app: string;
  release: string;
  bucket: string;
  /** What hosts fetch last and a complete push writes last: `<app>/<release>.sha256`. */
  key: string;
  source: Source;
}

export interface SecretNeed {
  app: string;
  name: string;
  parameter: string;
  source: Source;
}

export interface CertificateNeed {
  arn: string;
  region: string;
  account: string;
  /** Every host name a listener rule routes: each must be covered by the certificate. */
  domains: string[];
  source: Source;
}

export interface QuotaNeed {
  /** Service Quotas' codes, as AWS lists them. */
  serviceCode: "vpc" | "ec2";
  quotaCode: string;
  what: string;
  /** How many the stack's program creates. */
  planned: number;
  /** The tags of the stack's own ones: those that exist already count once, not twice. */
  ownTags: Record<string, string>;
}

export interface AwsNeeds {
  stack: string;
  region: string;
  /** The accounts the stack is bound to by its knobs (accountId, the certificate's), placeholders left out. */
  accounts: Array<{ id: string; source: Source; why: string }>;
  artifacts: ArtifactNeed[];
  secrets: SecretNeed[];
  certificate?: CertificateNeed;
  ami?: { id: string; architecture: string; source: Source };
  /** IAM OIDC providers (`token.actions.githubusercontent.com`) that a role's trust policy names. */
  oidcProviders: Array<{ host: string; roles: string[]; source: Source }>;
  quotas: QuotaNeed[];
  /** Values that are examples, not real resources: stop before asking AWS about them. */
  placeholders: Array<{ source: Source; message: string; hint: string }>;
}

/** Service Quotas' codes: "VPCs per Region" and "EC2-VPC Elastic IPs". */
export const QUOTAS = {
  vpcs: { serviceCode: "vpc", quotaCode: "L-F678F1CE", what: "VPCs per Region", type: "aws:ec2/vpc:Vpc" },
  elasticIps: { serviceCode: "ec2", quotaCode: "L-0263D0A3", what: "EC2-VPC Elastic IPs", type: "aws:ec2/eip:Eip" },
} as const;

/** The account AWS's documentation uses in examples (and this repository's sample stacks). */
export const EXAMPLE_ACCOUNT = "123456789012";
/** The AMI id AWS's documentation uses in examples. */
export const EXAMPLE_AMI = "ami-0123456789abcdef0";

export interface NeedsInput {
  spec: EnvironmentSpec;
  resources: readonly PlannedResource[];
  /** The artifact bucket and the SSM prefix its hosts read (HostPlan.stores). */
  stores: { artifactBucket: string; parameterPrefix: string };
  /** The file and key of a knob (`certificateArn`, `releases.shop`), whichever layer sets it. */
  knobAt: (knob: string) => Source;
  /** The file and key of a catalogue entry (`apps[1].secrets`, `github.repository`). */
  catalogueAt: (key: string) => Source;
}

/** The ARN's parts: `arn:aws:acm:<region>:<account>:certificate/<id>`. */
export function certificateArnParts(arn: string): { region: string; account: string; id: string } {
  const [, , , region = "", account = "", resource = ""] = arn.split(":");
  return { region, account, id: resource.slice("certificate/".length) };
}

/**
 * Whether a certificate name covers a host name, as ACM and browsers match them: case-insensitive,
 * and a `*` only as the whole leftmost label, standing for exactly one label (`*.example.com`
 * covers `www.example.com`, neither `example.com` nor `a.b.example.com`).
 */
export function covers(certName: string, host: string): boolean {
  const c = certName.toLowerCase().replace(/\.$/, "");
  const h = host.toLowerCase().replace(/\.$/, "");
  if (!c.startsWith("*.")) return c === h;
  const dot = h.indexOf(".");
  return dot > 0 && h.slice(dot + 1) === c.slice(2);
}

/** Host names the listener rules route (`conditions[].hostHeader.values`), sorted, once each. */
function routedHosts(resources: readonly PlannedResource[]): string[] {
  const hosts = new Set<string>();
  for (const r of resources) {
    if (r.type !== "aws:lb/listenerRule:ListenerRule") continue;
    for (const c of (r.inputs.conditions ?? []) as Array<{ hostHeader?: { values?: string[] } }>) for (const v of c.hostHeader?.values ?? []) hosts.add(v);
  }
  return [...hosts].sort();
}

/** `arn:aws:iam::<account>:oidc-provider/<host>` in the roles' trust policies: the providers they need. */
function oidcHosts(resources: readonly PlannedResource[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const r of resources) {
    if (r.type !== "aws:iam/role:Role") continue;
    const policy = typeof r.inputs.assumeRolePolicy === "string" ? r.inputs.assumeRolePolicy : JSON.stringify(r.inputs.assumeRolePolicy ?? "");
    for (const m of policy.matchAll(/:oidc-provider\/([A-Za-z0-9.-]+(?:\/[A-Za-z0-9._-]+)*)/g)) {
      found.set(m[1]!, [...(found.get(m[1]!) ?? []), String(r.inputs.name ?? r.name)]);
    }
  }
  return found;
}

export function awsNeeds(input: NeedsInput): AwsNeeds {
  const { spec, resources, stores } = input;
  const knobs = spec.knobs;
  const placeholders: AwsNeeds["placeholders"] = [];

  const artifacts: ArtifactNeed[] = spec.catalogue.apps.map((a) => {
    const release = knobs.releases[a.name]!;
    return { app: a.name, release, bucket: stores.artifactBucket, key: `${a.name}/${release}.sha256`, source: input.knobAt(`releases.${a.name}`) };
  });

  const secrets: SecretNeed[] = spec.catalogue.apps.flatMap((a, i) =>
    a.secrets.map((name) => ({ app: a.name, name, parameter: `${stores.parameterPrefix}/${a.name}/${name}`, source: input.catalogueAt(`apps[${i}].${a.database && name === DATABASE_PASSWORD ? "database" : "secrets"}`) })),
  );

  const accounts: AwsNeeds["accounts"] = [];
  if (knobs.accountId !== undefined) {
    const source = input.knobAt("accountId");
    if (knobs.accountId === EXAMPLE_ACCOUNT) {
      placeholders.push({
        source,
        message: `${EXAMPLE_ACCOUNT} is AWS's example account id, the sample stack's placeholder, not your account`,
        hint: "put the id of the account the stack deploys to here, in quotes (aws sts get-caller-identity --query Account --output text with that account's credentials)",
      });
    } else accounts.push({ id: knobs.accountId, source, why: "the stack deploys to it (its artifact bucket's name carries it)" });
  }

  let certificate: CertificateNeed | undefined;
  if (knobs.certificateArn !== undefined) {
    const source = input.knobAt("certificateArn");
    const parts = certificateArnParts(knobs.certificateArn);
    certificate = { arn: knobs.certificateArn, region: parts.region, account: parts.account, domains: routedHosts(resources), source };
    if (parts.account === EXAMPLE_ACCOUNT || /^0{8}-0{4}-/.test(parts.id)) {
      placeholders.push({
        source,
        message: `${knobs.certificateArn} is the sample stack's placeholder (account ${parts.account}${parts.account === EXAMPLE_ACCOUNT ? ", AWS's example account" : ""}), not a certificate of yours`,
        hint: `request one for ${certificate.domains.join(", ") || `*.${knobs.domain}`} (aws acm request-certificate --region ${knobs.region} --validation-method DNS --domain-name '*.${knobs.domain}'), validate it, and put its ARN here; or remove the key to serve plain HTTP`,
      });
    } else accounts.push({ id: parts.account, source, why: "a load balancer can use only a certificate of its own account" });
  }

  let ami: AwsNeeds["ami"];
  if (knobs.image) {
    const source = input.knobAt("image.ami");
    ami = { id: knobs.image.ami, architecture: knobs.image.architecture, source };
    if (knobs.image.ami === EXAMPLE_AMI) {
      placeholders.push({
        source,
        message: `${EXAMPLE_AMI} is AWS's example AMI id, a placeholder, not an image of yours`,
        hint: "build the stack's AMI with its Image Builder pipeline (docs/aws.md, \"The image\") and pin its id with the recipe hash",
      });
    }
  }

  const oidcProviders = [...oidcHosts(resources)].map(([host, roles]) => ({ host, roles, source: input.catalogueAt("github.repository") }));

  const quotas: QuotaNeed[] = Object.values(QUOTAS).map((q) => {
    const planned = resources.filter((r) => r.type === q.type);
    return { serviceCode: q.serviceCode, quotaCode: q.quotaCode, what: q.what, planned: planned.length, ownTags: ownTags(planned) };
  });

  return { stack: spec.stack, region: knobs.region, accounts, artifacts, secrets, ...(certificate ? { certificate } : {}), ...(ami ? { ami } : {}), oidcProviders, quotas, placeholders };
}

/** The tags the planned resources share that say whose they are (Project, Stack). */
function ownTags(planned: readonly PlannedResource[]): Record<string, string> {
  const tags = (planned[0]?.inputs.tags ?? {}) as Record<string, string>;
  return Object.fromEntries(["Project", "Stack"].filter((k) => typeof tags[k] === "string").map((k) => [k, tags[k]!]));
}
