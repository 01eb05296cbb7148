// A release id names an artifact (<store>/<app>/<id>.tar.gz, s3://<bucket>/<app>/<id>.*), a dir on
// every host (/srv/apps/<app>/releases/<id>) and a pin in a stack file: one rule, for the pins
// (src/config/primitives.ts) and for the command line (src/cli/command.ts).

export const RELEASE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** What RELEASE_ID allows, in words (besides the letter or digit it starts with). */
export const RELEASE_ID_RULE = "1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'";

/** Why `id` cannot be a release id, or undefined. Whether that release was built is the command's to say. */
export function releaseIdProblem(id: string): string | undefined {
  return RELEASE_ID.test(id) ? undefined : `not a release id (${RELEASE_ID_RULE}, starting with a letter or digit, like "r3f2a9c0d1e2b" as fawkes build makes them)`;
}
