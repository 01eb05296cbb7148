// The project's name (Pulumi.yaml `name`) reaches the hosts' bootstrap scripts and cloud-config,
// SSM parameter paths (/<project>/<stack>/…), Pulumi config keys (<project>:<knob>), the names of
// Image Builder components and AMIs, the GitHub environment <project>-<stack> and, through the name
// budget, every AWS resource. It is checked once, where Pulumi.yaml is read (src/config/files.ts).

/** Longest project name: a DNS label, so that `<project>` can stand as one in a host name. */
export const PROJECT_NAME_MAX = 63;

/**
 * Pulumi allows 1-100 of A-Z, a-z, 0-9, '-', '_' and '.'; a DNS label and an S3 bucket name allow
 * only lower case, digits and '-' with a letter or digit at each end; unix paths and shell words
 * then need nothing more. fawkes takes the intersection, starting with a letter like app names.
 */
const PROJECT_NAME = new RegExp(`^[a-z](?:[a-z0-9-]{0,${PROJECT_NAME_MAX - 2}}[a-z0-9])?$`);

/** Why `name` cannot name a fawkes project, or undefined when it can. */
export function projectNameProblem(name: unknown): string | undefined {
  if (name === undefined || name === null || name === "") return "missing; the project needs a name, like \"acme\"";
  if (typeof name !== "string") return `must be text, like "acme", got ${typeof name === "object" ? "a map or list" : `${typeof name} ${JSON.stringify(name)}`}`;
  if (PROJECT_NAME.test(name)) return undefined;
  const suggestion = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^[^a-z]+|-+$/g, "")
    .slice(0, PROJECT_NAME_MAX)
    .replace(/-+$/, "");
  return (
    `${JSON.stringify(name)} is not a project name fawkes can use: 1-${PROJECT_NAME_MAX} characters of a-z, 0-9 and '-', starting with a letter and ending with a letter or digit ` +
    `(it becomes part of host, bucket and parameter names, paths and the hosts' scripts)` +
    (suggestion !== "" ? `; for example "${suggestion}" (the stack files' keys change with it: ${suggestion}:domain)` : "")
  );
}
