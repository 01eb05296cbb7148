// A stack set up as docs/aws.md's "First contact" says, on the AWS twin: the file's own staging
// stack gets an account and an AMI that are not AWS's example ones (which `check` calls
// placeholders), a short rollout for tests; once the twin is up, what only an account's owner
// makes: a certificate in ACM (here self-signed, imported) and GitHub's OIDC provider in IAM.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ACMClient, ImportCertificateCommand } from "@aws-sdk/client-acm";
import { CreateOpenIDConnectProviderCommand, IAMClient } from "@aws-sdk/client-iam";
import { execa } from "execa";
import { awsClient } from "../../src/aws/clients.ts";

export const FIRST_CONTACT = { account: "210987654321", ami: "ami-0f00dfeed0000c0de" } as const;

function editStack(root: string, stack: string, f: (s: string) => string): void {
  const file = join(root, "stacks", `Pulumi.${stack}.yaml`);
  writeFileSync(file, f(readFileSync(file, "utf8")));
}

/** Before `twin up`: the account, its AMI, the releases to pin and a rollout short enough for a test. */
export function firstContactStack(root: string, stack: string, releases: { shop: string; blog: string }): void {
  editStack(root, stack, (s) =>
    s
      .replace(/fawkes:accountId: "\d+"/, `fawkes:accountId: "${FIRST_CONTACT.account}"`)
      .replace(/ami: ami-[0-9a-f]+/, `ami: ${FIRST_CONTACT.ami}`)
      .replace(/shop: r[0-9a-f]+/, `shop: ${releases.shop}`)
      .replace(/blog: r[0-9a-f]+/, `blog: ${releases.blog}`)
      .replace(/warmupSeconds: \d+/, "warmupSeconds: 20")
      .replace(/checkpointDelaySeconds: \d+/, "checkpointDelaySeconds: 5"),
  );
}

/** After `twin up` (AWS_ENDPOINT_URL set): a certificate for the domain and its names, its ARN in the stack; GitHub's OIDC provider. */
export async function firstContactAccount(root: string, stack: string, region: string, domain: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "fawkes-twin-cert-"));
  try {
    await execa("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", `/CN=${domain}`, "-addext", `subjectAltName=DNS:${domain},DNS:*.${domain}`, "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]);
    const acm = awsClient(ACMClient, region);
    const out = await acm.send(new ImportCertificateCommand({ Certificate: readFileSync(join(dir, "cert.pem")), PrivateKey: readFileSync(join(dir, "key.pem")) }));
    acm.destroy();
    editStack(root, stack, (s) => s.replace(/fawkes:certificateArn: \S+/, `fawkes:certificateArn: ${out.CertificateArn!}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const iam = awsClient(IAMClient, region);
  await iam.send(new CreateOpenIDConnectProviderCommand({ Url: "https://token.actions.githubusercontent.com", ClientIDList: ["sts.amazonaws.com"], ThumbprintList: ["ffffffffffffffffffffffffffffffffffffffff"] }));
  iam.destroy();
}
