// The AWS target's secret store: SSM Parameter Store, SecureString parameters named
// `<parameterPrefix>/<app>/<NAME>` (`/fawkes/<stack>/shop/SHOP_SECRET_KEY`), exactly the names the
// bootstrap's aws_secrets_fetch reads with the instance role. Encrypted with SSM's default key
// (alias/aws/ssm), which the instance role may use through SSM without a KMS grant. Listing reads
// metadata only (DescribeParameters): fawkes never asks for a value back. The SDK loads on first use.
import type { SSMClient } from "@aws-sdk/client-ssm";
import { awsClient } from "../aws/clients.ts";
import { planEnvironment } from "../model/index.ts";
import type { EnvironmentSpec } from "../config/index.ts";
import { generatedSecret } from "./local-store.ts";
import { SecretsError, type SecretState, type SecretStore } from "./store.ts";

/** The one method of SSMClient fawkes calls: tests hand a recording double. */
export interface SsmSender {
  send(command: object): Promise<unknown>;
}

export interface SsmStoreOptions {
  /** `/fawkes/<stack>`: HostPlan.stores.parameterPrefix. */
  prefix: string;
  /** The parameters' region; the endpoint is the SDK's own setting (src/aws/clients.ts). */
  region: string;
  /** A ready client (tests); `region` is then ignored. */
  client?: SsmSender;
}

/** The prefix the stack's hosts read their parameters under, as the bootstrap has it. */
export function parameterPrefixOf(spec: EnvironmentSpec): string {
  const prefix = planEnvironment(spec).hosts[0]?.stores.parameterPrefix;
  if (prefix === undefined) throw new Error(`stack ${spec.stack} plans no hosts, hence no parameters`);
  return prefix;
}

export function parameterName(prefix: string, app: string, name: string): string {
  return `${prefix}/${app}/${name}`;
}

const errorName = (e: unknown) => (e as { name?: string })?.name ?? "";

/**
 * The SDK's error without anything that could hold the value: AWS validation messages may quote
 * what they refused, so the value is cut out of the message, and the original (with the request)
 * is not kept as the cause.
 */
function ssmFailure(op: string, name: string, e: unknown, value?: string): SecretsError {
  const err = e as Error;
  let message = err?.message ?? String(e);
  if (value !== undefined && value !== "") message = message.split(value).join("[secret]");
  const kind = errorName(e) && errorName(e) !== "Error" ? `${errorName(e)}: ` : "";
  return new SecretsError(`SSM ${op} ${name} failed: ${kind}${message} (AWS credentials come from the SDK's default chain; the caller needs ssm:${op})`);
}

/** More pages than this under one app is not fawkes's parameter tree: stop rather than loop on. */
const MAX_PAGES = 100;

/** The SSM store, and what only it offers: a value written only where none is. */
export interface SsmSecretStore extends SecretStore {
  /** PutParameter without Overwrite: false when the parameter exists already (left as it is). */
  add(app: string, name: string, value: string): Promise<boolean>;
}

export function ssmSecretStore(opts: SsmStoreOptions): SsmSecretStore {
  type Sdk = typeof import("@aws-sdk/client-ssm");
  let ready: Promise<{ sdk: Sdk; client: SsmSender }> | undefined;
  const ssm = () =>
    (ready ??= import("@aws-sdk/client-ssm").then((sdk) => ({
      sdk,
      client: opts.client ?? (awsClient(sdk.SSMClient, opts.region) as SSMClient as SsmSender),
    })));
  const dir = (app: string) => `${opts.prefix}/${app}`;

  return {
    where: `ssm:${opts.prefix} (${opts.region})`,
    async list(app) {
      const { sdk, client } = await ssm();
      const found = new Map<string, SecretState>();
      let token: string | undefined;
      for (let page = 0; ; page++) {
        if (page === MAX_PAGES) throw new SecretsError(`SSM ${dir(app)}: more than ${MAX_PAGES} pages of parameters`);
        let res: { Parameters?: Array<{ Name?: string; Type?: string }>; NextToken?: string };
        try {
          res = (await client.send(
            new sdk.DescribeParametersCommand({ ParameterFilters: [{ Key: "Path", Option: "OneLevel", Values: [dir(app)] }], MaxResults: 50, ...(token ? { NextToken: token } : {}) }),
          )) as typeof res;
        } catch (e) {
          throw ssmFailure("DescribeParameters", dir(app), e);
        }
        for (const p of res.Parameters ?? []) {
          const name = p.Name?.slice(dir(app).length + 1) ?? "";
          // Secrets are env names; the app's other parameters (its EFS ids, `efs`) are not.
          if (!/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
          found.set(name, p.Type === "SecureString" ? { valid: true } : { valid: false, problem: `stored as ${p.Type ?? "an unknown type"}, not SecureString: set it again with fawkes secret set` });
        }
        token = res.NextToken;
        if (!token) break;
      }
      return found;
    },
    async set(app, name, value) {
      const { sdk, client } = await ssm();
      const full = parameterName(opts.prefix, app, name);
      try {
        await client.send(new sdk.PutParameterCommand({ Name: full, Value: value, Type: "SecureString", Overwrite: true }));
      } catch (e) {
        throw ssmFailure("PutParameter", full, e, value);
      }
    },
    async add(app, name, value) {
      const { sdk, client } = await ssm();
      const full = parameterName(opts.prefix, app, name);
      try {
        await client.send(new sdk.PutParameterCommand({ Name: full, Value: value, Type: "SecureString", Overwrite: false }));
        return true;
      } catch (e) {
        if (errorName(e) === "ParameterAlreadyExists") return false;
        throw ssmFailure("PutParameter", full, e, value);
      }
    },
    async unset(app, name) {
      const { sdk, client } = await ssm();
      const full = parameterName(opts.prefix, app, name);
      try {
        await client.send(new sdk.DeleteParameterCommand({ Name: full }));
        return true;
      } catch (e) {
        if (errorName(e) === "ParameterNotFound") return false;
        throw ssmFailure("DeleteParameter", full, e);
      }
    },
  };
}

/** The stack's parameters, in its region (an SSM-compatible endpoint through AWS_ENDPOINT_URL_SSM). */
export function stackSecretParameters(spec: EnvironmentSpec, client?: SsmSender): SsmSecretStore {
  return ssmSecretStore({ prefix: parameterPrefixOf(spec), region: spec.knobs.region, ...(client ? { client } : {}) });
}

/**
 * A random value (generatedSecret, also a valid database password) for each secret the apps declare
 * that has no parameter yet, as `fawkes local up` does for the local store: for stacks nobody sets
 * secrets in by hand (QA branches). A parameter that exists is never overwritten, whatever its
 * value or type, even one made between the listing and the write. Returns `<app>/<NAME>` of each made.
 */
export async function ensureSsmSecrets(store: SsmSecretStore, apps: ReadonlyArray<{ name: string; secrets: readonly string[] }>, stack: string, progress: (line: string) => void): Promise<string[]> {
  const made: string[] = [];
  for (const app of apps) {
    if (app.secrets.length === 0) continue;
    const stored = await store.list(app.name);
    const added: string[] = [];
    for (const name of app.secrets.filter((n) => !stored.has(n))) if (await store.add(app.name, name, generatedSecret())) added.push(name);
    if (added.length > 0) progress(`secrets of ${app.name}: generated a random value for ${added.join(", ")} in ${store.where} (set your own with fawkes secret set ${app.name} NAME --stack ${stack} --target aws)`);
    made.push(...added.map((n) => `${app.name}/${n}`));
  }
  return made;
}
