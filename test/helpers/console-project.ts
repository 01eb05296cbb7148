// A project and FAWKES_HOME of a test file's own for the console over HTTP: this repository's
// catalogue and stacks with `access` knobs (dev: viewers view, devs and designers deploy, ops
// administer; production: viewers and devs view, ops deploy and administer), five users, and a
// console serving them on 127.0.0.1. Registers its own beforeAll and afterAll.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { setUser, type ConsoleOptions, type ConsoleServer } from "../../src/console/index.ts";
import { ConsoleClient, serveConsole } from "./console-client.ts";

const REPO = join(import.meta.dirname, "../..");
export const PASSWORD = "correct horse battery staple";
/** Each user and their groups. */
export const USERS = { alice: ["ops"], dave: ["devs"], dora: ["designers"], vera: ["viewers"], nobody: [] } as const;

export interface ConsoleProject {
  root: string;
  home: string;
  usersFile: string;
  port: number;
  console: ConsoleServer;
  /** A person's client, signed in when a user is named. */
  client(user?: keyof typeof USERS | string): Promise<ConsoleClient>;
  /** Another console over the same project (its own sessions and sign-in counts); close it. */
  serve(extra?: Partial<ConsoleOptions>): Promise<{ console: ConsoleServer; port: number }>;
}

export function useConsoleProject(): ConsoleProject {
  const savedHome = process.env.FAWKES_HOME;
  const p = { root: "", home: "", usersFile: "", port: 0 } as ConsoleProject;
  p.serve = async (extra = {}) => serveConsole({ root: p.root, home: p.home, store: join(p.home, "artifacts"), auth: { kind: "password", usersFile: p.usersFile }, ...extra });
  p.client = async (user) => {
    const c = new ConsoleClient(p.port);
    if (user) expect((await c.signIn(user, PASSWORD)).status).toBe(303);
    return c;
  };
  beforeAll(async () => {
    p.root = mkdtempSync(join(tmpdir(), "fawkes-console-"));
    p.home = mkdtempSync(join(tmpdir(), "fawkes-console-home-"));
    process.env.FAWKES_HOME = p.home;
    for (const f of ["Pulumi.yaml", "index.ts", "stacks", "image", "examples", "libs"]) if (existsSync(join(REPO, f))) cpSync(join(REPO, f), join(p.root, f), { recursive: true });
    // The Pulumi program (index.ts) that `--target aws` checks run under mocks imports these.
    for (const d of ["node_modules", "components", "src"]) symlinkSync(join(REPO, d), join(p.root, d));
    const addAccess = (stack: string, access: string) => {
      const file = join(p.root, "stacks", `Pulumi.${stack}.yaml`);
      writeFileSync(file, `${readFileSync(file, "utf8").trimEnd()}\n${access}`);
    };
    addAccess("dev", "  fawkes:access:\n    view: [viewers]\n    deploy: [devs, designers]\n    admin: [ops]\n");
    addAccess("production", "  fawkes:access:\n    view: [viewers, devs]\n    deploy: [ops]\n    admin: [ops]\n");
    p.usersFile = join(p.home, "console", "users.yaml");
    for (const [name, groups] of Object.entries(USERS)) await setUser(p.usersFile, name, PASSWORD, groups);
    const served = await p.serve();
    p.console = served.console;
    p.port = served.port;
  }, 60_000);
  afterAll(async () => {
    await p.console?.close();
    if (savedHome === undefined) delete process.env.FAWKES_HOME;
    else process.env.FAWKES_HOME = savedHome;
    rmSync(p.root, { recursive: true, force: true });
    rmSync(p.home, { recursive: true, force: true });
  });
  return p;
}
