// Git branch -> QA stack name (`qa-<slug>`): the name every resource of a branch's QA
// environment derives from, through the name budget.
import { shortHash, slug } from "./budget.ts";

export const QA_PREFIX = "qa-";

/**
 * Longest QA stack name. budgetName fits any stack into every AWS limit (it cuts and hashes), so
 * the budget itself does not bound the stack; what does are the names built from the stack
 * without it: the local target's host name `<stack>-<role>-<slot>` (longest suffix
 * `-worker-89`, 10 characters) is a Linux host name and cloud-init `local-hostname`, a DNS label
 * of at most 63 characters. 63 - 10 = 53. The stack also stays a DNS label itself, for
 * `<app>.<stack>.localhost` and the QA host names.
 */
export const QA_STACK_MAX = 53;

/** Hex digits of the branch hash: 32 bits, all that shortHash has; two branches sharing a stack would share an environment. */
const HASH_LENGTH = 8;
const HASHED_TAIL = new RegExp(`-[0-9a-f]{${HASH_LENGTH}}$`);
const QA_STACK = new RegExp(`^(?=.{${QA_PREFIX.length + 1},${QA_STACK_MAX}}$)qa-[a-z0-9]+(-[a-z0-9]+)*$`);

/**
 * The QA stack of a git branch: `qa-` + the branch in lowercase a-z, 0-9 and single '-'. When that
 * slug is not the branch itself (a character changed or dropped) or is too long, it is cut to fit
 * and ends in a hash of the whole branch, so `feature/a`, `feature-a` and `Feature/A` get
 * different stacks. A leading `refs/heads/` is the same branch and is dropped first.
 */
export function qaStackName(branch: string): string {
  const name = branch.startsWith("refs/heads/") ? branch.slice("refs/heads/".length) : branch;
  // Accents become their base letter (é -> e) instead of a '-'.
  const readable = slug(name.normalize("NFKD").toLowerCase().normalize("NFKD").replace(/\p{M}+/gu, ""));
  if (readable === "") {
    throw new Error(`branch ${JSON.stringify(branch)} has no letter or digit to name a QA stack after`);
  }
  // A branch that already ends like a hash gets one too: no plain branch can then equal a hashed one.
  const lossless = readable === name && !HASHED_TAIL.test(readable);
  if (lossless && QA_PREFIX.length + readable.length <= QA_STACK_MAX) return QA_PREFIX + readable;
  const room = QA_STACK_MAX - QA_PREFIX.length - HASH_LENGTH - 1;
  const head = readable.slice(0, room).replace(/-+$/, "");
  return `${QA_PREFIX}${head}-${shortHash(name, HASH_LENGTH)}`;
}

/** Whether a stack is a per-branch QA stack, as qaStackName makes them; never the `qa` template itself. */
export function isQaStack(stack: string): boolean {
  return QA_STACK.test(stack);
}
