import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { alive } from "./proc.ts";

/** Takes the lock dir, or removes it when its owner died, or names its live owner. */
function tryAcquire(dir: string): "acquired" | "stale" | number {
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, "pid"), String(process.pid));
    return "acquired";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  let owner = NaN;
  try {
    owner = Number(readFileSync(join(dir, "pid"), "utf8"));
  } catch {
    // The owner has made the dir but not yet written its pid: wait.
  }
  if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
    rmSync(dir, { recursive: true, force: true });
    return "stale";
  }
  return owner;
}

/**
 * Holds a lock dir while `fn` runs: mkdir is atomic, the dir names its owner's pid, and a lock
 * whose owner died is taken over. Waits up to `timeoutMs` for a live owner, telling `onWait` once.
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>, opts: { timeoutMs?: number; onWait?: (owner: number) => void } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  let told = false;
  mkdirSync(dirname(dir), { recursive: true });
  for (;;) {
    const owner = tryAcquire(dir);
    if (owner === "acquired") break;
    if (owner === "stale") continue;
    if (Date.now() > deadline) throw new Error(`${dir} is still held by pid ${owner} after ${Math.round((opts.timeoutMs ?? 900_000) / 1000)} s`);
    if (!told && opts.onWait && Number.isInteger(owner)) {
      opts.onWait(owner);
      told = true;
    }
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
