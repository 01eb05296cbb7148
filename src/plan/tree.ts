// The base side of a plan: the project as a git ref has it, checked out beside this one in a
// temporary git worktree. Its program runs on this tree's node_modules (linked in), so both
// sides share one @pulumi/pulumi and its mocks.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";

/** A plan cannot start: no git, no such ref, no project at that ref. Exit 1 with the message. */
export class PlanError extends Error {}

async function git(cwd: string, args: string[]): Promise<string> {
  const r = await execa("git", ["-C", cwd, ...args], { reject: false, stdin: "ignore" });
  if (r.failed) throw new PlanError(`git ${args.join(" ")} (in ${cwd}) failed: ${String(r.stderr || r.stdout || r.shortMessage || "").trim().split("\n")[0] ?? ""}`);
  return r.stdout.trim();
}

export interface BaseTree {
  ref: string;
  commit: string;
  /** The project's directory inside the worktree (the same place relative to the repository). */
  root: string;
  /** Synchronous, so that a signal handler can call it too. */
  remove(): void;
}

/** The node_modules this tree resolves packages from: its own, or the nearest one above it. */
function nodeModulesOf(root: string): string | undefined {
  for (let dir = root; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules"))) return join(dir, "node_modules");
    if (dirname(dir) === dir) return undefined;
  }
}

/** The commit a ref names in the repository of `root`, or a PlanError saying what would work. */
export async function commitOf(root: string, ref: string): Promise<string> {
  const r = await execa("git", ["-C", root, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { reject: false, stdin: "ignore" });
  if (r.exitCode !== 0) {
    throw new PlanError(`--base ${ref}: no such commit in the git repository of ${root}; give a branch, tag or commit (fetch it first: git fetch origin ${ref.replace(/^origin\//, "")})`);
  }
  return r.stdout.trim();
}

/** Checks out `ref` in a temporary worktree; `remove()` takes it away again (also from git's list). */
export async function checkoutBase(root: string, ref: string): Promise<BaseTree> {
  const top = await git(root, ["rev-parse", "--show-toplevel"]).catch(() => {
    throw new PlanError(`${root} is not in a git repository: --base needs one (or run fawkes plan without --base)`);
  });
  const prefix = await git(root, ["rev-parse", "--show-prefix"]);
  const commit = await commitOf(root, ref);
  const dir = mkdtempSync(join(tmpdir(), "fawkes-plan-base-"));
  const gitQuietly = (...args: string[]) => {
    try {
      execFileSync("git", ["-C", top, ...args], { stdio: "ignore" });
    } catch {
      // already gone, or git cannot: the directory is removed and the list pruned either way
    }
  };
  const remove = () => {
    gitQuietly("worktree", "remove", "--force", dir);
    rmSync(dir, { recursive: true, force: true });
    gitQuietly("worktree", "prune");
  };
  try {
    // No hooks: a post-checkout hook of the repository has no business in a preview.
    await git(top, ["-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", "--quiet", dir, commit]);
    const baseRoot = join(dir, prefix);
    if (!existsSync(join(baseRoot, "Pulumi.yaml"))) throw new PlanError(`--base ${ref}: ${prefix || "the repository's top"} has no Pulumi.yaml at ${commit.slice(0, 12)}`);
    const modules = nodeModulesOf(root);
    if (!modules) throw new PlanError(`${root}: no node_modules here or above; run npm ci first`);
    if (!existsSync(join(baseRoot, "node_modules"))) symlinkSync(modules, join(baseRoot, "node_modules"), "dir");
    return { ref, commit, root: baseRoot, remove };
  } catch (e) {
    remove();
    throw e;
  }
}
