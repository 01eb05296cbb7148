// The console bench's project: 20 apps, 50 stacks (dev, the qa template, staging, production and
// 46 QA branch stacks with their records), each stack's access knob giving the `team` group the
// deploy role; a FAWKES_HOME with 20 releases and rollbacks of every app in every stack (20,000
// history entries, each with its rollout.log), an artifact store of built releases and one user.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { setUser, usersFile } from "../src/console/index.ts";
import { qaStackName } from "../src/names/index.ts";
import { writeRecord } from "../src/qa/index.ts";
import { appendHistory, rolloutLogDir, type HistoryEntry } from "../src/release/index.ts";
import { rolloutId } from "../src/release/history.ts";
import { syntheticProject } from "./synthetic-project.ts";

export const CONSOLE_APPS = 20;
export const CONSOLE_STACKS = 50;
/** Pushes per app and stack: 20 x 20 apps = 400 per stack. */
export const PUSHES_PER_APP = 20;
export const USER = "bench";
export const PASSWORD = "bench console password";
const BUILT_RELEASES = 30;
const PUSH_EVERY_MS = 30 * 60_000;

export interface ConsoleProject {
  root: string;
  home: string;
  store: string;
  usersFile: string;
  stacks: string[];
  apps: string[];
  /** Every stack's entries, oldest first. */
  history: Map<string, HistoryEntry[]>;
  cleanup: () => void;
}

const release = (n: number) => `r${String(n).padStart(3, "0")}`;

/**
 * One app's pushes in a stack: mostly releases of the next build, every 6th a rollback to the
 * release before, every 7th a release whose canary failed (rolled back, the pin unchanged).
 */
function appPushes(): Array<{ kind: "release" | "rollback"; from: string; to: string; result: "succeeded" | "rolled-back" }> {
  const served = [release(1)];
  let next = 2;
  const out: ReturnType<typeof appPushes> = [];
  for (let k = 0; k < PUSHES_PER_APP; k++) {
    const from = served.at(-1)!;
    if (k % 6 === 5 && served.length > 1) {
      served.pop();
      out.push({ kind: "rollback", from, to: served.at(-1)!, result: "succeeded" });
    } else if (k % 7 === 3) {
      out.push({ kind: "release", from, to: release(next++), result: "rolled-back" });
    } else {
      served.push(release(next++));
      out.push({ kind: "release", from, to: served.at(-1)!, result: "succeeded" });
    }
  }
  return out;
}

function rolloutLog(e: HistoryEntry): string {
  const t0 = Date.parse(e.startedAt);
  const lines = [
    `${e.kind} ${e.app} ${e.from} -> ${e.to} in ${e.stack}, by ${e.who}`,
    "deploy lock taken",
    `artifact ${e.app} ${e.to}: sha256 ok`,
    "web canary: replacing web-1",
    "web-1b: booting (user-data 9876 bytes)",
    "web-1b: cloud-init: release hooks: python manage.py migrate --noinput",
    ...Array.from({ length: 10 }, (_, i) => `web-1b: migrate: Applying ${e.app}.${String(i + 1).padStart(4, "0")}_auto... OK`),
    "web-1b: healthy in 8.2 s",
    "web-1b: in service",
    e.result === "succeeded" ? "web batch 1/1: replacing web-2" : "web-1b: health check failed: GET /healthz 502 (3 of 3)",
    e.result === "succeeded" ? `${e.kind} succeeded` : "release rolled back: the previous release serves again",
  ];
  return lines.map((l, i) => `${new Date(t0 + i * 2000).toISOString()} ${l}\n`).join("");
}

/** Writes the project and its history; takes some seconds (20,000 entries and logs), not timed. */
export async function consoleProject(): Promise<ConsoleProject> {
  const { root, cleanup: removeRoot } = syntheticProject(CONSOLE_APPS, { lean: true });
  const home = mkdtempSync(join(tmpdir(), "fawkes-bench-console-home-"));
  const store = join(home, "artifacts");
  const apps = Array.from({ length: CONSOLE_APPS }, (_, i) => `app${String(i + 1).padStart(2, "0")}`);
  const branches = Array.from({ length: CONSOLE_STACKS - 4 }, (_, i) => `ticket-${1000 + i}`);
  const stacks = ["dev", "qa", "staging", "production", ...branches.map(qaStackName)];
  const access = { view: ["viewers"], deploy: ["team"], admin: ["ops"] };

  // The synthetic project's four stack files give the shape (domain, image, fleet); the pins are the history's.
  const pushes = new Map(apps.map((a) => [a, appPushes()]));
  const pins = Object.fromEntries(apps.map((a) => [a, pushes.get(a)!.filter((p) => p.result === "succeeded").at(-1)!.to]));
  const stackFile = (s: string) => join(root, "stacks", `Pulumi.${s}.yaml`);
  for (const s of stacks) {
    const base = s.startsWith("qa-") ? {} : (parse(readFileSync(stackFile(s), "utf8")) as { config: Record<string, unknown> }).config;
    writeFileSync(stackFile(s), stringify({ config: { ...base, "bench:releases": pins, "bench:access": access } }));
  }

  // Built releases in the store: what the Release button offers.
  for (const app of apps) {
    mkdirSync(join(store, app), { recursive: true });
    for (let n = 1; n <= BUILT_RELEASES; n++) {
      writeFileSync(join(store, app, `${release(n)}.build.json`), JSON.stringify({ builtAt: new Date(Date.UTC(2026, 0, n)).toISOString() }));
      writeFileSync(join(store, app, `${release(n)}.sha256`), `${"0".repeat(64)}  ${release(n)}.tar.gz\n`);
    }
  }

  const now = Date.now();
  const history = new Map<string, HistoryEntry[]>();
  const perStack = apps.length * PUSHES_PER_APP;
  stacks.forEach((stack, si) => {
    const entries: HistoryEntry[] = [];
    for (let i = 0; i < perStack; i++) {
      const app = apps[i % apps.length]!;
      const p = pushes.get(app)![Math.floor(i / apps.length)]!;
      const started = new Date(now - (perStack - i) * PUSH_EVERY_MS - si * 1000);
      const seconds = 40 + ((i * 7) % 50);
      const id = rolloutId(started);
      const command = p.kind === "release" ? `fawkes release ${app} ${p.to} --stack ${stack}` : `fawkes rollback ${app} --to ${p.to} --stack ${stack}`;
      const entry: HistoryEntry = {
        id,
        stack,
        kind: p.kind,
        target: "local",
        who: `dev${i % 5}@bench (console)`,
        command: `${command} [by dev${i % 5} (console)]`,
        startedAt: started.toISOString(),
        finishedAt: new Date(started.getTime() + seconds * 1000).toISOString(),
        durationSeconds: seconds,
        app,
        from: p.from,
        to: p.to,
        hostsReplaced: p.result === "succeeded" ? ["web-1", "web-2"] : [],
        result: p.result,
        ...(p.result === "succeeded" ? {} : { failure: "web canary web-1b: health check failed: GET /healthz 502 (3 of 3)" }),
        logs: rolloutLogDir(stack, id, home),
      };
      appendHistory(entry, home);
      mkdirSync(entry.logs, { recursive: true });
      writeFileSync(join(entry.logs, "rollout.log"), rolloutLog(entry));
      entries.push(entry);
    }
    history.set(stack, entries);
  });

  // The QA records: branches pushed over the last five days, a 3-day TTL (some expired).
  branches.forEach((branch, i) => {
    const stack = qaStackName(branch);
    const at = new Date(now - (i % 5) * 86_400_000).toISOString();
    writeRecord(
      { branch, stack, target: "local", project: root, stackFile: stackFile(stack), createdStackFile: true, ref: branch, commit: (i.toString(16) + "f".repeat(40)).slice(0, 40), createdAt: at, lastPush: at, ttl: "3d", releases: pins, urls: {} },
      home,
    );
  });

  const users = usersFile(home);
  await setUser(users, USER, PASSWORD, ["team"]);
  return {
    root,
    home,
    store,
    usersFile: users,
    stacks,
    apps,
    history,
    cleanup: () => {
      removeRoot();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
