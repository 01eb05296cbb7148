// The branch head a QA environment is built from: its commit and committer date. Both targets.
import { execa } from "execa";
import { QaError } from "./registry.ts";

async function git(root: string, ...args: string[]): Promise<string> {
  const r = await execa("git", ["-C", root, ...args], { reject: false });
  if (r.exitCode !== 0) throw new QaError(`git ${args.join(" ")} in ${root} failed: ${(r.stderr || r.stdout).trim().split("\n")[0]}`);
  return r.stdout.trim();
}

/** The commit a ref names and its committer date: the time of the branch's last push, as git knows it. */
export async function headOf(root: string, ref: string): Promise<{ commit: string; lastPush: string }> {
  const r = await execa("git", ["-C", root, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { reject: false });
  if (r.exitCode !== 0) throw new QaError(`no commit "${ref}" in the git repository of ${root}; push or fetch the branch, or pass --ref`);
  const date = await git(root, "log", "-1", "--format=%cI", r.stdout.trim());
  return { commit: r.stdout.trim(), lastPush: new Date(date).toISOString() };
}
