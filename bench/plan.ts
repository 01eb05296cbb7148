// `fawkes plan --all` as users run it (a process of its own): 4 stacks of 5 and of 20 apps, on a
// change that touches every app's files (the gunicorn graceful timeout), against the commit before.
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { alternate } from "./measure.ts";
import { syntheticProject } from "./synthetic-project.ts";

const REPO = join(import.meta.dirname, "..");

/** This repository's committed code with a synthetic catalogue of `apps` apps, as a git repository: base, then the change. */
async function planProject(apps: number): Promise<{ root: string; cleanup: () => void }> {
  const { root, cleanup } = syntheticProject(apps, { lean: true });
  const git = (...args: string[]) => execa("git", ["-c", "user.name=fawkes bench", "-c", "user.email=bench@fawkes.test", "-C", root, ...args]);
  // The code (index.ts, components, src), not the repository's own catalogue and stacks.
  await execa("sh", ["-c", `git -C '${REPO}' archive HEAD index.ts components src templates tsconfig.json package.json | tar -x -C '${root}'`]);
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"), "dir");
  await git("init", "-q", "-b", "main");
  await git("add", "-A", "--", ".", ":!node_modules");
  await git("commit", "-q", "-m", "base");
  syntheticProject(apps, { dir: root, lean: true, gracefulTimeoutSeconds: 45 });
  await git("commit", "-q", "-am", "graceful timeout 45 s");
  return { root, cleanup };
}

async function planOnce(root: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const r = await execa("node", [join(REPO, "bin/fawkes.mjs"), "plan", "--all", "--base", "HEAD~1", "--format", "md", "--project", root], { reject: false });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`fawkes plan --all in ${root} exited ${r.exitCode}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  return { ms, bytes: Buffer.byteLength(r.stdout) };
}

export async function benchPlan(): Promise<void> {
  const small = await planProject(5);
  const large = await planProject(20);
  try {
    await planOnce(small.root); // warm the file cache
    const runs = 3;
    const { a: ms, b: ml, aBytes: sBytes, bBytes: lBytes } = await alternate(runs, () => planOnce(small.root), () => planOnce(large.root));
    console.log(`\nfawkes plan --all --base HEAD~1 --format md (a process each; worktree, both programs under mocks, diffs), median of ${runs} runs`);
    console.log(`  4 stacks x  5 apps: ${(ms / 1000).toFixed(2)} s  (comment ${sBytes} bytes)`);
    console.log(`  4 stacks x 20 apps: ${(ml / 1000).toFixed(2)} s  (comment ${lBytes} bytes)`);
    console.log(`  ratio 20 apps / 5 apps: ${(ml / ms).toFixed(2)} (4x the apps)`);
  } finally {
    small.cleanup();
    large.cleanup();
  }
}
