// `fawkes run --target aws`: the instance from the stack's Auto Scaling groups (EC2 DescribeInstances
// by the group's tag), the command through Run Command (AWS-RunShellScript, as root, which becomes
// the app's process by appProcessArgv), GetCommandInvocation polled until it ends, the output read
// back past Run Command's limits (remote.ts), the command's exit code passed through. No terminal:
// Run Command has none (Session Manager's interactive sessions need the session-manager-plugin).
// Tested against aws-sdk-client-mock; only AWS itself proves the agent's side. The SDK loads on first use.
import { randomBytes } from "node:crypto";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { awsClient } from "../aws/clients.ts";
import { loadStack } from "../config/index.ts";
import { planEnvironment } from "../model/index.ts";
import { awsMessage, awsRunHosts, errorName, groupNameOf } from "./aws-hosts.ts";
import { appOnRole, appProcessArgv, chooseHost, rolesOf, RunError, type RunRequest } from "./plan.ts";
import { firstPart, partScript, partsToRead, PART_BYTES, runScript } from "./remote.ts";

export const RUN_DOCUMENT = "AWS-RunShellScript";
/** How long the command may run on the instance (the document's executionTimeout). */
export const EXECUTION_SECONDS = 3600;
/** How long the SSM agent has to pick the command up (SendCommand's TimeoutSeconds; AWS's minimum is 30). */
export const DELIVERY_SECONDS = 120;
/** Right after SendCommand, GetCommandInvocation may answer InvocationDoesNotExist for a while. */
export const INVOCATION_RACE_SECONDS = 30;
/** stdin goes inside the script, base64: more than this belongs in a release or on shared storage. */
export const MAX_STDIN_BYTES = 32 * 1024;
/** Each of stdout and stderr is read back up to this; the rest stays on the instance (RUNS_DIR, a day). */
export const READBACK_BYTES = 1024 * 1024;

/** Where the command's bytes go, what it reads, and notes for the person (stderr). */
export interface AwsRunIo {
  stdin?: Uint8Array;
  out(bytes: Uint8Array): void;
  err(bytes: Uint8Array): void;
  note(line: string): void;
}

export interface AwsRunDeps {
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** The run's dir name on the instance. */
  runId?: () => string;
  /** Called once the command was sent: from then on the run is the history's, however it ends. */
  started?: (host: string) => void;
  /** How much of each stream is read back; READBACK_BYTES. */
  readbackBytes?: number;
}

type Sender = { send(command: object): Promise<unknown> };
type Sdk = typeof import("@aws-sdk/client-ssm");

interface Invocation {
  Status?: string;
  StatusDetails?: string;
  ResponseCode?: number;
  StandardOutputContent?: string;
  StandardErrorContent?: string;
}

const ENDED = new Set(["Success", "Failed", "Cancelled", "TimedOut"]);

/** Sends one script to the instance and waits for its invocation to end; returns the invocation. */
async function runOnce(sdk: Sdk, ssm: Sender, instance: string, script: string, executionSeconds: number, deps: Required<Pick<AwsRunDeps, "sleep" | "now">>, comment: string, onSent?: (id: string) => void): Promise<Invocation & { commandId: string }> {
  let sent: { Command?: { CommandId?: string } };
  try {
    sent = (await ssm.send(
      new sdk.SendCommandCommand({
        InstanceIds: [instance],
        DocumentName: RUN_DOCUMENT,
        Comment: comment.slice(0, 100),
        TimeoutSeconds: DELIVERY_SECONDS,
        Parameters: { commands: [script], executionTimeout: [String(executionSeconds)] },
      }),
    )) as typeof sent;
  } catch (e) {
    const hint =
      errorName(e) === "InvalidInstanceId"
        ? `: Systems Manager cannot reach ${instance} (its SSM agent is not running or not registered, or the instance is not running)`
        : errorName(e) === "AccessDeniedException"
          ? ` (the caller needs ssm:SendCommand on the instance and on the document ${RUN_DOCUMENT}: docs/aws.md)`
          : "";
    throw new RunError(`sending the command to ${instance} failed: ${awsMessage(e)}${hint}`);
  }
  const commandId = sent.Command?.CommandId;
  if (!commandId) throw new RunError(`SendCommand to ${instance} answered no command id`);
  onSent?.(commandId);
  const sentAt = deps.now();
  const deadline = sentAt + (DELIVERY_SECONDS + executionSeconds + 60) * 1000;
  let wait = 500;
  for (;;) {
    await deps.sleep(wait);
    wait = Math.min(wait * 2, 5000);
    let inv: Invocation;
    try {
      inv = (await ssm.send(new sdk.GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instance }))) as Invocation;
    } catch (e) {
      // The invocation appears a moment after SendCommand answers (eventual consistency).
      if (errorName(e) === "InvocationDoesNotExist" && deps.now() - sentAt < INVOCATION_RACE_SECONDS * 1000) continue;
      throw new RunError(`reading command ${commandId} on ${instance} failed: ${awsMessage(e)} (the caller needs ssm:GetCommandInvocation)`);
    }
    if (inv.Status !== undefined && ENDED.has(inv.Status)) return { ...inv, commandId };
    if (deps.now() > deadline) throw new RunError(`command ${commandId} on ${instance} is still ${inv.Status ?? "unknown"} after ${Math.round((deps.now() - sentAt) / 1000)} s; see aws ssm get-command-invocation --command-id ${commandId} --instance-id ${instance}`);
  }
}

/** Why a script produced no output of fawkes's: the invocation's status, and what it wrote. */
function notRun(inv: Invocation & { commandId: string }, instance: string): RunError {
  const status = inv.StatusDetails && inv.StatusDetails !== inv.Status ? `${inv.Status} (${inv.StatusDetails})` : inv.Status;
  const why = inv.StatusDetails === "DeliveryTimedOut" ? `; the SSM agent on ${instance} did not pick it up within ${DELIVERY_SECONDS} s` : inv.Status === "TimedOut" ? `; it ran past ${EXECUTION_SECONDS} s` : "";
  const said = [inv.StandardErrorContent, inv.StandardOutputContent].map((s) => s?.trim()).filter((s) => s).join("\n");
  return new RunError(`command ${inv.commandId} on ${instance} ended ${status}, exit ${inv.ResponseCode ?? "unknown"}${why}${said ? `:\n${said}` : ""}`);
}

/** Runs the command on an instance of the stack that runs the app; returns it and the command's exit code. */
export async function awsRun(req: RunRequest, io: AwsRunIo, deps: AwsRunDeps = {}): Promise<{ host: string; exitCode: number; commandId: string }> {
  const spec = loadStack(req.root, req.stack);
  const plan = planEnvironment(spec);
  const roles = rolesOf(plan, req.app);
  if (io.stdin !== undefined && io.stdin.length > MAX_STDIN_BYTES) {
    throw new RunError(`stdin is ${io.stdin.length} bytes; fawkes sends at most ${MAX_STDIN_BYTES} through Run Command: put the data in a release or on the app's shared storage`);
  }
  const hosts = await awsRunHosts(spec, roles);
  const sdk: Sdk = await import("@aws-sdk/client-ssm");
  const ssm = awsClient(sdk.SSMClient, spec.knobs.region) as SSMClient as Sender;
  const clock = { sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))), now: deps.now ?? Date.now };
  if (hosts.length === 0 && req.host === undefined) {
    throw new RunError(`no running instance of ${req.stack} runs ${req.app} (Auto Scaling groups ${roles.map((r) => groupNameOf(spec.project, spec.stack, r)).join(", ")}); is the stack up?`);
  }
  const host = chooseHost(hosts, req.app, req.stack, req.host);
  const app = appOnRole(plan, host.role, req.app);
  const id = deps.runId?.() ?? randomBytes(8).toString("hex");
  io.note(`${req.stack}: ${req.app} on ${host.name} (${host.role}) through Run Command; no terminal there`);
  const inv = await runOnce(sdk, ssm, host.name, runScript(id, appProcessArgv(app, req.argv), io.stdin), EXECUTION_SECONDS, clock, `fawkes run ${req.app} (${id})`, () => deps.started?.(host.name));
  const first = firstPart(inv.StandardOutputContent ?? "");
  if (!first) throw notRun(inv, host.name);
  const readback = deps.readbackBytes ?? READBACK_BYTES;
  const parts = partsToRead(first.sizes, readback);
  const cut = first.sizes.out > readback || first.sizes.err > readback;
  let left = parts.length;
  // Each stream whole, stdout first: Run Command keeps them apart anyway.
  for (const stream of ["out", "err"] as const) {
    const write = stream === "out" ? io.out : io.err;
    write(first[stream]);
    for (const part of parts.filter((p) => p.stream === stream)) {
      const got = await runOnce(sdk, ssm, host.name, partScript(id, stream, part.offset, --left === 0 && !cut), 60, clock, `fawkes run ${req.app} (${id}) output`);
      if (got.Status !== "Success") throw notRun(got, host.name);
      const bytes = Buffer.from((got.StandardOutputContent ?? "").trim(), "base64");
      const expected = Math.min(PART_BYTES, first.sizes[stream] - part.offset);
      if (bytes.length !== expected) throw new RunError(`reading back the command's std${stream} from ${host.name}: ${bytes.length} bytes at ${part.offset}, expected ${expected}`);
      write(bytes);
    }
  }
  if (cut) io.note(`output past ${readback} bytes of each stream was not read back: the whole of it stays on ${host.name} in /var/lib/fawkes/runs/${id} (root's) for a day`);
  return { host: host.name, exitCode: first.exitCode, commandId: inv.commandId };
}
