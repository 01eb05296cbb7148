// A local host's name is `<stack>-<role>-<slot>` (src/local/layout.ts; the database's `<stack>-db-1`):
// its dir under the environment's hosts dir, its hostname and its HAProxy server. On AWS a host is
// an EC2 instance, named by its id (`fawkes run --target aws --host`). The command line names hosts
// by these (src/cli/command.ts), so neither may be a path or an option.
import { STACK_NAME_PATTERN } from "./stack.ts";

const HOST_NAME = new RegExp(`^${STACK_NAME_PATTERN}-[a-z]+-[1-9][0-9]{0,2}$`);
/** An EC2 instance id: i- and 8 or 17 lower-case hex digits. */
export const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** Why `name` cannot name a host, or undefined. Whether the stack has that host is the command's to say. */
export function hostNameProblem(name: string): string | undefined {
  return HOST_NAME.test(name) || INSTANCE_ID.test(name)
    ? undefined
    : `not a host name (<stack>-<role>-<n>, like "dev-web-1": fawkes local status lists a stack's hosts; on AWS an instance id, like "i-0123456789abcdef0")`;
}
