// A local host's name is `<stack>-<role>-<slot>` (src/local/layout.ts; the database's `<stack>-db-1`):
// its dir under the environment's hosts dir, its hostname and its HAProxy server. The command line
// names hosts by it (src/cli/command.ts), so it must be no path and no option.
import { STACK_NAME_PATTERN } from "./stack.ts";

const HOST_NAME = new RegExp(`^${STACK_NAME_PATTERN}-[a-z]+-[1-9][0-9]{0,2}$`);

/** Why `name` cannot name a host, or undefined. Whether the stack has that host is the command's to say. */
export function hostNameProblem(name: string): string | undefined {
  return HOST_NAME.test(name) ? undefined : `not a host name (<stack>-<role>-<n>, like "dev-web-1": fawkes local status lists a stack's hosts)`;
}
