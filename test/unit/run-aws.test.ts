// `fawkes run --target aws` against the SDK clients mocked at the client level (aws-sdk-client-mock):
// the instance found by its group's tag, SendCommand, GetCommandInvocation polled (through the
// InvocationDoesNotExist that follows SendCommand), the exit code passed through, and output longer
// than GetCommandInvocation returns read back whole. The mocked SSM plays the agent for real: it
// runs each script fawkes sends with bash (the app's process prefix, which needs a host, taken off;
// the runs dir moved to a temp dir) and answers what GetCommandInvocation would: at most 24,000
// characters of stdout and 8,000 of stderr, the script's exit code as ResponseCode.
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { execa } from "execa";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { shellWords } from "../../src/render/index.ts";
import { appProcessArgv, awsRun, EXECUTION_SECONDS, groupNameOf, partScript, READBACK_BYTES, RUN_DOCUMENT, RUNS_DIR, runScript, RunError, type AwsRunIo, type RunRequest } from "../../src/run/index.ts";

const ROOT = join(import.meta.dirname, "../..");
const spec = loadStack(ROOT, "staging");
const shop = planEnvironment(spec).hosts.find((h) => h.role === "web")!.apps.find((a) => a.name === "shop")!;
/** What the scripts put before the command: it needs a host (setpriv, fawkes-exec); the fake agent runs the command alone. */
const PREFIX = shellWords(appProcessArgv(shop, ["x"])).slice(0, -2);
const WEB = groupNameOf(spec.project, "staging", "web");
const WORKER = groupNameOf(spec.project, "staging", "worker");

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const runs = mkdtempSync(join(tmpdir(), "fawkes-run-aws-"));
afterAll(() => rmSync(runs, { recursive: true, force: true }));

let t = 0;
const deps = (started: string[] = []) => ({ sleep: async (ms: number) => void (t += ms), now: () => t, runId: () => "0123456789abcdef", started: (h: string) => void started.push(h) });

function io(stdin?: Uint8Array) {
  const got = { out: [] as Buffer[], err: [] as Buffer[], notes: [] as string[] };
  const sink: AwsRunIo = { ...(stdin ? { stdin } : {}), out: (b) => void got.out.push(Buffer.from(b)), err: (b) => void got.err.push(Buffer.from(b)), note: (l) => void got.notes.push(l) };
  return { sink, got, out: () => Buffer.concat(got.out), err: () => Buffer.concat(got.err) };
}

const req = (argv: string[], over: Partial<RunRequest> = {}): RunRequest => ({ root: ROOT, stack: "staging", app: "shop", argv, target: "aws", ...over });
const named = (name: string, message = name) => Object.assign(new Error(message), { name });

/** Instances per group: [id, launch time]. */
function instances(groups: Record<string, Array<[string, string]>>) {
  ec2.on(DescribeInstancesCommand).callsFake((input: { Filters: Array<{ Name: string; Values: string[] }> }) => {
    const group = input.Filters.find((f) => f.Name === "tag:aws:autoscaling:groupName")!.Values[0]!;
    return { Reservations: [{ Instances: (groups[group] ?? []).map(([InstanceId, at]) => ({ InstanceId, LaunchTime: new Date(at) })) }] };
  });
}

interface Invocation {
  Status: string;
  StatusDetails?: string;
  ResponseCode: number;
  StandardOutputContent: string;
  StandardErrorContent: string;
}

/** The SSM agent, played by bash; `before` answers GetCommandInvocation first (Pending, a race...). */
function agent(before: Array<Partial<Invocation> | Error> = []) {
  const done = new Map<string, Invocation>();
  let n = 0;
  ssm.on(SendCommandCommand).callsFake(async (input: { Parameters: { commands: string[] } }) => {
    const id = `c-${++n}`;
    const script = input.Parameters.commands[0]!.split(RUNS_DIR).join(runs).split(`${PREFIX} `).join("");
    const r = await execa("bash", ["-c", script], { reject: false });
    done.set(id, { Status: r.exitCode === 0 ? "Success" : "Failed", ResponseCode: r.exitCode ?? -1, StandardOutputContent: r.stdout.slice(0, 24_000), StandardErrorContent: r.stderr.slice(0, 8_000) });
    return { Command: { CommandId: id } };
  });
  const queue = [...before];
  ssm.on(GetCommandInvocationCommand).callsFake(async (input: { CommandId: string }) => {
    const next = queue.shift();
    if (next instanceof Error) throw next;
    if (next) return next;
    return done.get(input.CommandId);
  });
}

beforeEach(() => {
  ec2.reset();
  ssm.reset();
  t = 0;
  instances({ [WEB]: [["i-0aaaaaaaaaaaaaaa1", "2026-01-01T00:00:00Z"], ["i-0aaaaaaaaaaaaaaa2", "2026-02-01T00:00:00Z"]], [WORKER]: [["i-0bbbbbbbbbbbbbbb1", "2026-01-15T00:00:00Z"]] });
});

describe("the command through Run Command", () => {
  it("goes to the newest web instance, as AWS-RunShellScript, polled until it ends; its stdout, stderr and exit code come back", async () => {
    agent([{ Status: "Pending", ResponseCode: -1 }, { Status: "InProgress", ResponseCode: -1 }]);
    const started: string[] = [];
    const o = io();
    const r = await awsRun(req(["sh", "-c", "echo hello; echo oops >&2; exit 7"]), o.sink, deps(started));
    expect(r).toMatchObject({ host: "i-0aaaaaaaaaaaaaaa2", exitCode: 7, commandId: "c-1" });
    expect(started).toEqual(["i-0aaaaaaaaaaaaaaa2"]);
    expect([o.out().toString(), o.err().toString()]).toEqual(["hello\n", "oops\n"]);
    const [send] = ssm.commandCalls(SendCommandCommand);
    const input = send!.args[0].input;
    expect(input).toMatchObject({ InstanceIds: ["i-0aaaaaaaaaaaaaaa2"], DocumentName: RUN_DOCUMENT, TimeoutSeconds: 120, Parameters: { executionTimeout: [String(EXECUTION_SECONDS)] } });
    expect(input.Parameters!.commands).toEqual([runScript("0123456789abcdef", appProcessArgv(shop, ["sh", "-c", "echo hello; echo oops >&2; exit 7"]))]);
    expect(input.Parameters!.commands![0]).toContain(`${PREFIX} sh -c 'echo hello; echo oops >&2; exit 7' <"$stdin"`);
    expect(ssm.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input)).toEqual(Array(3).fill({ CommandId: "c-1", InstanceId: "i-0aaaaaaaaaaaaaaa2" }));
    expect(o.got.notes).toEqual(["staging: shop on i-0aaaaaaaaaaaaaaa2 (web) through Run Command; no terminal there"]);
    expect(readdirSync(runs)).toEqual([]);
  });

  it("goes to --host when it is an instance of a group that runs the app", async () => {
    agent();
    const r = await awsRun(req(["true"], { host: "i-0bbbbbbbbbbbbbbb1" }), io().sink, deps());
    expect(r).toMatchObject({ host: "i-0bbbbbbbbbbbbbbb1", exitCode: 0 });
  });

  it("waits through InvocationDoesNotExist right after SendCommand, and gives up on it after 30 s", async () => {
    agent([named("InvocationDoesNotExist"), named("InvocationDoesNotExist")]);
    expect((await awsRun(req(["sh", "-c", "exit 3"]), io().sink, deps())).exitCode).toBe(3);
    ssm.reset();
    agent(Array(40).fill(named("InvocationDoesNotExist")));
    const started: string[] = [];
    await expect(awsRun(req(["true"]), io().sink, deps(started))).rejects.toThrow(/^reading command c-1 on i-0aaaaaaaaaaaaaaa2 failed: InvocationDoesNotExist: .*ssm:GetCommandInvocation/);
    // Sent, then lost: the history records it (started), failed.
    expect(started).toEqual(["i-0aaaaaaaaaaaaaaa2"]);
  });

  it("a command that does not end within the execution timeout and delivery is given up with where to look", async () => {
    agent(Array(2000).fill({ Status: "InProgress", ResponseCode: -1 }));
    await expect(awsRun(req(["sleep", "1"]), io().sink, deps())).rejects.toThrow(/^command c-1 on i-0aaaaaaaaaaaaaaa2 is still InProgress after \d+ s; see aws ssm get-command-invocation --command-id c-1 --instance-id i-0aaaaaaaaaaaaaaa2$/);
    expect(t).toBeGreaterThan((EXECUTION_SECONDS + 120) * 1000);
  });

  it("stdin goes along, bytes as they are", async () => {
    agent();
    const bytes = Buffer.from([0, 1, 2, 255, 10, ...Buffer.from("print(1)\n")]);
    const o = io(bytes);
    expect((await awsRun(req(["cat"]), o.sink, deps())).exitCode).toBe(0);
    expect(o.out()).toEqual(bytes);
  });

  it("stdin over 32 KiB is refused before anything is asked of AWS", async () => {
    agent();
    await expect(awsRun(req(["cat"]), io(Buffer.alloc(32 * 1024 + 1)).sink, deps())).rejects.toThrow(new RunError("stdin is 32769 bytes; fawkes sends at most 32768 through Run Command: put the data in a release or on the app's shared storage"));
    expect(ec2.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });
});

describe("output past GetCommandInvocation's limits", () => {
  it("is read back whole, part by part, stdout then stderr, and the run's dir is removed with the last part", async () => {
    agent();
    const script = "seq 1 30000; head -c 20000 /dev/zero | tr '\\0' e >&2; exit 4";
    const local = await execa("sh", ["-c", script], { reject: false, stripFinalNewline: false });
    expect(local.stdout.length).toBeGreaterThan(24_000 * 6);
    const o = io();
    const r = await awsRun(req(["sh", "-c", script]), o.sink, deps());
    expect(r.exitCode).toBe(4);
    expect(o.out().toString()).toBe(local.stdout);
    expect(o.err().toString()).toBe(local.stderr);
    const scripts = ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input.Parameters!.commands![0]!);
    // 168,894 bytes of stdout: 12,000 first, then parts of 17,000; 20,000 of stderr: 4,500, then one.
    expect(scripts.slice(1)).toEqual([
      ...[12_000, 29_000, 46_000, 63_000, 80_000, 97_000, 114_000, 131_000, 148_000, 165_000].map((at) => partScript("0123456789abcdef", "out", at, false)),
      partScript("0123456789abcdef", "err", 4_500, true),
    ]);
    expect(readdirSync(runs)).toEqual([]);
  });

  it("past 1 MiB a stream (here 50,000 bytes), what is beyond is left on the instance for a day, and said", async () => {
    expect(READBACK_BYTES).toBe(1024 * 1024);
    agent();
    const o = io();
    const r = await awsRun(req(["head", "-c", "60000", "/dev/zero"]), o.sink, { ...deps(), readbackBytes: 50_000 });
    expect(r.exitCode).toBe(0);
    // 12,000, then parts of 17,000 from 12,000, 29,000 and 46,000: the one that reaches past 50,000 is read whole.
    expect(o.out().length).toBe(60_000);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(4);
    expect(o.got.notes.at(-1)).toBe(`output past 50000 bytes of each stream was not read back: the whole of it stays on i-0aaaaaaaaaaaaaaa2 in /var/lib/fawkes/runs/0123456789abcdef (root's) for a day`);
    expect(readdirSync(runs)).toEqual(["0123456789abcdef"]);
    rmSync(join(runs, "0123456789abcdef"), { recursive: true });
  });
});

describe("what stops a run", () => {
  it("no instance: the groups it looked in; no command sent", async () => {
    instances({});
    await expect(awsRun(req(["true"]), io().sink, deps())).rejects.toThrow(new RunError(`no running instance of staging runs shop (Auto Scaling groups ${WEB}, ${WORKER}); is the stack up?`));
    expect(ssm.calls()).toHaveLength(0);
  });

  it("an instance lookup AWS refuses, with the permission it takes", async () => {
    ec2.on(DescribeInstancesCommand).rejects(named("UnauthorizedOperation", "You are not authorized to perform this operation."));
    await expect(awsRun(req(["true"]), io().sink, deps())).rejects.toThrow(
      new RunError(`finding the running instances of staging's web group ${WEB} failed: UnauthorizedOperation: You are not authorized to perform this operation. (the caller needs ec2:DescribeInstances; credentials come from the SDK's default chain)`),
    );
    expect(ssm.calls()).toHaveLength(0);
  });

  it("--host that is no instance of a group running the app: those that are", async () => {
    await expect(awsRun(req(["true"], { app: "blog", host: "i-0bbbbbbbbbbbbbbb1" }), io().sink, deps())).rejects.toThrow(
      new RunError("i-0bbbbbbbbbbbbbbb1 is not a running host of staging that runs blog; those that do: i-0aaaaaaaaaaaaaaa2 (web), i-0aaaaaaaaaaaaaaa1 (web)"),
    );
  });

  it("an instance Systems Manager cannot reach", async () => {
    ssm.on(SendCommandCommand).rejects(named("InvalidInstanceId", "Instances [[i-0aaaaaaaaaaaaaaa2]] not in a valid state for account 123456789012"));
    const started: string[] = [];
    await expect(awsRun(req(["true"]), io().sink, deps(started))).rejects.toThrow(/^sending the command to i-0aaaaaaaaaaaaaaa2 failed: InvalidInstanceId: .*: Systems Manager cannot reach i-0aaaaaaaaaaaaaaa2 \(its SSM agent/);
    expect(started).toEqual([]);
  });

  it("a command the agent never ran: its status and what it said, no output of the command", async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "c-9" } });
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "TimedOut", StatusDetails: "DeliveryTimedOut", ResponseCode: -1, StandardOutputContent: "", StandardErrorContent: "" });
    const o = io();
    await expect(awsRun(req(["true"]), o.sink, deps())).rejects.toThrow(new RunError("command c-9 on i-0aaaaaaaaaaaaaaa2 ended TimedOut (DeliveryTimedOut), exit -1; the SSM agent on i-0aaaaaaaaaaaaaaa2 did not pick it up within 120 s"));
    expect(o.out().length + o.err().length).toBe(0);
  });
});

describe("the scripts", () => {
  it("pass shellcheck", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fawkes-run-scripts-"));
    try {
      writeFileSync(join(dir, "run"), runScript("0123456789abcdef", appProcessArgv(shop, ["python", "manage.py", "shell"]), Buffer.from("print(1)\n")));
      writeFileSync(join(dir, "part"), partScript("0123456789abcdef", "err", 4500, true));
      const r = await execa("shellcheck", ["--norc", "--format=gcc", join(dir, "run"), join(dir, "part")], { reject: false });
      expect(r.stdout).toBe("");
      expect(r.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
