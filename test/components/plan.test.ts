// `fawkes plan --base` on a fixture repository: this repository's committed files as `main`, a
// branch with a real change (a gunicorn setting, an app added, a knob changed), and a branch that
// would replace the shared storage and lets production drift from the other stacks.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { CLOUD_CONFIG, decodeUserData, hostFiles } from "../../src/plan/host-files.ts";
import { installMocks, settle } from "../../src/plan/program.ts";
import type { PlanResult } from "../../src/plan/run.ts";
import { ROOT } from "./harness.ts";

let root: string;
/** The dangerous branch, checked out in a directory of its own: a module once loaded from a path stays loaded. */
let dangerRoot: string;

const git = async (...args: string[]) => (await execa("git", ["-c", "user.name=fawkes tests", "-c", "user.email=tests@fawkes.test", "-C", root, ...args])).stdout.trim();
const edit = (path: string, f: (s: string) => string) => {
  const before = readFileSync(join(root, path), "utf8");
  const after = f(before);
  if (after === before) throw new Error(`the fixture edit of ${path} changed nothing: the file moved on, update the test`);
  writeFileSync(join(root, path), after);
};

async function fawkesIn(project: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main([...argv, "--project", project], { out: (t) => (out += t), err: (t) => (err += t), cwd: project });
  return { code, out, err };
}
const fawkes = (...argv: string[]) => fawkesIn(root, argv);
const fawkesOnDanger = (...argv: string[]) => fawkesIn(dangerRoot, argv);

/** Commit ids change with every commit of this repository: the snapshot shows them as x's. */
const withoutCommits = (md: string) =>
  md
    .replace(/\(([0-9a-f]{12})( \+ uncommitted changes)?\)/g, "(xxxxxxxxxxxx$2)")
    // Bundles are named by their sha256, which every template change moves: shown as y's.
    .replace(/\b[0-9a-f]{64}\b/g, "y".repeat(64))
    .replace(/(bundles\/)[0-9a-f]+ … [0-9a-f]+(\.tar\.gz)/g, "$1yyyy … yyyy$2");

const NOTES_APP = `        - name: notes
          source: examples/flask-shop
          processes:
            web:
              wsgi: shop.app:app
          health:
            path: /healthz
          domains:
            - notes
`;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "fawkes-plan-"));
  await execa("sh", ["-c", `git -C '${ROOT}' archive HEAD | tar -x -C '${root}'`]);
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
  writeFileSync(join(root, ".gitignore"), "node_modules\n");
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "base");

  // A real change: a gunicorn setting, an app added (pinned in every stack), a knob changed.
  await git("checkout", "-q", "-b", "feature");
  // The new app goes last: apps before it keep their ports (one inserted before them moves theirs, and replaces their target groups).
  edit("Pulumi.yaml", (s) => `${s.replace("gracefulTimeoutSeconds: 30", "gracefulTimeoutSeconds: 45").trimEnd()}\n${NOTES_APP}`);
  for (const stack of ["dev", "qa", "staging", "production"]) edit(`stacks/Pulumi.${stack}.yaml`, (s) => s.replace(/(\n {4}blog: r[0-9a-f]+\n)/, "$1    notes: r8fc028ebbba1\n"));
  edit("stacks/Pulumi.staging.yaml", (s) => s.replace("web: { min: 2, max: 4, desired: 2 }", "web: { min: 2, max: 4, desired: 3 }"));
  await git("commit", "-q", "-am", "graceful timeout 45 s, the notes app, 3 staging web hosts");

  // Dangerous: EFS in maxIO mode (a new file system), and production's throughput on its own.
  await git("checkout", "-q", "-b", "danger", "main");
  edit("components/shared-storage.ts", (s) =>
    s.replace('performanceMode: "generalPurpose", throughputMode: "elastic"', 'performanceMode: "maxIO", throughputMode: pulumi.getStack() === "production" ? "bursting" : "elastic"'),
  );
  await git("commit", "-q", "-am", "maxIO storage; production bursts");
  await git("checkout", "-q", "feature");
  dangerRoot = `${root}-danger`;
  await git("worktree", "add", "-q", dangerRoot, "danger");
  symlinkSync(join(ROOT, "node_modules"), join(dangerRoot, "node_modules"), "dir");
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  if (dangerRoot) rmSync(dangerRoot, { recursive: true, force: true });
});

describe("fawkes plan --base main, on a branch with a real change", () => {
  it("matches the reviewed Markdown for staging, with a diff per host-image file", async () => {
    const r = await fawkes("plan", "--stack", "staging", "--base", "main", "--format", "md");
    expect(r.err).not.toContain("error");
    expect(r.code).toBe(0);
    const md = withoutCommits(r.out);
    await expect(md).toMatchFileSnapshot("__snapshots__/plan-staging.md");
    // What the reviewer relies on, said apart from the snapshot.
    expect(md.startsWith("<!-- fawkes-plan -->\n")).toBe(true);
    // 8 new resources of the notes app; updates: 2 launch templates, the web group, the hosts' and the access roles' log
    // grants; each role's bundle object replaced (its key is its sha256); 18 host-image files.
    expect(md).toContain("| staging | 8 | 8 | 2 | 0 | 18 |");
    expect(md).toMatch(/\+- replace \| <code>fawkes-web-bundle<\/code>/);
    expect(md).toContain("-graceful_timeout = 30\n+graceful_timeout = 45");
    expect(md).toMatch(/web: <code>\/etc\/fawkes\/apps\/notes\/gunicorn.conf.py<\/code> \(added, \+\d+ −0\)/);
    expect(md).toContain("desired 2 → 3");
    expect(md).not.toMatch(/userData.*[A-Za-z0-9+/]{80}/); // never the base64 blob
  });

  it("plans every stack: the same catalogue change everywhere, the knob only in staging, no danger", async () => {
    const r = await fawkes("plan", "--all", "--base", "main", "--format", "json");
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as PlanResult & { failed: boolean };
    expect(plan.failed).toBe(false);
    expect(plan.stacks.map((s) => s.stack)).toEqual(["dev", "production", "qa", "staging"]);
    for (const s of plan.stacks) {
      expect(s.dangers, s.stack).toEqual([]);
      expect(s.files.some((f) => f.path === "/etc/fawkes/apps/shop/gunicorn.conf.py" && f.diff.includes("+graceful_timeout = 45")), s.stack).toBe(true);
      // The new app: its target group, listener rule, security-group rules and SSM parameter.
      expect(s.resources.filter((c) => c.action === "create").map((c) => c.type), s.stack).toContain("aws:lb/targetGroup:TargetGroup");
      expect(s.fleets.find((f) => f.role === "web")?.replaced, s.stack).toBe(true);
    }
    const staging = plan.stacks.find((s) => s.stack === "staging")!;
    expect(staging.fleets.find((f) => f.role === "web")).toMatchObject({ hosts: 3, capacity: { before: 2, after: 3 }, steps: [{ hosts: 2, checkpoint: true }, { hosts: 1, checkpoint: false }] });
    expect(plan.stacks.find((s) => s.stack === "dev")!.fleets.find((f) => f.role === "web")?.capacity).toBeUndefined();
  });

  it("fits every stack in one pull-request comment: a diff shown once, then pointed at", async () => {
    const r = await fawkes("plan", "--all", "--base", "main", "--format", "md");
    expect(r.code).toBe(0);
    expect(r.out.length).toBeLessThan(65_536);
    expect(r.out.match(/\+graceful_timeout = 45/g)).toHaveLength(3); // shop, blog and the new notes, in dev only
    expect(r.out).toContain("The same diff as in **dev**: web: <code>/etc/fawkes/apps/blog/gunicorn.conf.py</code>");
  });

  it("compares with HEAD by default: a clean tree plans no change", async () => {
    const r = await fawkes("plan", "--stack", "dev");
    expect(r.code).toBe(0);
    expect(r.out).toContain("dev: no change");
    expect(r.out).toContain("no dangers");
  });

  it("leaves no worktree behind", async () => {
    expect(await git("worktree", "list", "--porcelain")).not.toContain("fawkes-plan-base-");
  });
});

describe("fawkes plan on a dangerous change", () => {
  it("flags the shared storage replaced and exits 1 until allowed", async () => {
    const r = await fawkesOnDanger("plan", "--all", "--base", "main", "--format", "md");
    expect(r.code).toBe(1);
    expect(r.out).toContain("**⚠ Dangers**");
    expect(r.out).toMatch(/- \*\*production\*\* \(storage\): fawkes-shared-fs \(aws:efs\/fileSystem:FileSystem\) would be replaced \(performanceMode changed\)/);
    expect(r.out).toContain("<code>performanceMode</code> (forces replacement)");
    // Each stack also drifts from production, and production planned alone from each other stack.
    expect((await fawkesOnDanger("plan", "--stack", "production", "--base", "main", "--allow", "storage")).code).toBe(1);
    expect((await fawkesOnDanger("plan", "--stack", "production", "--base", "main", "--allow", "storage,stack-difference")).code).toBe(0);
    expect((await fawkesOnDanger("plan", "--stack", "dev", "--base", "main", "--allow", "storage")).code).toBe(1);
  });

  it("flags a difference only production has", async () => {
    const r = await fawkesOnDanger("plan", "--all", "--base", "main", "--format", "json", "--allow", "storage");
    expect(r.code).toBe(1);
    const plan = JSON.parse(r.out) as PlanResult;
    const drift = plan.stacks.flatMap((s) => s.dangers.filter((d) => d.kind === "stack-difference").map((d) => `${s.stack}: ${d.message}`));
    expect(drift).toHaveLength(3);
    for (const d of drift) expect(d).toContain("throughputMode");
    expect((await fawkesOnDanger("plan", "--all", "--base", "main", "--allow", "all")).code).toBe(0);
  });

  it("says which ref is missing, and refuses bad flags", async () => {
    const missing = await fawkesOnDanger("plan", "--all", "--base", "no-such-branch");
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("--base no-such-branch: no such commit");
    expect((await fawkesOnDanger("plan", "--base", "main")).code).toBe(2);
    expect((await fawkesOnDanger("plan", "--all", "--format", "html")).code).toBe(2);
    expect((await fawkesOnDanger("plan", "--all", "--allow", "everything")).code).toBe(2);
  });
});

describe("what a plan never shows", () => {
  it("masks secret inputs", async () => {
    const { resources } = await installMocks("fawkes", "dev", { secrets: "mask" });
    new aws.ssm.Parameter("p", { name: "/fawkes/dev/shop/SHOP_SECRET_KEY", type: "SecureString", value: pulumi.secret("hunter2-value") });
    await settle(resources);
    expect(resources[0]!.inputs.value).toMatch(/^\[secret [0-9a-f]{8}\]$/);
    expect(JSON.stringify(resources)).not.toContain("hunter2");
  });

  it("decodes gzipped user-data into its files", () => {
    const text = "#cloud-config\nwrite_files:\n  - path: /etc/x.conf\n    content: |\n      a = 1\nruncmd:\n  - [/usr/local/sbin/boot]\n";
    const files = hostFiles(decodeUserData(gzipSync(text).toString("base64")));
    expect(files.map((f) => f.path)).toEqual([CLOUD_CONFIG, "/etc/x.conf"]);
    expect(files[1]!.content).toBe("a = 1\n");
    expect(files[0]!.content).toContain("(/etc/x.conf, shown as a file of its own)");
    expect(files[0]!.content).toContain("runcmd:");
  });
});
