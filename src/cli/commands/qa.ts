import { BuildNeedsRootError } from "../../artifact/index.ts";
import { StepError } from "../../local/steps.ts";
import { formatGcLine, formatList, qaDown, QaError, qaGc, qaList, qaUpLocal, ttlMs } from "../../qa/index.ts";
import { UsageError, type Command, type Io } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";
import { printUp } from "./local.ts";

const progress = (io: Io) => (m: string) => io.err(`${m}\n`);

/** QA problems that changed nothing, and failed build steps, said in a line or two: exit 1. */
async function reported(io: Io, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof QaError || e instanceof BuildNeedsRootError) {
      io.err(`error: ${e.message}\n`);
      return 1;
    }
    if (e instanceof StepError) {
      const tail = e.output.trimEnd().split("\n").slice(-20).join("\n");
      io.err(`error: step "${e.step.title}" failed; its output ends with:\n${tail}\n`);
      return 1;
    }
    throw e;
  }
}

function branchOf(values: Record<string, unknown>): string {
  if (typeof values.branch !== "string" || values.branch.trim() === "") throw new UsageError("give the git branch: --branch B");
  return values.branch;
}

function ttlOf(values: Record<string, unknown>): string | undefined {
  if (values.ttl === undefined) return undefined;
  try {
    ttlMs(String(values.ttl));
  } catch (e) {
    throw new UsageError(`--ttl ${String(values.ttl)}: ${(e as Error).message.replace(/^TTL "[^"]*": /, "")}`);
  }
  return String(values.ttl);
}

export const qaUpCmd: Command = {
  name: "qa up",
  summary: "A QA environment for a git branch: its releases built at the branch head, pinned in its own stack, booted; prints the URLs.",
  usage: "fawkes qa up --branch B --local [--ref REF] [--ttl 3d] [--json]",
  help: `The branch's stack is qa-<branch> (lowercase, cut and hashed to fit every name limit; see
qaStackName), layered over the qa template stack. Every app of the catalogue is built at REF
(default the branch) exactly as \`fawkes build --all --ref REF\` builds it (a release already in
the store is not built again), each release id is pinned in stacks/Pulumi.<qa stack>.yaml (created
when missing), and the stack is booted on this machine as \`fawkes local up\` boots it. The
environment is recorded in \${FAWKES_HOME:-/var/lib/fawkes}/qa/<stack>.json: branch, commit, the
commit's committer date as its last push, and its TTL (the stack's qaTtl knob unless --ttl), which
\`fawkes qa gc\` reads. Run it again on each push: the same head changes nothing; a new head
builds, pins and replaces the hosts of what changed. Needs root.

Only the local target is built: without --local the command stops with exit 2 (the AWS path,
through Pulumi's Automation API, is not written yet).

Flags:
  --branch B   the git branch (required)
  --local      boot it on this machine (required for now)
  --ref REF    the commit to build (default: the branch)
  --ttl D      time without a push after which qa gc removes it, like 36h, 3d, 2w (default: qaTtl)
  --json       print the result as JSON

Progress goes to stderr; the stack and each app's URL to stdout.

Exit codes: 0 every host healthy; 1 a build or a host failed, the ref does not exist, a
configuration problem, or not root; 2 usage (including a missing --local); 3 another command
holds the stack's deploy lock.`,
  options: { branch: { type: "string" }, local: { type: "boolean" }, ref: { type: "string" }, ttl: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const branch = branchOf(values);
    if (!values.local) throw new UsageError("only the local target is built so far: pass --local (the AWS path of qa up, through Pulumi's Automation API, is not written yet)");
    const ttl = ttlOf(values);
    const root = findProjectRoot(io.cwd, values.project);
    return reported(io, async () => {
      const r = await qaUpLocal({ root, branch, ref: typeof values.ref === "string" ? values.ref : undefined, ttl, progress: progress(io) });
      const { record, up } = r;
      const built = r.builds.filter((b) => b.status === "built").map((b) => b.app);
      return printUp(io, up, { json: values.json === true, title: `${record.stack} (branch ${branch} at ${record.commit.slice(0, 12)})`, releases: record.releases, extra: { ...record, built } });
    });
  },
};

export const qaDownCmd: Command = {
  name: "qa down",
  summary: "Remove a branch's QA environment: its hosts and local data, the stack file qa up created, its record.",
  usage: "fawkes qa down --branch B [--json]",
  help: `Removes everything of the branch's QA stack on this machine (as fawkes local down does), the
stack file stacks/Pulumi.<qa stack>.yaml when qa up created it, and the record. Every other
stack, QA or not, is left alone. Its history ($FAWKES_HOME/history) stays. Needs root.

Exit codes: 0 removed; 1 no QA environment for that branch on this machine (the known ones are
listed), or not root; 2 usage.`,
  options: { branch: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const branch = branchOf(values);
    return reported(io, async () => {
      const r = await qaDown(branch, progress(io));
      if (values.json) io.out(`${JSON.stringify({ branch, stack: r.stack, removed: true, stackFileRemoved: r.stackFileRemoved }, null, 2)}\n`);
      else io.out(`${r.stack} (branch ${branch}): down${r.stackFileRemoved ? `, ${r.record?.stackFile} removed` : ""}\n`);
      return 0;
    });
  },
};

export const qaListCmd: Command = {
  name: "qa list",
  summary: "QA environments on this machine: branch, stack, age, last push, TTL left, URLs, up or down.",
  usage: "fawkes qa list [--json]",
  help: `Reads the records in \${FAWKES_HOME:-/var/lib/fawkes}/qa. TTL LEFT is the last push plus the
TTL minus now: negative once expired (qa gc removes it). STATE is "up" when the load balancer
runs and a host is healthy. A record that cannot be read is reported on stderr and left alone.

Exit codes: 0 listed (also when there is none); 2 usage.`,
  options: { json: { type: "boolean" } },
  async run({ values }, io) {
    return reported(io, async () => {
      const { rows, problems } = await qaList();
      for (const p of problems) io.err(`warning: ${p}\n`);
      io.out(values.json ? `${JSON.stringify(rows, null, 2)}\n` : formatList(rows));
      return 0;
    });
  },
};

export const qaGcCmd: Command = {
  name: "qa gc",
  summary: "Remove the QA environments whose last push is older than their TTL; never any other stack.",
  usage: "fawkes qa gc [--ttl 3d] [--dry-run] [--json]",
  help: `Each recorded QA environment whose last push (the committer date of its branch head at the
last qa up) is older than its TTL (recorded from the qaTtl knob, or --ttl for all) is removed as
fawkes qa down removes it. Only QA stacks (qa-<branch>) are candidates: no other stack, and never
the qa template, is ever removed. Needs root unless nothing is expired or --dry-run.

Flags:
  --ttl D      use this TTL for every environment, like 36h, 3d, 2w
  --dry-run    print what would be removed and change nothing
  --json       print the result as JSON

Progress goes to stderr; a line per environment picked to stdout ("removed ..." or "would
remove ...").

Exit codes: 0 every expired environment removed (or none expired, or --dry-run); 1 removing one
failed (the others are still removed), or not root; 2 usage.`,
  options: { ttl: { type: "string" }, "dry-run": { type: "boolean" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const ttl = ttlOf(values);
    const dryRun = values["dry-run"] === true;
    return reported(io, async () => {
      const r = await qaGc({ ttl, dryRun, progress: progress(io) });
      for (const p of r.problems) io.err(`warning: ${p}\n`);
      if (values.json) {
        io.out(`${JSON.stringify(r, null, 2)}\n`);
      } else {
        for (const row of r.expired) {
          const failure = r.failed.find((f) => f.stack === row.stack);
          io.out(formatGcLine(row, dryRun, failure ? `FAILED to remove (${failure.error})` : undefined));
        }
        if (r.expired.length === 0) io.out(`nothing expired (${r.kept.length} QA environment${r.kept.length === 1 ? "" : "s"} kept)\n`);
      }
      return r.failed.length === 0 ? 0 : 1;
    });
  },
};
