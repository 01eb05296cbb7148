// Every AWS SDK client fawkes makes, made here: the stack's region, and the endpoint only as the
// SDK itself reads it (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> such as AWS_ENDPOINT_URL_S3,
// or endpoint_url in the shared config file; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns them off).
// fawkes has no endpoint setting of its own, so an emulator or the twin is reached the way every
// AWS tool reaches it. Credentials come from the SDK's default chain.

/** What fawkes reads of a client's resolved config: the endpoint the SDK found in the environment. */
interface Configured {
  config: { serviceConfiguredEndpoint?: () => Promise<string | undefined> };
  destroy(): void;
}

/** A client class of the SDK (S3Client, SSMClient, …), as its constructor is called here. */
export type AwsClientClass<C> = new (config: { region: string; forcePathStyle?: boolean }) => C;

/** A client of any service but S3, in `region`. */
export function awsClient<C>(Client: AwsClientClass<C>, region: string): C {
  return new Client({ region });
}

/** The endpoint the SDK will use for this client's service instead of AWS's, if one is configured. */
export async function configuredEndpoint(client: Configured): Promise<string | undefined> {
  return (await client.config.serviceConfiguredEndpoint?.()) || undefined;
}

/**
 * An S3 client in `region`. With a configured endpoint, path-style addressing: the SDK puts the
 * bucket into the host name otherwise (`<bucket>.localhost`), which an emulator on an IP address
 * or localhost does not answer; on AWS itself, virtual-hosted style as AWS recommends.
 */
export async function s3Client<C extends Configured>(Client: AwsClientClass<C>, region: string): Promise<C> {
  const plain = new Client({ region });
  if ((await configuredEndpoint(plain)) === undefined) return plain;
  plain.destroy();
  return new Client({ region, forcePathStyle: true });
}
