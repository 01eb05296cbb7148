// The knob that makes a stack a management stack: instead of apps it runs the deploy console on
// AWS, behind its own load balancer's OIDC sign-in, with the deploy permissions of the stacks it
// manages. The fields follow the ALB's authenticate-oidc action (AuthenticateOidcActionConfig);
// the client secret stays in SSM Parameter Store and only its name is here.
import { z } from "zod";
import { DnsName, pinText } from "./primitives.ts";

/**
 * At most this many managed stacks: the console's role gets one managed policy per stack (a
 * deployer's policy does not fit beside another in a role's 10,240 characters of inline policy),
 * and IAM attaches at most 10 managed policies to a role by default, one of them SSM's.
 */
export const MAX_MANAGED_STACKS = 8;

/** Knobs that only size, pin or route apps: a management stack runs none, so it may not set them. */
export const APP_ONLY_KNOBS = ["releases", "fleet", "maintenance", "certificateArn", "database"] as const;

const StackName = z.string().regex(/^[a-z][a-z0-9-]{0,52}$/, 'must be a stack name like "staging"');

/** The IdP's URLs: AWS wants each "a full URL, including the HTTPS protocol, the domain, and the path". */
const HttpsUrl = z
  .string()
  .max(2048, "must be at most 2048 characters")
  .regex(/^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[^\s]*)?$/, 'must be a full https:// URL of the identity provider, like "https://login.example.com/oauth2/v1/token"');

/** An SSM parameter's full name; `aws` and `ssm` prefixes are AWS's own. */
const ParameterName = z
  .string()
  .superRefine((name, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: "custom", message });
    if (!/^\/[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(name) || name.length > 1011) {
      fail('must be the name of an SSM Parameter Store SecureString, a path like "/fawkes/console/oidc-client-secret": the client secret itself never enters config');
    } else if (/^\/(aws|ssm)(\/|$)/i.test(name)) fail('must not start with /aws or /ssm, which SSM reserves; a path like "/fawkes/console/oidc-client-secret"');
  });

const ClaimName = z.string().regex(/^[A-Za-z0-9_:./-]{1,128}$/, 'must be a claim name like "groups", "cognito:groups" or "https://example.com/groups"');

const LITERAL_SECRET =
  "the client secret never enters config (stack files are read by everyone who reads the repository): " +
  "store it in SSM Parameter Store as a SecureString (aws ssm put-parameter --type SecureString --name /fawkes/console/oidc-client-secret --value ...) " +
  "and name it in clientSecretParameter; remove this key";

export const OidcKnobsSchema = z.strictObject({
  issuer: HttpsUrl.describe("The IdP's issuer identifier (the `iss` of its tokens)."),
  authorizationEndpoint: HttpsUrl.describe("Where the load balancer sends a person to sign in."),
  tokenEndpoint: HttpsUrl.describe("Where the load balancer exchanges the code for tokens (its security group reaches it on 443)."),
  userInfoEndpoint: HttpsUrl.describe("Where the load balancer reads the person's claims, the groups among them."),
  clientId: z.string().regex(/^[\x21-\x7e]{1,255}$/, "must be the OAuth 2.0 client id the IdP gave the console: 1-255 printable characters, no spaces").describe("The OAuth 2.0 client id of the console at the IdP."),
  clientSecretParameter: ParameterName.describe("The SSM SecureString holding the OAuth 2.0 client secret: read at deploy time and handed to the load balancer, never written in config; the console's host may read it too."),
  clientSecret: z
    .unknown()
    .superRefine((_, ctx) => ctx.addIssue({ code: "custom", message: LITERAL_SECRET }))
    .optional()
    .describe("Never set: the secret lives in SSM (clientSecretParameter)."),
  scope: z
    .string()
    .regex(/^[A-Za-z0-9_:./-]+( [A-Za-z0-9_:./-]+)*$/, 'must be scopes separated by single spaces, like "openid email profile"')
    .refine((s) => s.split(" ").includes("openid"), 'must include "openid": the load balancer signs in with OpenID Connect')
    .default("openid email profile")
    .describe("The claims the load balancer asks for; add what your IdP needs to send the groups claim (Okta: groups)."),
  sessionTimeoutSeconds: z
    .number()
    .int("must be a whole number of seconds")
    .min(60)
    .max(604800)
    .default(28800)
    .describe("How long a sign-in lasts at the load balancer (its session cookie) before the IdP is asked again; AWS allows at most 7 days, fawkes defaults to 8 hours."),
});
export type OidcKnobs = z.infer<typeof OidcKnobsSchema>;

export const ManagementConsoleSchema = z
  .strictObject({
    manages: z
      .array(StackName)
      .min(1, "must name at least one stack whose environment the console deploys")
      .max(MAX_MANAGED_STACKS, `must name at most ${MAX_MANAGED_STACKS} stacks: the console's role gets a managed policy per stack, and IAM attaches at most 10 to a role by default`)
      .superRefine((stacks, ctx) => {
        const twice = stacks.filter((s, i) => stacks.indexOf(s) !== i);
        if (twice.length > 0) ctx.addIssue({ code: "custom", message: `lists ${[...new Set(twice)].map((s) => `"${s}"`).join(", ")} more than once` });
      })
      .describe("The stacks whose environments the console shows and deploys to: its host's role gets each one's deployer permissions, and no others."),
    domain: DnsName.describe("The console's host name (a CNAME or alias to its load balancer is yours to make); the IdP must allow https://<domain>/oauth2/idpresponse as a redirect URI."),
    certificateArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate\/[A-Za-z0-9-]+$/, 'must be an ACM certificate ARN like "arn:aws:acm:eu-west-1:123456789012:certificate/..."')
      .describe("The certificate of the console's HTTPS listener, for its domain: the load balancer authenticates on HTTPS only."),
    bundle: z
      .string({ error: pinText("the sha256 of the console's bundle") })
      .regex(/^[0-9a-f]{64}$/, "must be the sha256 (64 lower-case hex digits) of the console's bundle, console/<sha256>.tar.gz in the stack's artifact bucket")
      .describe("The console's bundle pinned by its sha256: the project checkout with its node_modules, stored as console/<sha256>.tar.gz in the stack's artifact bucket; the host runs nothing else."),
    oidc: OidcKnobsSchema.describe("The identity provider the load balancer signs people in with (its authenticate-oidc action)."),
    groupsClaim: ClaimName.default("groups").describe("The claim holding a person's groups, which each managed stack's access knob maps to view, deploy and admin (Cognito: cognito:groups)."),
  })
  .describe("Makes this stack a management stack: the deploy console on AWS for the stacks it manages, and no apps.");
export type ManagementConsole = z.infer<typeof ManagementConsoleSchema>;
