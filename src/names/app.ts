// An app's name becomes a unix user and group on every host, its dirs (/srv/apps/<app>,
// /var/log/fawkes/<app>), a database role and part of AWS names: one rule, for the catalogue's
// schema (src/config/primitives.ts) and for the command line (src/cli/command.ts).

export const APP_NAME = /^[a-z][a-z0-9-]{0,23}$/;
/** What APP_NAME allows, in words. */
export const APP_NAME_RULE = "1-24 characters of a-z, 0-9 and '-', starting with a letter";

/** Why `name` cannot be an app's name, or undefined. Whether the catalogue has such an app is the command's to say. */
export function appNameProblem(name: string): string | undefined {
  return APP_NAME.test(name) ? undefined : `not an app name (${APP_NAME_RULE}, like "shop")`;
}
