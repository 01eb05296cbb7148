// git, run the one way fawkes runs it: no prompt, no optional locks, C locale, output kept whole;
// and, when root runs fawkes in a user's checkout (sudo), as the user who owns the repository, so
// that its objects and commits stay the user's.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";

export interface GitResult {
  ok: boolean;
  out: string;
  err: string;
}

/** The owner of `root`'s repository and that user's home, when root runs fawkes in someone else's checkout. */
export function repositoryOwner(root: string, passwd: () => string = () => readFileSync("/etc/passwd", "utf8")): { uid: number; gid: number; home: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let st;
  try {
    st = statSync(join(root, ".git"));
  } catch {
    return undefined;
  }
  if (st.uid === 0) return undefined;
  const home = passwd().split("\n").map((l) => l.split(":")).find((f) => Number(f[2]) === st.uid)?.[5];
  return { uid: st.uid, gid: st.gid, home: home || "/nonexistent" };
}

/** `git -C root ...args`; never throws on git's own failure (ok says). */
export async function git(root: string, ...args: string[]): Promise<GitResult> {
  const owner = repositoryOwner(root);
  const env = { LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0", ...(owner ? { HOME: owner.home } : {}) };
  const r = await execa("git", ["-C", root, ...args], { reject: false, stdin: "ignore", stripFinalNewline: false, env, ...(owner ? { uid: owner.uid, gid: owner.gid } : {}) });
  return { ok: r.exitCode === 0, out: r.stdout, err: r.stderr };
}
