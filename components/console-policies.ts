// The IAM documents of the deploy console's host on AWS (a management stack's): for each stack it
// manages, that environment's deployer policy (access-policies.ts, the same document its deployer
// role holds), and the console's own few grants. Pure: no Pulumi, no AWS; components/deploy-console.ts
// puts them on the host's role, and the tests feed them to an IAM policy simulator.
import { CONSOLE_BUNDLE_PREFIX } from "../src/model/index.ts";
import { deployerPolicy, type AccessScope } from "./access-policies.ts";

/** What the console needs of one managed environment beyond its deployer's permissions. */
export interface ManagedEnvironment {
  stack: string;
  region: string;
  /** Its apps' CloudWatch log groups: the top tracebacks are Logs Insights queries over them. */
  appLogGroups: readonly string[];
  /** The sender of its daily traceback mail (knob errorMail), when the knob names recipients. */
  mailFrom?: string;
  /** Its deployer role's scope, whose policy the console's role gets as it is. */
  scope: AccessScope;
}

export interface ConsoleGrants {
  accountId: string;
  environments: readonly ManagedEnvironment[];
  /** The OIDC client secret, an SSM SecureString of the management stack's region. */
  clientSecret: { region: string; name: string };
  /** The management stack's artifact bucket: the host fetches its bundle from `console/` there. */
  bundleBucket: string;
}

/** IAM's limit on one managed policy, counted without whitespace: a deployer policy must fit in one. */
export const MANAGED_POLICY_CHARACTERS = 6144;

/** Each managed environment's deployer permissions, for the console: the deployer role's own document. */
export function consoleDeployPolicy(env: ManagedEnvironment): object {
  return deployerPolicy(env.scope);
}

const identityArns = (accountId: string, region: string, from: string) => {
  const domain = from.slice(from.lastIndexOf("@") + 1);
  // SES authorises a send against the identity that covers the sender: the address itself, or its domain.
  return [`arn:aws:ses:${region}:${accountId}:identity/${from}`, `arn:aws:ses:${region}:${accountId}:identity/${domain}`];
};

/**
 * The console's own permissions: its bundle in the management stack's bucket; the traceback mail
 * through SES, from each managed environment's sender only (the identity, and ses:FromAddress);
 * Logs Insights queries over the managed environments' app log groups; and the OIDC client
 * secret's parameter, no other parameter.
 */
export function consoleOwnPolicy(g: ConsoleGrants): object {
  const mailing = g.environments.filter((e): e is ManagedEnvironment & { mailFrom: string } => e.mailFrom !== undefined);
  const mail = mailing.length === 0
    ? []
    : [
        {
          Sid: "TracebackMail",
          Effect: "Allow",
          Action: ["ses:SendEmail", "ses:SendRawEmail"],
          Resource: [...new Set(mailing.flatMap((e) => identityArns(g.accountId, e.region, e.mailFrom)))],
          Condition: { StringEquals: { "ses:FromAddress": [...new Set(mailing.map((e) => e.mailFrom))] } },
        },
      ];
  const logGroups = g.environments.flatMap((e) => e.appLogGroups.flatMap((lg) => [`arn:aws:logs:${e.region}:${g.accountId}:log-group:${lg}`, `arn:aws:logs:${e.region}:${g.accountId}:log-group:${lg}:*`]));
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ConsoleBundle", Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${g.bundleBucket}/${CONSOLE_BUNDLE_PREFIX}*` },
      ...mail,
      { Sid: "TracebackQueries", Effect: "Allow", Action: ["logs:StartQuery", "logs:GetQueryResults"], Resource: logGroups },
      { Sid: "OidcClientSecret", Effect: "Allow", Action: "ssm:GetParameter", Resource: `arn:aws:ssm:${g.clientSecret.region}:${g.accountId}:parameter${g.clientSecret.name}` },
    ],
  };
}

/** A policy's size as IAM counts it: its JSON without whitespace. */
export function policyCharacters(policy: object): number {
  return JSON.stringify(policy).length;
}
