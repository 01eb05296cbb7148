// An AWS account in memory for `check --target aws` and what runs it first (release, qa up): every
// SDK client fawkes makes answers through aws-sdk-client-mock from the state below, with the
// errors AWS documents for what is missing (S3 404 NotFound, ACM ResourceNotFoundException, EC2
// InvalidAMIID.NotFound, SSM ParameterAlreadyExists, Service Quotas NoSuchResourceException when
// no quota was applied). Also a project of a test's own whose stacks name that account instead of
// the sample placeholders. Nothing leaves the process.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ACMClient, DescribeCertificateCommand, ResourceNotFoundException } from "@aws-sdk/client-acm";
import { DescribeAddressesCommand, DescribeImagesCommand, DescribeVpcsCommand, EC2Client, EC2ServiceException } from "@aws-sdk/client-ec2";
import { IAMClient, ListOpenIDConnectProvidersCommand } from "@aws-sdk/client-iam";
import { HeadBucketCommand, HeadObjectCommand, NotFound, S3Client } from "@aws-sdk/client-s3";
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, NoSuchResourceException, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { DescribeParametersCommand, ParameterAlreadyExists, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";

const REPO = join(import.meta.dirname, "../..");
const meta = { httpStatusCode: 404 };

export const ACCOUNT = "111122223333";
export const AMI = "ami-0a1b2c3d4e5f60718";
export const CERTIFICATE = `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/5b9c7a1e-3f2d-4c8b-9e6a-1d2c3b4a5f60`;

export interface AccountState {
  /** undefined: no credentials (STS refuses). */
  account?: string;
  buckets: Set<string>;
  /** `bucket/key` */
  objects: Set<string>;
  /** name -> Type (SecureString, String) */
  parameters: Map<string, string>;
  /** Parameters DescribeParameters does not list yet (it is eventually consistent): made a moment ago. */
  unlisted: Set<string>;
  certificates: Map<string, { status: string; names: string[] }>;
  images: Map<string, { state: string; architecture: string }>;
  vpcs: number;
  addresses: number;
  /** Applied quota values by code; a code absent falls back to AWS's default. */
  applied: Map<string, number>;
  defaults: Map<string, number>;
  oidcHosts: string[];
}

export function emptyAccount(): AccountState {
  return {
    account: ACCOUNT,
    buckets: new Set(),
    objects: new Set(),
    parameters: new Map(),
    unlisted: new Set(),
    certificates: new Map(),
    images: new Map(),
    vpcs: 0,
    addresses: 0,
    applied: new Map(),
    defaults: new Map([["L-F678F1CE", 5], ["L-0263D0A3", 5]]),
    oidcHosts: [],
  };
}

const ec2Error = (name: string, message: string) => new EC2ServiceException({ name, $fault: "client", message, $metadata: { httpStatusCode: 400 } });

/** Installs the mocks; every client of these services, wherever it is made, answers from `state()`. */
export function mockAccount(state: () => AccountState) {
  const sts = mockClient(STSClient);
  const s3 = mockClient(S3Client);
  const ssm = mockClient(SSMClient);
  const acm = mockClient(ACMClient);
  const ec2 = mockClient(EC2Client);
  const quotas = mockClient(ServiceQuotasClient);
  const iam = mockClient(IAMClient);
  const install = () => {
    for (const m of [sts, s3, ssm, acm, ec2, quotas, iam]) m.reset();
    sts.on(GetCallerIdentityCommand).callsFake(() => {
      const a = state().account;
      if (a === undefined) throw Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
      return { Account: a, Arn: `arn:aws:iam::${a}:user/ci`, UserId: "AIDAEXAMPLE" };
    });
    s3.on(HeadBucketCommand).callsFake((i: { Bucket: string }) => {
      if (!state().buckets.has(i.Bucket)) throw new NotFound({ message: "UnknownError", $metadata: meta });
      return {};
    });
    s3.on(HeadObjectCommand).callsFake((i: { Bucket: string; Key: string }) => {
      if (!state().objects.has(`${i.Bucket}/${i.Key}`)) throw new NotFound({ message: "UnknownError", $metadata: meta });
      return { ContentLength: 65 };
    });
    ssm.on(DescribeParametersCommand).callsFake((i: { ParameterFilters?: Array<{ Key: string; Option?: string; Values?: string[] }> }) => {
      const path = i.ParameterFilters?.find((f) => f.Key === "Path")?.Values?.[0] ?? "";
      const under = [...state().parameters].filter(([n]) => n.startsWith(`${path}/`) && !n.slice(path.length + 1).includes("/") && !state().unlisted.has(n));
      return { Parameters: under.map(([Name, Type]) => ({ Name, Type })) };
    });
    ssm.on(PutParameterCommand).callsFake((i: { Name: string; Type?: string; Overwrite?: boolean }) => {
      // The refused write's parameter is listed from then on: the listing has caught up by the next call.
      if (state().parameters.has(i.Name) && !i.Overwrite && state().unlisted.delete(i.Name) !== null) throw new ParameterAlreadyExists({ message: "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.", $metadata: { httpStatusCode: 400 } });
      state().parameters.set(i.Name, i.Type ?? "String");
      return { Version: 1, Tier: "Standard" };
    });
    acm.on(DescribeCertificateCommand).callsFake((i: { CertificateArn: string }) => {
      const c = state().certificates.get(i.CertificateArn);
      if (!c) throw new ResourceNotFoundException({ message: `Could not find certificate ${i.CertificateArn}.`, $metadata: { httpStatusCode: 400 } });
      return { Certificate: { CertificateArn: i.CertificateArn, Status: c.status, DomainName: c.names[0], SubjectAlternativeNames: c.names, Type: "AMAZON_ISSUED" } };
    });
    ec2.on(DescribeImagesCommand).callsFake((i: { ImageIds?: string[] }) => {
      const id = i.ImageIds?.[0] ?? "";
      const img = state().images.get(id);
      if (!img) throw ec2Error("InvalidAMIID.NotFound", `The image id '[${id}]' does not exist`);
      return { Images: [{ ImageId: id, State: img.state, Architecture: img.architecture, Name: "fawkes-debian-13" }] };
    });
    ec2.on(DescribeVpcsCommand).callsFake(() => ({ Vpcs: Array.from({ length: state().vpcs }, (_, n) => ({ VpcId: `vpc-${n}` })) }));
    ec2.on(DescribeAddressesCommand).callsFake(() => ({ Addresses: Array.from({ length: state().addresses }, (_, n) => ({ AllocationId: `eipalloc-${n}`, Domain: "vpc" })) }));
    quotas.on(GetServiceQuotaCommand).callsFake((i: { QuotaCode: string }) => {
      const v = state().applied.get(i.QuotaCode);
      if (v === undefined) throw new NoSuchResourceException({ message: "The request failed because the specified service quota does not exist.", $metadata: { httpStatusCode: 400 } });
      return { Quota: { QuotaCode: i.QuotaCode, Value: v } };
    });
    quotas.on(GetAWSDefaultServiceQuotaCommand).callsFake((i: { QuotaCode: string }) => ({ Quota: { QuotaCode: i.QuotaCode, Value: state().defaults.get(i.QuotaCode) } }));
    iam.on(ListOpenIDConnectProvidersCommand).callsFake(() => ({ OpenIDConnectProviderList: state().oidcHosts.map((h) => ({ Arn: `arn:aws:iam::${state().account}:oidc-provider/${h}` })) }));
  };
  install();
  return { sts, s3, ssm, acm, ec2, quotas, iam, install, restore: () => [sts, s3, ssm, acm, ec2, quotas, iam].forEach((m) => m.restore()) };
}

/** Credentials of no machine's user, and no endpoint: the SDK is never asked to find either. */
export function offlineAwsEnv(): () => void {
  const keys = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SSM", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"];
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIDFAWKESTEST", AWS_SECRET_ACCESS_KEY: "not-a-secret", AWS_CONFIG_FILE: "/nonexistent/fawkes-test-config", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/fawkes-test-credentials" });
  return () => {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
}

export interface AwsProject {
  root: string;
  remove(): void;
}

/**
 * This repository's catalogue, stacks and program in a directory of the test's own, with the
 * stacks' placeholders (account, certificate, AMI) replaced by ACCOUNT, CERTIFICATE and AMI, and the
 * GitHub repository `acme/shop` trusted (so the roles trust GitHub's OIDC provider). The program's
 * modules are this repository's (linked), so it runs under the same mocks as `fawkes plan`.
 */
export function awsProject(): AwsProject {
  const root = mkdtempSync(join(tmpdir(), "fawkes-aws-project-"));
  for (const d of ["node_modules", "components", "src"]) symlinkSync(join(REPO, d), join(root, d));
  cpSync(join(REPO, "image"), join(root, "image"), { recursive: true });
  // The apps' source dirs: loading a stack checks that they are the project's.
  cpSync(join(REPO, "examples"), join(root, "examples"), { recursive: true });
  cpSync(join(REPO, "index.ts"), join(root, "index.ts"));
  const project = readFileSync(join(REPO, "Pulumi.yaml"), "utf8");
  if (!project.includes("\n  catalogue:\n    value:\n")) throw new Error("Pulumi.yaml: the catalogue is not where this helper expects it");
  writeFileSync(join(root, "Pulumi.yaml"), project.replace("\n  catalogue:\n    value:\n", "\n  catalogue:\n    value:\n      github:\n        repository: acme/shop\n"));
  mkdirSync(join(root, "stacks"));
  for (const s of ["dev", "qa", "staging", "production"]) {
    const text = readFileSync(join(REPO, `stacks/Pulumi.${s}.yaml`), "utf8")
      .replace(/fawkes:certificateArn: .*/, `fawkes:certificateArn: ${CERTIFICATE}`)
      .replaceAll('"123456789012"', `"${ACCOUNT}"`)
      .replaceAll("ami-0123456789abcdef0", AMI);
    writeFileSync(join(root, `stacks/Pulumi.${s}.yaml`), text);
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
