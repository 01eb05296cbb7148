// How a host's boot ended, read from the machine: pid 1's record of cloud-init's four stages and
// cloud-init's own result.json, then the bootstrap's done or failed marker.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { inHost } from "./host.ts";

/** cloud-init's stages in the order systemd releases them on Debian 13 (cloud-init-{local,network}, cloud-config, cloud-final). */
export const CLOUD_INIT_STAGES = ["local", "network", "config", "final"] as const;
export type CloudInitStage = (typeof CLOUD_INIT_STAGES)[number];

export interface BootResult {
  ok: boolean;
  seconds?: number;
  /** Seconds of each of cloud-init's stages, from its release to its answer. */
  stages?: Partial<Record<CloudInitStage, number>>;
  /** The bootstrap step that failed, from /run/fawkes/bootstrap.failed. */
  failedStep?: string;
  detail: string;
}

/**
 * Waits for cloud-init to finish in the host and reads what failed where. Finished is pid 1's
 * record that cloud-init's four stages have answered (with their status), then cloud-init's own
 * verdict, /run/cloud-init/result.json, the file `cloud-init status` reads: done, with the
 * errors of every stage. Read from the machine, it costs nothing; `cloud-init status --wait`
 * starts a Python of its own and polls 4 times a second, sleeping once more after it saw the
 * end (0.25 to 0.5 s per boot here). Its summary is still asked for when a boot failed.
 */
export async function waitForBoot(init: number, timeoutMs = 120_000): Promise<BootResult> {
  const root = `/proc/${init}/root`;
  const read = (p: string) => {
    try {
      return readFileSync(join(root, p), "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const deadline = Date.now() + timeoutMs;
  let booted = parseBootRecord(read("run/fawkes-local/booted"));
  while (booted === undefined && existsSync(`/proc/${init}`) && Date.now() < deadline) {
    await sleep(20);
    booted = parseBootRecord(read("run/fawkes-local/booted"));
  }
  const status = booted?.status;
  const seconds = booted?.seconds;
  const stageSeconds = booted?.stages;
  const errors = cloudInitErrors(read("run/cloud-init/result.json"));
  const failedStep = read("run/fawkes/bootstrap.failed");
  const ok = status === 0 && errors !== undefined && errors.length === 0 && failedStep === undefined && existsSync(join(root, "run/fawkes/bootstrap.done"));
  if (ok) return { ok, seconds, stages: stageSeconds, detail: "status: done" };
  // What a person needs first: the bootstrap's own last words, then cloud-init's summary (its
  // progress dots left out).
  const lastWords = failedStep === undefined ? [] : (read("var/log/fawkes/bootstrap.log") ?? "").split("\n").slice(-3);
  const r = booted === undefined && !existsSync(`/proc/${init}`) ? undefined : await inHost(init, ["cloud-init", "status", "--long"], { timeoutMs: 30_000 });
  const summary = [
    ...(booted === undefined ? [existsSync(`/proc/${init}`) ? `cloud-init did not finish within ${timeoutMs / 1000} s` : "the host stopped before cloud-init finished"] : []),
    ...(booted !== undefined && status !== 0 ? [`a cloud-init stage exited ${status}`] : []),
    ...(r?.all ?? "").split("\n").filter((l) => !/^\.+$/.test(l.trim())),
  ];
  return { ok, seconds, stages: stageSeconds, failedStep, detail: [...lastWords, ...summary].join("\n").trim() };
}

export interface BootRecord {
  /** The first non-zero exit status of cloud-init's stages, 0 when every stage succeeded. */
  status: number;
  start: number;
  end: number;
  seconds: number;
  /** Seconds from each stage's release to its answer. */
  stages: Partial<Record<CloudInitStage, number>>;
}

/** pid 1's boot record, or undefined while it is not there whole (it is renamed into place complete). */
export function parseBootRecord(text: string | undefined): BootRecord | undefined {
  const lines = (text ?? "").trim().split("\n");
  const head = /^(\d+) (\d+\.\d+) (\d+\.\d+)$/.exec(lines[0] ?? "");
  if (!head) return undefined;
  const stages: BootRecord["stages"] = {};
  for (const line of lines.slice(1)) {
    const m = /^(local|network|config|final) (\d+\.\d+) (\d+\.\d+) (\d+)$/.exec(line);
    if (!m) return undefined;
    stages[m[1] as CloudInitStage] = Number(m[3]) - Number(m[2]);
  }
  if (Object.keys(stages).length !== CLOUD_INIT_STAGES.length) return undefined;
  const [start, end] = [Number(head[2]), Number(head[3])];
  return { status: Number(head[1]), start, end, seconds: end - start, stages };
}

/** The errors cloud-init's result.json lists (written when its final stage ends), or undefined without one. */
export function cloudInitErrors(resultJson: string | undefined): string[] | undefined {
  if (resultJson === undefined) return undefined;
  try {
    const errors = (JSON.parse(resultJson) as { v1?: { errors?: unknown } }).v1?.errors;
    return Array.isArray(errors) ? errors.map(String) : undefined;
  } catch {
    return undefined;
  }
}
