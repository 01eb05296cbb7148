// A stack's name reaches paths (removed with their contents by `local down`), namespaces, bridges
// and AWS names: checked once where it enters (the CLI's --stack, src/cli/command.ts) and again
// where a path is made of it (the layouts), so that "", "." or ".." never names a parent dir.

/** A stack name, unanchored: host names are made of it (src/names/host.ts). */
export const STACK_NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.-]{0,99}";
const STACK_NAME = new RegExp(`^${STACK_NAME_PATTERN}$`);

/** Why `stack` is not a stack name (Pulumi's rules: letters, digits, '-', '_', '.'), or undefined. */
export function stackNameProblem(stack: string): string | undefined {
  if (STACK_NAME.test(stack)) return undefined;
  return `not a stack name (1-100 letters, digits, "-", "_" and ".", starting with a letter or digit, as Pulumi names stacks)`;
}

/** `stack`, or an error naming what is wrong with it. */
export function checkedStackName(stack: string): string {
  const problem = stackNameProblem(stack);
  if (problem !== undefined) throw new Error(`stack ${JSON.stringify(stack)}: ${problem}`);
  return stack;
}
