import { checkAws, formatAwsReport } from "../../check/aws.ts";
import { checkProject, type CheckReport } from "../../check/index.ts";
import { formatProblem, type Problem } from "../../config/index.ts";
import { UsageError, type Command, type Io } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

/** Each problem a line that starts with `error: ` as every command's errors do (file, key, what is wrong; what would be right), then how many. */
function printProblems(io: Io, problems: readonly Problem[], what: string, where = ""): void {
  if (problems.length === 0) return;
  io.err(`${problems.map((p) => `error: ${formatProblem(p)}\n`).join("")}${problems.length} ${what}${problems.length === 1 ? "" : "s"}${where}\n`);
}

function printStacks(io: Io, report: CheckReport): void {
  for (const s of report.stacks) {
    const console = s.spec.knobs.console;
    io.out(console ? `ok ${s.stack}: the deploy console of ${console.manages.join(", ")} (a management stack: no apps)\n` : `ok ${s.stack}: ${s.spec.catalogue.apps.length} apps on ${s.images.map((i) => `${i.role} x${s.spec.knobs.fleet[i.role].desired}`).join(", ")}\n`);
    for (const w of s.warnings) io.out(`warning: ${s.stack}: ${w}\n`);
  }
  printProblems(io, report.problems, "configuration problem");
}

/** `--target aws`: the stack's configuration as without it, then what its `pulumi up` needs from the account. */
async function checkOnAws(io: Io, root: string, stacks: string[] | undefined, json: boolean): Promise<number> {
  if (stacks?.length !== 1) throw new UsageError("--target aws checks one stack against the AWS account: give exactly one --stack S");
  const stack = stacks[0]!;
  const config = checkProject(root, [stack]);
  // A stack that does not load cannot be asked about: its configuration problems come first.
  const aws = config.stacks.length === 1 ? await checkAws({ root, stack }) : undefined;
  const problems = [...config.problems, ...(aws?.problems ?? [])];
  if (json) {
    io.out(`${JSON.stringify({ ok: problems.length === 0, stack, ...(aws ? { account: aws.account, region: aws.region, passed: aws.ok } : {}), problems }, null, 2)}\n`);
    return problems.length === 0 ? 0 : 1;
  }
  printStacks(io, config);
  if (aws) {
    io.out(formatAwsReport(aws).out);
    // The fix of a problem on AWS is a command to run: said as one.
    printProblems(io, aws.problems.map((p) => ({ ...p, hint: p.hint === undefined ? undefined : `fix: ${p.hint}` })), "problem", ` on AWS for ${stack}`);
  }
  return problems.length === 0 ? 0 : 1;
}

export const check: Command = {
  name: "check",
  summary: "Validate the catalogue and every stack (or one), then plan and render each; report every problem at once. With --target aws, also what the stack needs from the AWS account.",
  usage: "fawkes check [--stack S] [--json] | fawkes check --target aws --stack S [--json]",
  help: `Flags:
  --stack S      check only stack S (repeatable); default every stacks/Pulumi.<stack>.yaml
  --target aws   also ask the AWS account (read-only) whether stack S can come up and release
                 without new hosts failing at boot and being replaced in a loop: the credentials
                 and their account (against the accountId knob and the certificate's), each
                 pinned release's artifact in the stack's bucket (S3 HeadObject), each secret the
                 catalogue names in SSM (metadata only, never a value), the certificate (exists,
                 ISSUED, covers every host name the load balancer serves, a * standing for one
                 label), the pinned AMI (available, its architecture), the VPC and Elastic IP
                 quotas against usage plus what the stack adds (a QA stack in its parent's network
                 adds none), the GitHub OIDC provider the stack's roles trust, and the sample
                 stacks' placeholders (account 123456789012, certificate/00000000-..., the example
                 AMI). Credentials and endpoints as every AWS tool reads them (docs/aws.md,
                 "Endpoints"). release --target aws, rollback --target aws and qa up run the same
                 check first and stop on any problem.
  --json         print the result as JSON on stdout (with --target aws: {ok, stack, account,
                 region, passed, problems: [{file, path, message, hint}]})

Exit codes: 0 every stack is valid (and, with --target aws, ready on AWS); 1 problems (each names
file, key and fix; with --target aws also a call AWS refused); 2 usage error.`,
  options: { stack: { type: "string", multiple: true, kind: "stack" }, target: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const root = findProjectRoot(io.cwd, values.project);
    const stacks = values.stack as string[] | undefined;
    if (values.target !== undefined) {
      if (values.target !== "aws") throw new UsageError(`--target ${String(values.target)}: must be aws (without --target, the configuration alone is checked)`);
      return checkOnAws(io, root, stacks, values.json === true);
    }
    const report = checkProject(root, stacks);
    const ok = report.problems.length === 0;
    if (values.json) {
      io.out(`${JSON.stringify({
        ok,
        problems: report.problems,
        stacks: report.stacks.map((s) => ({ stack: s.stack, template: s.spec.template, roles: s.images.map((i) => i.role), apps: s.spec.catalogue.apps.map((a) => a.name), warnings: s.warnings })),
      }, null, 2)}\n`);
      return ok ? 0 : 1;
    }
    printStacks(io, report);
    return ok ? 0 : 1;
  },
};
