// A fawkes project of a test's own: this repository's committed files as a fresh git repository
// (branch master, first commit "v1": the same trees, so the same release ids), with the CLI run
// in it in this process, and `fawkes build` of an app at a ref.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { main } from "../../src/cli/main.ts";

const REPO = join(import.meta.dirname, "../..");

export interface ScratchProject {
  root: string;
  /** git in the project, as the tests' committer; returns stdout, trimmed. */
  git(...args: string[]): Promise<string>;
  /** Runs the fawkes CLI in the project, in this process. */
  fawkes(...argv: string[]): Promise<{ code: number; out: string; err: string }>;
  /** `fawkes build APP --ref REF`: the release id. */
  buildAt(app: string, ref: string): Promise<string>;
  remove(): void;
}

export async function scratchProject(prefix: string): Promise<ScratchProject> {
  const root = mkdtempSync(join(tmpdir(), `fawkes-${prefix}-`));
  const git = async (...args: string[]) => (await execa("git", ["-c", "user.name=fawkes tests", "-c", "user.email=tests@fawkes.test", "-C", root, ...args])).stdout.trim();
  const fawkes = async (...argv: string[]) => {
    let out = "";
    let err = "";
    // --project before a `--` that ends fawkes's own flags (fawkes run APP -- CMD...).
    const end = argv.indexOf("--");
    const args = end < 0 ? [...argv, "--project", root] : [...argv.slice(0, end), "--project", root, ...argv.slice(end)];
    const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), cwd: root });
    return { code, out, err };
  };
  const buildAt = async (app: string, ref: string) => {
    const r = await fawkes("build", app, "--ref", ref, "--json");
    if (r.code !== 0) throw new Error(`fawkes build ${app} --ref ${ref} failed:\n${r.err}`);
    return (JSON.parse(r.out) as { results: Array<{ release: string }> }).results[0]!.release;
  };
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    await execa("sh", ["-c", `git -C '${REPO}' archive HEAD | tar -x -C '${root}'`]);
    await git("init", "-q", "-b", "master");
    await git("add", "-A");
    await git("commit", "-q", "-m", "v1");
  } catch (e) {
    remove();
    throw e;
  }
  return { root, git, fawkes, buildAt, remove };
}

/** A stack file of knobs only, as the e2e tests write them: a fleet, the pins, and rollout pacing. */
export function knobsStack(stack: string, o: { web: number; worker: number; releases: Record<string, string>; rollout?: Record<string, number> }): string {
  const lines = [
    `# ${stack}: a stack of the end-to-end tests. Only knobs.`,
    "config:",
    "  aws:region: eu-west-1",
    `  fawkes:domain: ${stack}.fawkes.test`,
    "  fawkes:fleet:",
    `    web: { min: ${o.web}, max: ${Math.max(1, o.web * 2)}, desired: ${o.web} }`,
    `    worker: { min: ${o.worker}, max: ${Math.max(1, o.worker * 2)}, desired: ${o.worker} }`,
    "  fawkes:releases:",
    ...Object.entries(o.releases).map(([app, id]) => `    ${app}: ${id}`),
    ...(o.rollout ? ["  fawkes:rollout:", ...Object.entries(o.rollout).map(([k, v]) => `    ${k}: ${v}`)] : []),
  ];
  return `${lines.join("\n")}\n`;
}
