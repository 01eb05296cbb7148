// The AWS calls of `fawkes check --target aws`, each answering one question with plain facts;
// aws.ts judges them. Read-only calls only, all through the one client factory (src/aws/clients.ts):
// STS GetCallerIdentity, S3 HeadBucket/HeadObject, SSM DescribeParameters (metadata, never a value),
// ACM DescribeCertificate, EC2 DescribeImages/DescribeVpcs/DescribeAddresses, Service Quotas
// GetServiceQuota (GetAWSDefaultServiceQuota when none is applied), IAM ListOpenIDConnectProviders.
import { awsClient, s3Client } from "../aws/clients.ts";
import { ssmSecretStore, type SecretState } from "../secrets/index.ts";

/** A call AWS refused or failed: its error's name and message, for a person to read. */
export class ProbeError extends Error {}

const nameOf = (e: unknown) => (e as { name?: string })?.name ?? "";
const statusOf = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;

function failed(op: string, e: unknown, needs: string): ProbeError {
  const name = nameOf(e);
  return new ProbeError(`${op} failed: ${name && name !== "Error" ? `${name}: ` : ""}${(e as Error)?.message ?? String(e)} (the caller needs ${needs})`);
}

export interface Certificate {
  status: string;
  names: string[];
  type?: string;
}

export interface Image {
  state: string;
  architecture: string;
  name?: string;
}

/** Every question the check asks AWS; tests mock the SDK beneath it, not this. */
export interface AwsProbe {
  identity(): Promise<{ account: string; arn: string }>;
  /** true when there, false when S3 says 404; a 403 is an error (no s3:ListBucket hides a missing object). */
  bucketExists(bucket: string): Promise<boolean>;
  objectExists(bucket: string, key: string): Promise<boolean>;
  /** The secrets stored under `<prefix>/<app>/`, by name (metadata only). */
  secrets(prefix: string, app: string): Promise<Map<string, SecretState>>;
  certificate(arn: string): Promise<Certificate | undefined>;
  image(id: string): Promise<Image | undefined>;
  /** The quota's value in this account and region (the applied one, else AWS's default). */
  quota(serviceCode: string, quotaCode: string): Promise<number>;
  /** How many VPCs or VPC Elastic IPs the region has, and how many carry `tags`. */
  usage(kind: "vpc" | "ec2", tags: Record<string, string>): Promise<{ total: number; own: number }>;
  /** The hosts (`token.actions.githubusercontent.com`) of the account's IAM OIDC providers. */
  oidcProviders(): Promise<string[]>;
}

const MAX_PAGES = 100;

export function awsProbe(region: string): AwsProbe {
  const hasTags = (have: Array<{ Key?: string; Value?: string }> | undefined, want: Record<string, string>) =>
    Object.keys(want).length > 0 && Object.entries(want).every(([k, v]) => (have ?? []).some((t) => t.Key === k && t.Value === v));

  return {
    async identity() {
      const sdk = await import("@aws-sdk/client-sts");
      try {
        const r = await awsClient(sdk.STSClient, region).send(new sdk.GetCallerIdentityCommand({}));
        return { account: r.Account ?? "", arn: r.Arn ?? "" };
      } catch (e) {
        throw failed("STS GetCallerIdentity", e, "AWS credentials from the SDK's default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO or a role");
      }
    },
    async bucketExists(bucket) {
      const sdk = await import("@aws-sdk/client-s3");
      try {
        await (await s3Client(sdk.S3Client, region)).send(new sdk.HeadBucketCommand({ Bucket: bucket }));
        return true;
      } catch (e) {
        if (statusOf(e) === 404 || nameOf(e) === "NotFound" || nameOf(e) === "NoSuchBucket") return false;
        throw failed(`S3 HeadBucket s3://${bucket}`, e, "s3:ListBucket on the bucket");
      }
    },
    async objectExists(bucket, key) {
      const sdk = await import("@aws-sdk/client-s3");
      try {
        await (await s3Client(sdk.S3Client, region)).send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch (e) {
        if (statusOf(e) === 404 || nameOf(e) === "NotFound" || nameOf(e) === "NoSuchKey") return false;
        throw failed(`S3 HeadObject s3://${bucket}/${key}`, e, "s3:GetObject and s3:ListBucket on the bucket (without ListBucket S3 answers 403 for a missing object)");
      }
    },
    secrets: (prefix, app) => ssmSecretStore({ prefix, region }).list(app),
    async certificate(arn) {
      const sdk = await import("@aws-sdk/client-acm");
      try {
        const c = (await awsClient(sdk.ACMClient, region).send(new sdk.DescribeCertificateCommand({ CertificateArn: arn }))).Certificate;
        return { status: c?.Status ?? "UNKNOWN", names: [...new Set([c?.DomainName, ...(c?.SubjectAlternativeNames ?? [])].filter((n): n is string => !!n))], ...(c?.Type ? { type: c.Type } : {}) };
      } catch (e) {
        if (nameOf(e) === "ResourceNotFoundException") return undefined;
        throw failed(`ACM DescribeCertificate ${arn}`, e, "acm:DescribeCertificate");
      }
    },
    async image(id) {
      const sdk = await import("@aws-sdk/client-ec2");
      try {
        const img = (await awsClient(sdk.EC2Client, region).send(new sdk.DescribeImagesCommand({ ImageIds: [id] }))).Images?.[0];
        return img ? { state: img.State ?? "unknown", architecture: img.Architecture ?? "unknown", ...(img.Name ? { name: img.Name } : {}) } : undefined;
      } catch (e) {
        if (/^InvalidAMIID\.(NotFound|Unavailable)$/.test(nameOf(e))) return undefined;
        throw failed(`EC2 DescribeImages ${id}`, e, "ec2:DescribeImages");
      }
    },
    async quota(serviceCode, quotaCode) {
      const sdk = await import("@aws-sdk/client-service-quotas");
      const client = awsClient(sdk.ServiceQuotasClient, region);
      try {
        const v = (await client.send(new sdk.GetServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }))).Quota?.Value;
        if (v !== undefined) return v;
      } catch (e) {
        if (nameOf(e) !== "NoSuchResourceException") throw failed(`Service Quotas GetServiceQuota ${serviceCode}/${quotaCode}`, e, "servicequotas:GetServiceQuota");
      }
      try {
        const v = (await client.send(new sdk.GetAWSDefaultServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }))).Quota?.Value;
        if (v === undefined) throw new Error("no value in the answer");
        return v;
      } catch (e) {
        throw failed(`Service Quotas GetAWSDefaultServiceQuota ${serviceCode}/${quotaCode}`, e, "servicequotas:GetAWSDefaultServiceQuota");
      }
    },
    async usage(kind, tags) {
      const sdk = await import("@aws-sdk/client-ec2");
      const client = awsClient(sdk.EC2Client, region);
      if (kind === "ec2") {
        try {
          const all = (await client.send(new sdk.DescribeAddressesCommand({ Filters: [{ Name: "domain", Values: ["vpc"] }] }))).Addresses ?? [];
          return { total: all.length, own: all.filter((a) => hasTags(a.Tags, tags)).length };
        } catch (e) {
          throw failed("EC2 DescribeAddresses", e, "ec2:DescribeAddresses");
        }
      }
      let total = 0;
      let own = 0;
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        try {
          const r = await client.send(new sdk.DescribeVpcsCommand({ MaxResults: 1000, ...(token ? { NextToken: token } : {}) }));
          total += r.Vpcs?.length ?? 0;
          own += (r.Vpcs ?? []).filter((v) => hasTags(v.Tags, tags)).length;
          token = r.NextToken;
        } catch (e) {
          throw failed("EC2 DescribeVpcs", e, "ec2:DescribeVpcs");
        }
        if (!token) break;
      }
      return { total, own };
    },
    async oidcProviders() {
      const sdk = await import("@aws-sdk/client-iam");
      try {
        const r = await awsClient(sdk.IAMClient, region).send(new sdk.ListOpenIDConnectProvidersCommand({}));
        return (r.OpenIDConnectProviderList ?? []).map((p) => p.Arn?.split(":oidc-provider/")[1] ?? "").filter((h) => h !== "");
      } catch (e) {
        throw failed("IAM ListOpenIDConnectProviders", e, "iam:ListOpenIDConnectProviders");
      }
    },
  };
}
