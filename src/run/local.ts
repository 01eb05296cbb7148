// `fawkes run` on the local target: into the chosen host's namespaces (inHost's nsenter, the host's
// root in its own user namespace, under its bounding set), then the app's process as supervisord
// starts them (appProcessArgv). The machine's terminal never reaches the command: with one, the
// command gets a pseudo-terminal of its own (pty-relay.py); without, pipes, in a session of its
// own, so that no /dev/tty leads back to whoever runs fawkes.
import { isatty } from "node:tty";
import { join } from "node:path";
import { constants } from "node:os";
import { execa } from "execa";
import { loadStack } from "../config/index.ts";
import { envLayout } from "../local/layout.ts";
import { inHostArgv, isHostInit } from "../local/host.ts";
import { readState, type HostState } from "../local/state.ts";
import { planEnvironment } from "../model/index.ts";
import { appOnRole, appProcessArgv, byName, byRole, chooseHost, rolesOf, RunError, type RunHost, type RunRequest } from "./plan.ts";

/** The machine's own python3 (as for host-launch.py), which relays a terminal to the command. */
const MACHINE_PYTHON = "/usr/bin/python3";
export const PTY_RELAY = join(import.meta.dirname, "pty-relay.py");

/** Where the command's bytes go, and whether this process sits at a terminal. */
export interface RunStdio {
  /** stdin and stdout are terminals: the command gets one too (a pseudo-terminal relayed to them). */
  terminal: boolean;
  out(bytes: Uint8Array): void;
  err(bytes: Uint8Array): void;
}

/** The running hosts of a local stack that run the app, in the order `run` prefers them. */
export function localRunHosts(req: Pick<RunRequest, "root" | "stack" | "app">): { hosts: Array<RunHost & { state: HostState }>; plan: ReturnType<typeof planEnvironment> } {
  const plan = planEnvironment(loadStack(req.root, req.stack));
  const roles = rolesOf(plan, req.app);
  const layout = envLayout(req.stack);
  const state = readState(layout.state);
  if (!state) throw new RunError(`stack ${req.stack} is not up locally; fawkes local up --stack ${req.stack}`);
  const hosts = Object.values(state.hosts)
    .filter((h) => roles.includes(h.role) && isHostInit(h.init, { netns: h.netns }))
    .map((h) => ({ name: h.name, role: h.role, state: h }))
    // Healthy hosts first within a role; a running host that failed its boot only when named.
    .sort((a, b) => byRole(a, b) || Number(b.state.healthy) - Number(a.state.healthy) || byName(a, b));
  return { hosts, plan };
}

const exitOf = (r: { exitCode?: number; signal?: string }): number =>
  r.exitCode ?? (r.signal !== undefined ? 128 + (constants.signals[r.signal as NodeJS.Signals] ?? 0) : 1);

/** Signals this process gets while the command runs, passed on to it (never this process's end). */
const PASSED_ON = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

async function passingSignals<T>(to: (signal: NodeJS.Signals) => void, run: () => Promise<T>): Promise<T> {
  const handlers = PASSED_ON.map((s) => [s, () => to(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    return await run();
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}

/**
 * Runs the command on a host of the local stack as the app's user; returns the host and the
 * command's exit code (128+N when signal N ended it). `started` is told the host as the command
 * starts. Needs root: nsenter.
 */
export async function localRun(req: RunRequest, stdio: RunStdio, started: (host: string) => void = () => {}): Promise<{ host: string; exitCode: number }> {
  if (process.getuid?.() !== 0) throw new RunError("the local target needs root (it enters the host's namespaces); run it with sudo");
  const { hosts, plan } = localRunHosts(req);
  const host = chooseHost(hosts, req.app, req.stack, req.host) as RunHost & { state: HostState };
  const app = appOnRole(plan, host.role, req.app);
  const nsenter = ["nsenter", ...inHostArgv(host.state.init!, appProcessArgv(app, req.argv, stdio.terminal ? process.env.TERM : undefined))];
  started(host.name);
  if (stdio.terminal) {
    const relay = execa(MACHINE_PYTHON, ["-I", "-B", PTY_RELAY, ...nsenter], { stdio: "inherit", reject: false });
    const r = await passingSignals((s) => relay.kill(s), () => relay);
    return { host: host.name, exitCode: exitOf(r) };
  }
  // Its own session and process group: no controlling terminal to open, and a signal for the group reaches every process of it.
  const child = execa(nsenter[0]!, nsenter.slice(1), { detached: true, reject: false, buffer: false, stdin: isatty(0) ? "pipe" : "inherit", stdout: "pipe", stderr: "pipe" });
  if (isatty(0)) process.stdin.pipe(child.stdin!);
  child.stdout?.on("data", (b: Buffer) => stdio.out(b));
  child.stderr?.on("data", (b: Buffer) => stdio.err(b));
  const r = await passingSignals((s) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, s);
    } catch {
      // Already gone.
    }
  }, () => child);
  if (isatty(0)) {
    process.stdin.unpipe(child.stdin!);
    process.stdin.pause();
  }
  return { host: host.name, exitCode: exitOf(r) };
}
