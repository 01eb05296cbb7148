// The deploy console's host on AWS (a management stack's, knob `console`): where it listens, what
// the load balancer checks, where its bundle lives, and the tag by which a preview finds each
// permission the console holds. Pure: the component, the renderer and `fawkes plan` read them.

/** The console's port on its host: the load balancer's target, and nothing else listens. */
export const CONSOLE_PORT = 8080;

/**
 * What the load balancer's health check asks for: the console answers its stylesheet without a
 * sign-in (every page needs the ALB-signed header, which a health check never carries), so a 200
 * says the process serves HTTP, no more.
 */
/** `fawkes console` answers it without sign-in (src/console/server.ts HEALTH_PATH). */
export const CONSOLE_HEALTH_PATH = "/healthz";

/** Where the console's bundles live in the management stack's artifact bucket. */
export const CONSOLE_BUNDLE_PREFIX = "console/";

/** The console's bundle in the management stack's artifact bucket, by its pinned sha256. */
export function consoleBundleKey(sha256: string): string {
  return `${CONSOLE_BUNDLE_PREFIX}${sha256}.tar.gz`;
}

/**
 * Tag on each IAM policy of the console's role: the stack whose deployer permissions it carries,
 * or CONSOLE_OWN_GRANT for the console's own (mail, log queries, its OIDC secret). `fawkes plan`
 * lists the console's permissions by it.
 */
export const CONSOLE_GRANT_TAG = "fawkes:console-grant";
export const CONSOLE_OWN_GRANT = "console";
