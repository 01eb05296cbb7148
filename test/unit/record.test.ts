// Every rollout, rollback and rebuild runs under the stack's deploy lock and ends in its history.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeployLockedError, DeployLockLostError, readDeployLock, readHistory, recorded, type DeployLockStore } from "../../src/release/index.ts";

let home = "";
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "fawkes-record-"));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const work = { stack: "dev", kind: "release" as const, target: "local" as const, command: "fawkes release shop r2 --stack dev", app: "shop", from: "r1", to: "r2" };

describe("recorded", () => {
  it("holds the lock while the work runs, then appends what happened with its log", async () => {
    const lines: string[] = [];
    const e = await recorded(
      work,
      (l) => lines.push(l),
      async (log) => {
        expect(readDeployLock("dev", home)?.lock.command).toBe(work.command);
        log.progress("web canary: replacing dev-web-1");
        return { hostsReplaced: ["dev-web-1"], result: "succeeded" };
      },
      home,
    );
    expect(readDeployLock("dev", home)).toBeUndefined();
    expect(e).toMatchObject({ stack: "dev", kind: "release", app: "shop", from: "r1", to: "r2", result: "succeeded", hostsReplaced: ["dev-web-1"] });
    expect(readHistory("dev", home)).toEqual([e]);
    expect(readFileSync(join(e.logs, "rollout.log"), "utf8")).toContain("web canary: replacing dev-web-1");
    expect(lines.at(-1)).toMatch(/^release succeeded in [\d.]+ s$/);
  });

  it("records an exception as failed, rethrows it and releases the lock", async () => {
    await expect(recorded(work, () => {}, async () => Promise.reject(new Error("HAProxy is gone")), home)).rejects.toThrow("HAProxy is gone");
    expect(readDeployLock("dev", home)).toBeUndefined();
    expect(readHistory("dev", home)).toMatchObject([{ result: "failed", failure: "HAProxy is gone", hostsReplaced: [] }]);
  });

  it("records nothing when another rollout holds the lock", async () => {
    let inner: unknown;
    await recorded(
      work,
      () => {},
      async () => {
        inner = await recorded({ ...work, command: "fawkes rollback shop --stack dev" }, () => {}, async () => ({ hostsReplaced: [], result: "succeeded" }), home).catch((e: unknown) => e);
        return { hostsReplaced: [], result: "succeeded" };
      },
      home,
    );
    expect(inner).toBeInstanceOf(DeployLockedError);
    expect((inner as Error).message).toContain(`"${work.command}"`);
    expect(readHistory("dev", home).map((e) => e.command)).toEqual([work.command]);
  });

  it("on AWS needs the stack's lock, and writes what the lock said (a lease taken over) into the rollout's log", async () => {
    await expect(recorded({ ...work, target: "aws" }, () => {}, async () => ({ hostsReplaced: [], result: "succeeded" }), home)).rejects.toThrow(/no lock was given/);
    const lost = new AbortController();
    const lock: DeployLockStore = {
      stack: "dev",
      where: "a table",
      breakCommand: "fawkes lock break --stack dev --target aws",
      read: async () => undefined,
      acquire: async (command, notify) => {
        notify?.("took over the deploy lock of stack dev from someone whose lease ran out");
        return { lock: { stack: "dev", who: "me", pid: 1, machine: "m", since: "now", command, token: "t" }, lost: lost.signal, release: async () => {} };
      },
      break: async () => undefined,
    };
    const e = await recorded({ ...work, target: "aws", lock }, () => {}, async () => ({ hostsReplaced: [], result: "succeeded" }), home);
    expect(readFileSync(join(e.logs, "rollout.log"), "utf8")).toMatch(/release on dev by .*\n.* took over the deploy lock of stack dev from someone whose lease ran out\n/);
    // Work that finished after its lock was taken from it is a failure, recorded as one.
    const err = await recorded({ ...work, target: "aws", lock }, () => {}, async () => {
      lost.abort(new DeployLockLostError("dev", "bo took it"));
      return { hostsReplaced: [], result: "succeeded" };
    }, home).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(DeployLockLostError);
    expect(readHistory("dev", home).at(-1)).toMatchObject({ result: "failed", failure: (err as Error).message });
  });
});
