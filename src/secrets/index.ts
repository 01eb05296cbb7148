// src/secrets: the values of the secrets the catalogue names, kept out of config, user-data and
// state. Set per stack into the local store (a 0600 file per app, read by the hosts' bootstrap)
// or SSM Parameter Store (SecureString, read by the instance role); stores answer which names are
// set, never with what.
export { ensureLocalDatabaseEnv, ensureLocalSecrets, generatedSecret, localDatabaseEnvFile, localSecretsFile, localSecretStore, readLocalSecretValues } from "./local-store.ts";
export { quoteSecret, SECRET_WORD, unquoteSecret } from "./quote.ts";
export { ensureSsmSecrets, parameterName, parameterPrefixOf, ssmSecretStore, stackSecretParameters, type SsmSecretStore, type SsmSender, type SsmStoreOptions } from "./ssm.ts";
export { appOf, checkStackName, declaredSecret, MAX_SECRET_BYTES, SecretNameError, SecretsError, secretValueOf, type SecretState, type SecretStore } from "./store.ts";
