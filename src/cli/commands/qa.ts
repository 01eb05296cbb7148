import { BuildNeedsRootError } from "../../artifact/index.ts";
import { StepError } from "../../local/steps.ts";
import {
  expiresAt, formatGcLine, formatList, pulumiStacks, qaDown, qaDownAws, QaError, qaExtend, qaGc, qaGcAws, qaList, qaListAws, qaUpAws, qaUpLocal, ttlMs, type QaGcResult, type QaRecord, type QaUpAwsResult,
} from "../../qa/index.ts";
import { UsageError, type Command, type Io, type Options } from "../command.ts";
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

const AWS_NEEDS = `The AWS path runs Pulumi through its Automation API: it needs the Pulumi CLI 3.211 or later on
PATH (https://www.pulumi.com/docs/install/; earlier releases drop stack tags on self-managed
backends), a backend login (pulumi login: Pulumi Cloud, or s3://, file:// and the like), and AWS
credentials from the default chain allowed to manage the stack's resources and write its
artifact bucket. Without the Pulumi CLI it stops with exit 1 and says so. Not verified on the
machine this was written on (no Pulumi CLI, no AWS account): unit tests drive it through a
recording double of the Automation API.`;

const localFlag: Options = { local: { type: "boolean" } };

function printUpAws(io: Io, r: QaUpAwsResult, json: boolean): number {
  const built = r.builds.filter((b) => b.status === "built").map((b) => b.app);
  if (json) {
    const { builds: _builds, ...rest } = r;
    io.out(`${JSON.stringify({ ...rest, built }, null, 2)}\n`);
    return 0;
  }
  io.out(`${r.stack} (branch ${r.branch} at ${r.commit.slice(0, 12)}) on AWS: up${r.bucketCreated ? " (artifact bucket created)" : ""}\n`);
  for (const [app, url] of Object.entries(r.urls)) io.out(`  ${app}: ${url}${r.releases[app] ? ` (release ${r.releases[app]})` : ""}\n`);
  return 0;
}

export const qaUpCmd: Command = {
  name: "qa up",
  summary: "A QA environment for a git branch, on AWS or with --local on this machine: its releases built at the branch head, pinned in its own stack, deployed; prints the URLs.",
  usage: "fawkes qa up --branch B [--local] [--ref REF] [--ttl 3d] [--json]",
  help: `The branch's stack is qa-<branch> (lowercase, cut and hashed to fit every name limit; see
qaStackName), layered over the qa template stack. Every app of the catalogue is built at REF
(default the branch) exactly as \`fawkes build --all --ref REF\` builds it (a release already in
the store is not built again) and each release id is pinned in stacks/Pulumi.<qa stack>.yaml
(created when missing). Building needs root, unless every release is already in the store.
Run it again on each push: the same head changes nothing; a new head builds, pins and replaces
the hosts of what changed.

On AWS (the default): the Pulumi stack qa-<branch> is selected or created in the backend you are
logged in to, and tagged with what qa list and qa gc read: fawkes:qa=true, fawkes:branch,
fawkes:commit, fawkes:lastPush (the head's committer date), fawkes:ttl (the qaTtl knob unless
--ttl), fawkes:createdAt (kept from the first up) and fawkes:createdStackFile. On the stack's
first up its artifact bucket does not exist yet: a targeted pulumi up creates the artifact store
alone, then the releases are pushed there (as fawkes build --push does; one the bucket has is
skipped). Each secret the catalogue declares that has no SSM parameter of the branch stack yet
gets a random value (SecureString /<project>/<stack>/<app>/<NAME>, as fawkes secret set
--generate makes; an existing parameter is never overwritten; set a real value with fawkes secret
set ... --target aws). Then the checks of fawkes check --target aws run, and any problem stops it
before the hosts boot (each named with its fix); then pulumi up deploys the whole stack. The URLs
come from the stack's outputs.
Pulumi's own output goes to stderr line by line.

${AWS_NEEDS}

With --local: the stack is booted on this machine as \`fawkes local up\` boots it and recorded in
\${FAWKES_HOME:-/var/lib/fawkes}/qa/<stack>.json (branch, commit, last push, TTL). Needs root.

Flags:
  --branch B   the git branch (required)
  --local      on this machine instead of AWS
  --ref REF    the commit to build (default: the branch)
  --ttl D      time without a push after which qa gc removes it, like 36h, 3d, 2w (default: qaTtl)
  --json       print the result as JSON

Progress goes to stderr; the stack and each app's URL to stdout.

Exit codes: 0 deployed (locally: every host healthy); 1 a build failed, the ref does not exist, a
configuration problem, not root, no Pulumi CLI or no backend login, pulumi up failed (its error
lines are printed), a push to the bucket failed, a secret could not be written, the AWS check
found problems, or (--local) a host failed; 2 usage; 3 (--local)
another command holds the stack's deploy lock.`,
  options: { branch: { type: "string" }, ...localFlag, ref: { type: "string" }, ttl: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const branch = branchOf(values);
    const ttl = ttlOf(values);
    const root = findProjectRoot(io.cwd, values.project);
    const ref = typeof values.ref === "string" ? values.ref : undefined;
    return reported(io, async () => {
      if (!values.local) return printUpAws(io, await qaUpAws({ root, branch, ref, ttl, stacks: pulumiStacks(root), progress: progress(io) }), values.json === true);
      const r = await qaUpLocal({ root, branch, ref, ttl, progress: progress(io) });
      const { record, up } = r;
      const built = r.builds.filter((b) => b.status === "built").map((b) => b.app);
      return printUp(io, up, { json: values.json === true, title: `${record.stack} (branch ${branch} at ${record.commit.slice(0, 12)})`, releases: record.releases, extra: { ...record, built } });
    });
  },
};

export const qaDownCmd: Command = {
  name: "qa down",
  summary: "Remove a branch's QA environment, on AWS or with --local on this machine; never any other stack.",
  usage: "fawkes qa down --branch B [--local] [--json]",
  help: `On AWS (the default): empties the stack's buckets (every object version and delete marker:
a bucket made before QA buckets were force-destroyed would stop the destroy), pulumi destroy of the
branch's QA stack, deletes its log groups again if a dying host's agent recreated them, then pulumi
stack rm, then the stack file stacks/Pulumi.<qa stack>.yaml if qa up created it (its
fawkes:createdStackFile tag). Running it again after a failure carries on where it stopped. A
stack qa up did not tag (fawkes:qa=true) is refused untouched, as is any name that is not a QA
stack's. When the AWS path cannot run (no Pulumi CLI) or finds no such stack, and this machine has
a local QA environment for the branch, the message says so: pass --local to remove that one.

${AWS_NEEDS}

With --local: removes everything of the branch's QA stack on this machine (as fawkes local down
does), the stack file when qa up created it, and the record. Its history
($FAWKES_HOME/history) stays. Needs root.

Every other stack, QA or not, is left alone.

Flags:
  --branch B   the git branch (required)
  --local      the environment on this machine instead of the AWS stack
  --json       print the result as JSON

Exit codes: 0 removed; 1 no QA environment for that branch (the known ones are listed), a stack
qa up did not make, no Pulumi CLI or no backend login, a bucket S3 would not empty, pulumi destroy
or stack rm failed, or (--local) not root; 2 usage.`,
  options: { branch: { type: "string" }, ...localFlag, json: { type: "boolean" } },
  async run({ values }, io) {
    const branch = branchOf(values);
    return reported(io, async () => {
      let r: { stack: string; stackFileRemoved: boolean; file?: string };
      if (values.local) {
        const l = await qaDown(branch, progress(io));
        r = { stack: l.stack, stackFileRemoved: l.stackFileRemoved, ...(l.record ? { file: l.record.stackFile } : {}) };
      } else {
        const root = findProjectRoot(io.cwd, values.project);
        const a = await qaDownAws({ root, branch, stacks: pulumiStacks(root), progress: progress(io) });
        r = { stack: a.stack, stackFileRemoved: a.stackFileRemoved, file: a.stackFile };
      }
      const target = values.local ? "local" : "aws";
      if (values.json) io.out(`${JSON.stringify({ branch, stack: r.stack, target, removed: true, stackFileRemoved: r.stackFileRemoved }, null, 2)}\n`);
      else io.out(`${r.stack} (branch ${branch}): down${values.local ? "" : " on AWS"}${r.stackFileRemoved ? `, ${r.file} removed` : ""}\n`);
      return 0;
    });
  },
};

export const qaListCmd: Command = {
  name: "qa list",
  summary: "QA environments, on AWS or with --local on this machine: branch, stack, age, last push, TTL left, state, URLs.",
  usage: "fawkes qa list [--local] [--json]",
  help: `On AWS (the default): every stack of the project in the Pulumi backend tagged fawkes:qa=true
whose name is a QA stack's, from its tags; URLs from its outputs. STATE is "deployed" (it has
resources), "updating" (an update runs) or "empty" (nothing deployed, e.g. a first up that
failed); no health check is made. A stack so tagged whose name is not a QA stack's, or whose tags
cannot be read, is reported on stderr and left alone.

${AWS_NEEDS}

With --local: the records in \${FAWKES_HOME:-/var/lib/fawkes}/qa. STATE is "up" when the load
balancer runs and a host is healthy, else "down". A record that cannot be read is reported on
stderr and left alone.

TTL LEFT is the last push plus the TTL minus now: negative once expired (qa gc removes it).

Exit codes: 0 listed (also when there is none); 1 (AWS) no Pulumi CLI or no backend login, or
a Pulumi command failed; 2 usage.`,
  options: { ...localFlag, json: { type: "boolean" } },
  async run({ values }, io) {
    return reported(io, async () => {
      let listed;
      if (values.local) listed = await qaList();
      else {
        const root = findProjectRoot(io.cwd, values.project);
        listed = await qaListAws({ stacks: pulumiStacks(root) });
      }
      for (const p of listed.problems) io.err(`warning: ${p}\n`);
      io.out(values.json ? `${JSON.stringify(listed.rows, null, 2)}\n` : formatList(listed.rows));
      return 0;
    });
  },
};

export const qaGcCmd: Command = {
  name: "qa gc",
  summary: "Remove the QA environments (AWS, or with --local this machine's) whose last push is older than their TTL; never any other stack.",
  usage: "fawkes qa gc [--local] [--ttl 3d] [--dry-run] [--json]",
  help: `Each QA environment whose last push (the committer date of its branch head at the last qa up)
is older than its TTL (the qaTtl knob when it was brought up, or --ttl for all) is removed as
fawkes qa down removes it. Only QA stacks (qa-<branch>) are candidates, and on AWS only those qa
up tagged fawkes:qa=true: no other stack, and never the qa template, is ever removed.

${AWS_NEEDS}

With --local: this machine's recorded QA environments. Needs root unless nothing is expired or
--dry-run.

Flags:
  --local      this machine's environments instead of the AWS stacks
  --ttl D      use this TTL for every environment, like 36h, 3d, 2w
  --dry-run    print what would be removed and change nothing
  --json       print the result as JSON

Progress goes to stderr; a line per environment picked to stdout ("removed ..." or "would
remove ...").

Exit codes: 0 every expired environment removed (or none expired, or --dry-run); 1 removing one
failed (the others are still removed), no Pulumi CLI or no backend login (AWS), or not root
(--local); 2 usage.`,
  options: { ...localFlag, ttl: { type: "string" }, "dry-run": { type: "boolean" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const ttl = ttlOf(values);
    const dryRun = values["dry-run"] === true;
    return reported(io, async () => {
      let r: QaGcResult;
      if (values.local) r = await qaGc({ ttl, dryRun, progress: progress(io) });
      else {
        const root = findProjectRoot(io.cwd, values.project);
        r = await qaGcAws({ root, ttl, dryRun, stacks: pulumiStacks(root), progress: progress(io) });
      }
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

export const qaExtendCmd: Command = {
  name: "qa extend",
  summary: "Keep a branch's QA environment on this machine longer than its TTL would: qa gc leaves it alone until then.",
  usage: "fawkes qa extend --branch B --by 2d [--json]",
  help: `Moves the environment's expiry --by later (from its expiry, or from now when it already
expired), whatever its last push: a demo next week, a long review. Changes no host. The local
target's QA environments (their records on this machine).

Flags:
  --branch B   the git branch (required)
  --by D       how much longer: 36h, 3d, 2w (required)
  --json       print the record as JSON

Exit codes: 0 extended; 1 no QA environment for that branch on this machine; 2 usage.`,
  options: { branch: { type: "string" }, by: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const branch = branchOf(values);
    if (typeof values.by !== "string") throw new UsageError("give how much longer: --by 2d");
    const by = values.by;
    return reported(io, async () => {
      const r = qaExtend(branch, by);
      io.out(values.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.stack} (branch ${r.branch}): kept until ${expiresAtText(r)}\n`);
      return 0;
    });
  },
};

const expiresAtText = (r: QaRecord) => new Date(expiresAt(r)).toISOString().replace(/\.\d+Z$/, "Z");
