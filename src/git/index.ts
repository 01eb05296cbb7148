// git, run the one way fawkes runs it: no prompt, no optional locks, C locale, output kept whole.
import { execa } from "execa";

export interface GitResult {
  ok: boolean;
  out: string;
  err: string;
}

/** `git -C root ...args`; never throws on git's own failure (ok says). */
export async function git(root: string, ...args: string[]): Promise<GitResult> {
  const r = await execa("git", ["-C", root, ...args], { reject: false, stdin: "ignore", stripFinalNewline: false, env: { LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0" } });
  return { ok: r.exitCode === 0, out: r.stdout, err: r.stderr };
}
