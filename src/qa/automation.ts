// What the AWS side of `qa` asks of Pulumi, and nothing more: a small interface over the
// Automation API (which drives the Pulumi CLI), so that qa's logic runs in unit tests against a
// recording double. The real implementation loads `@pulumi/pulumi/automation` only when first
// used (about a second), so commands that never reach Pulumi do not pay for it.
import type { LocalWorkspace } from "@pulumi/pulumi/automation/index.js";
import type { Progress } from "../local/steps.ts";
import type { StateResource } from "./aws-teardown.ts";
import { STAND_IN_SUMS_VARIABLE } from "../render/index.ts";
import { QaError } from "./registry.ts";

/** A stack of the project as the backend lists it, with its tags. */
export interface QaStackSummary {
  name: string;
  tags: Record<string, string>;
  /** Resources in its state; absent when the backend does not say. */
  resourceCount?: number;
  updateInProgress?: boolean;
  lastUpdate?: string;
}

/** The Pulumi operations `qa` uses on AWS, each on a named stack of the project. */
export interface QaStacks {
  /** Checks that a recent enough Pulumi CLI runs and is logged in to a backend: before any slow work. */
  preflight(): Promise<void>;
  /** Selects the stack, creating it in the backend when it has none by that name. */
  selectOrCreate(stack: string): Promise<void>;
  tags(stack: string): Promise<Record<string, string>>;
  setTag(stack: string, key: string, value: string): Promise<void>;
  /** The resources in the stack's state (`pulumi stack export`): none before its first `up`. */
  resources(stack: string): Promise<StateResource[]>;
  /** `pulumi up`, only on `target` URNs when given; its output line by line; returns the stack outputs. */
  up(stack: string, opts: { target?: string[]; onOutput: Progress }): Promise<{ outputs: Record<string, unknown> }>;
  outputs(stack: string): Promise<Record<string, unknown>>;
  /** `pulumi destroy`: every resource of the stack; the stack itself stays. */
  destroy(stack: string, opts: { onOutput: Progress }): Promise<void>;
  /** Removes the (empty) stack from the backend. Its stack file stays: `qa` decides about that. */
  remove(stack: string): Promise<void>;
  /** Every stack of the project, with its tags. */
  list(): Promise<QaStackSummary[]>;
}

/**
 * The first CLI release that keeps stack tags on self-managed backends (S3, Azure Blob, GCS,
 * Postgres, file): 3.211.0. Before it, `pulumi stack tag set` there did nothing, and qa list and
 * qa gc would see no QA stack at all. Pulumi Cloud kept tags long before; one floor for both.
 */
export const MIN_PULUMI_CLI: readonly [number, number, number] = [3, 211, 0];

export const PULUMI_CLI_MISSING =
  "the AWS path of qa needs the Pulumi CLI (https://www.pulumi.com/docs/install/) and a backend login; on this machine use --local";

/** The Pulumi CLI cannot run here: not installed, not on PATH. */
export class PulumiCliMissingError extends QaError {
  constructor(message = PULUMI_CLI_MISSING) {
    super(message);
  }
}

/** Whether an error says that the `pulumi` executable could not be started. */
export function isCliMissing(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  const text = typeof err?.message === "string" ? err.message : String(e);
  return /\bENOENT\b/.test(text) && /pulumi/.test(text) && /spawn|Command failed/.test(text);
}

/** The lines of a failed Pulumi command worth showing: its `error:` lines, else the end of its stderr. */
function summary(e: unknown): string {
  const text = (e as Error)?.message ?? String(e);
  const stderr = /\bstderr: ([\s\S]*?)(?:\n err\?: |$)/.exec(text)?.[1] ?? text;
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const errors = lines.filter((l) => /^error:/.test(l));
  return (errors.length > 0 ? errors : lines.slice(-5)).join("; ") || "no output";
}

/** Every failure as a QaError (exit 1): a missing CLI in the words qa users need, others with Pulumi's own error lines. */
export function translated(op: string, stack: string | undefined, e: unknown): QaError {
  if (e instanceof QaError) return e;
  if (isCliMissing(e)) return new PulumiCliMissingError();
  return new QaError(`pulumi ${op}${stack ? ` of ${stack}` : ""} failed: ${summary(e)}`);
}

/** The same stacks, with every failure translated (see `translated`). qa's functions wrap what they are given. */
export function withClearErrors(stacks: QaStacks): QaStacks {
  const guard =
    <A extends unknown[], R>(op: string, f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await f(...args);
      } catch (e) {
        throw translated(op, typeof args[0] === "string" ? args[0] : undefined, e);
      }
    };
  return {
    preflight: guard("preflight", () => stacks.preflight()),
    selectOrCreate: guard("stack select --create", (s: string) => stacks.selectOrCreate(s)),
    tags: guard("stack tag ls", (s: string) => stacks.tags(s)),
    setTag: guard("stack tag set", (s: string, k: string, v: string) => stacks.setTag(s, k, v)),
    resources: guard("stack export", (s: string) => stacks.resources(s)),
    up: guard("up", (s: string, o: { target?: string[]; onOutput: Progress }) => stacks.up(s, o)),
    outputs: guard("stack output", (s: string) => stacks.outputs(s)),
    destroy: guard("destroy", (s: string, o: { onOutput: Progress }) => stacks.destroy(s, o)),
    remove: guard("stack rm", (s: string) => stacks.remove(s)),
    list: guard("stack ls", () => stacks.list()),
  };
}

/** Chunks of output as whole lines: `write` as they come, `flush` for the last one. */
export function lineWriter(onLine: Progress): { write: (chunk: string) => void; flush: () => void } {
  let rest = "";
  return {
    write(chunk) {
      const parts = (rest + chunk).split(/\r?\n/);
      rest = parts.pop() ?? "";
      for (const line of parts) if (line.trim() !== "") onLine(line);
    },
    flush() {
      if (rest.trim() !== "") onLine(rest);
      rest = "";
    },
  };
}

function versionText(v: readonly number[]): string {
  return v.join(".");
}

/** Whether `have` (major, minor, patch) is at least `want`. */
export function atLeast(have: readonly number[], want: readonly number[]): boolean {
  for (let i = 0; i < want.length; i++) {
    const a = have[i] ?? 0;
    const b = want[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

type Automation = typeof import("@pulumi/pulumi/automation/index.js");

/**
 * The Automation API on the project in `root` (its Pulumi.yaml; stack files in its
 * stackConfigDir): a LocalWorkspace with workDir = root, the same as
 * `LocalWorkspace.createOrSelectStack({ stackName, workDir: root })` per stack, made once.
 * Credentials and the backend are the CLI's own (`pulumi login`, PULUMI_BACKEND_URL,
 * PULUMI_ACCESS_TOKEN, the AWS SDK chain for the program).
 */
export function pulumiStacks(root: string): QaStacks {
  let ready: Promise<{ auto: Automation; ws: LocalWorkspace }> | undefined;
  const workspace = () =>
    (ready ??= (async () => {
      const auto = await import("@pulumi/pulumi/automation/index.js");
      const cli = await auto.PulumiCommand.get();
      // null when PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK asks not to check.
      if (cli.version !== null && !atLeast([cli.version.major, cli.version.minor, cli.version.patch], MIN_PULUMI_CLI)) {
        throw new QaError(
          `the Pulumi CLI here is ${cli.version.version}; qa needs ${versionText(MIN_PULUMI_CLI)} or later, the first that keeps stack tags on every backend (qa records branch, last push and TTL in them): upgrade it (https://www.pulumi.com/docs/install/)`,
        );
      }
      const ws = await auto.LocalWorkspace.create({ workDir: root, pulumiCommand: cli });
      return { auto, ws };
    })());
  // A failed start (no CLI) is not cached: the next call tries again.
  const ws = async () => {
    try {
      return await workspace();
    } catch (e) {
      ready = undefined;
      throw e;
    }
  };
  const selected = async (stack: string) => {
    const { auto, ws: w } = await ws();
    return auto.Stack.select(stack, w);
  };
  const plain = (outputs: Record<string, { value: unknown }>) => Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
  return {
    async preflight() {
      const { ws: w } = await ws();
      await w.whoAmI();
    },
    async selectOrCreate(stack) {
      const { auto, ws: w } = await ws();
      await auto.Stack.createOrSelect(stack, w);
    },
    tags: async (stack) => (await ws()).ws.listTags(stack),
    setTag: async (stack, key, value) => (await ws()).ws.setTag(stack, key, value),
    async resources(stack) {
      const state = await (await selected(stack)).exportStack();
      const resources = (state.deployment as { resources?: Array<Partial<StateResource>> } | undefined)?.resources ?? [];
      return resources.filter((r): r is StateResource => typeof r.urn === "string" && typeof r.type === "string");
    },
    async up(stack, opts) {
      const s = await selected(stack);
      const out = lineWriter(opts.onOutput);
      // A targeted up makes the artifact store before any release is pushed: the program renders
      // stand-in sums then (hosts would refuse them), never the store's (components/release-sums.ts).
      if (opts.target) s.workspace.envVars[STAND_IN_SUMS_VARIABLE] = "1";
      try {
        const r = await s.up({ ...(opts.target ? { target: opts.target } : {}), onOutput: out.write, color: "never", suppressProgress: true });
        return { outputs: plain(r.outputs) };
      } finally {
        if (opts.target) delete s.workspace.envVars[STAND_IN_SUMS_VARIABLE];
        out.flush();
      }
    },
    outputs: async (stack) => plain(await (await selected(stack)).outputs()),
    async destroy(stack, opts) {
      const s = await selected(stack);
      const out = lineWriter(opts.onOutput);
      try {
        await s.destroy({ onOutput: out.write, color: "never", suppressProgress: true });
      } finally {
        out.flush();
      }
    },
    // `pulumi stack rm` deletes Pulumi.<stack>.yaml too unless told not to; qa removes it itself, and only when it made it.
    remove: async (stack) => (await ws()).ws.removeStack(stack, { preserveConfig: true }),
    async list() {
      const { ws: w } = await ws();
      const out: QaStackSummary[] = [];
      for (const s of await w.listStacks()) {
        out.push({
          name: s.name,
          tags: await w.listTags(s.name),
          ...(s.resourceCount !== undefined ? { resourceCount: s.resourceCount } : {}),
          ...(s.updateInProgress !== undefined ? { updateInProgress: s.updateInProgress } : {}),
          ...(s.lastUpdate !== undefined ? { lastUpdate: s.lastUpdate } : {}),
        });
      }
      return out;
    },
  };
}
