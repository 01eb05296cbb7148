// The deploy console over HTTP, in this process: sign-in, roles per stack by group, CSRF and
// origin checks, actions that run and actions refused (nothing changed), hostile values escaped,
// secrets cut out of what anyone sees, live output by server-sent events. No root: the actions
// here are those of the deploy lock; releases on real hosts are in test/e2e/console.test.ts.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAudit, readUsers, removeUser, setUser, type ConsoleServer } from "../../src/console/index.ts";
import { envLayout } from "../../src/local/index.ts";
import { appendHistory, lockFile, readDeployLock, rolloutLogDir, type HistoryEntry } from "../../src/release/index.ts";
import { localSecretStore } from "../../src/secrets/index.ts";
import { ConsoleClient, httpRequest, serveConsole } from "../helpers/console-client.ts";

const REPO = join(import.meta.dirname, "../..");
const PASSWORD = "correct horse battery staple";
let root = "";
let home = "";
let served: { console: ConsoleServer; port: number };
const savedHome = process.env.FAWKES_HOME;

function addAccess(stack: string, access: string): void {
  const file = join(root, "stacks", `Pulumi.${stack}.yaml`);
  writeFileSync(file, `${readFileSync(file, "utf8").trimEnd()}\n${access}`);
}

const client = async (user?: string) => {
  const c = new ConsoleClient(served.port);
  if (user) expect((await c.signIn(user, PASSWORD)).status).toBe(303);
  return c;
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "fawkes-console-"));
  home = mkdtempSync(join(tmpdir(), "fawkes-console-home-"));
  process.env.FAWKES_HOME = home;
  for (const p of ["Pulumi.yaml", "index.ts", "stacks", "image", "examples", "libs"]) if (existsSync(join(REPO, p))) cpSync(join(REPO, p), join(root, p), { recursive: true });
  // The Pulumi program (index.ts) that `--target aws` checks run under mocks imports these.
  for (const d of ["node_modules", "components", "src"]) symlinkSync(join(REPO, d), join(root, d));
  addAccess("dev", "  fawkes:access:\n    view: [viewers]\n    deploy: [devs, designers]\n    admin: [ops]\n");
  addAccess("production", "  fawkes:access:\n    view: [viewers, devs]\n    deploy: [ops]\n    admin: [ops]\n");
  const users = join(home, "console", "users.yaml");
  for (const [name, groups] of Object.entries({ alice: ["ops"], dave: ["devs"], dora: ["designers"], vera: ["viewers"], nobody: [] })) await setUser(users, name, PASSWORD, groups);
  served = await serveConsole({ root, home, store: join(home, "artifacts"), auth: { kind: "password", usersFile: users } });
}, 60_000);

afterAll(async () => {
  await served?.console.close();
  if (savedHome === undefined) delete process.env.FAWKES_HOME;
  else process.env.FAWKES_HOME = savedHome;
  rmSync(root, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe("signing in", () => {
  it("sends a person without a session to the sign-in page, and back where they were after it", async () => {
    const r = await httpRequest(served.port, "GET", "/env/dev");
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe("/login?next=%2Fenv%2Fdev");
    expect((await httpRequest(served.port, "GET", "/login")).body).toContain('type="password"');
  });

  it("refuses a wrong password and an unknown user alike, and records both", async () => {
    const c = new ConsoleClient(served.port);
    const wrong = await c.signIn("alice", "not the password at all");
    const unknown = await c.signIn("mallory", PASSWORD);
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body).toContain("Wrong user or password.");
    expect(unknown.body).toContain("Wrong user or password.");
    expect(c.cookie).toBe("");
    const failed = readAudit(home).filter((a) => a.outcome === "sign-in-failed").map((a) => a.who);
    expect(failed).toEqual(expect.arrayContaining(["alice", "mallory"]));
  });

  it("makes an address that failed 10 sign-ins in 15 minutes wait, whatever the password", async () => {
    const c = new ConsoleClient(served.port);
    // Another console: this file's others share 127.0.0.1 and must not be blocked.
    const own = await serveConsole({ root, home, store: join(home, "artifacts"), auth: { kind: "password", usersFile: join(home, "console", "users.yaml") } });
    try {
      const mine = new ConsoleClient(own.port);
      for (let i = 0; i < 10; i++) expect((await mine.signIn("alice", `wrong password ${i}`)).status).toBe(401);
      const r = await mine.signIn("alice", PASSWORD);
      expect(r.status).toBe(429);
      expect(r.headers["retry-after"]).toBe("900");
      expect(mine.cookie).toBe("");
    } finally {
      await own.console.close();
    }
    expect((await c.signIn("alice", PASSWORD)).status).toBe(303);
  });

  it("counts guesses sent at once: of 20 wrong passwords in parallel, at most 10 are checked", async () => {
    const own = await serveConsole({ root, home, store: join(home, "artifacts"), auth: { kind: "password", usersFile: join(home, "console", "users.yaml") } });
    try {
      const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => new ConsoleClient(own.port).signIn("alice", `parallel guess ${i}`).then((r) => r.status)));
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10);
      expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    } finally {
      await own.console.close();
    }
  });

  it("ends a session when its user is removed or their password changes, and applies new groups at once", async () => {
    const users = join(home, "console", "users.yaml");
    await setUser(users, "temp", PASSWORD, ["viewers"]);
    const temp = await client("temp");
    expect((await temp.get("/env/dev")).status).toBe(200);
    expect((await temp.get("/env/production")).status).toBe(200);
    // The operator edits the groups by hand: the same session, with the new groups (designers see dev only).
    writeFileSync(users, readFileSync(users, "utf8").replace(/(temp:\n\s+groups:\n\s+- )viewers/, "$1designers"));
    expect((await temp.get("/env/production")).status).toBe(404);
    expect((await temp.get("/env/dev")).status).toBe(200);
    await setUser(users, "temp", `${PASSWORD} changed`, ["designers"]);
    expect((await temp.get("/env/dev")).status).toBe(303);
    const again = new ConsoleClient(served.port);
    expect((await again.signIn("temp", `${PASSWORD} changed`)).status).toBe(303);
    expect(await removeUser(users, "temp")).toBe(true);
    expect((await again.get("/env/dev")).status).toBe(303);
  });

  it("keeps every user when two are added at once", async () => {
    const users = join(home, "console", "concurrent.yaml");
    await Promise.all(["u1", "u2", "u3", "u4"].map((u) => setUser(users, u, PASSWORD, ["viewers"])));
    expect(Object.keys(readUsers(users).users).sort()).toEqual(["u1", "u2", "u3", "u4"]);
    expect(statSync(users).mode & 0o777).toBe(0o600);
  });

  it("gives a session cookie no script and no other site can use", async () => {
    const r = await new ConsoleClient(served.port).signIn("alice", PASSWORD);
    const cookie = String([r.headers["set-cookie"]].flat()[0]);
    expect(cookie).toMatch(/^fawkes_console=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
  });

  it("never sends a person elsewhere after sign-in", async () => {
    const c = new ConsoleClient(served.port);
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const r = await c.post("/login", { user: "alice", password: PASSWORD, next }, { csrf: false });
      expect(r.headers.location).toBe("/");
    }
  });
});

describe("what each role sees", () => {
  it("answers the load balancer's health check without sign-in, and nothing else there", async () => {
    const r = await httpRequest(served.port, "GET", "/healthz");
    expect([r.status, r.body]).toEqual([200, "ok\n"]);
    expect((await httpRequest(served.port, "GET", "/healthz/x")).status).toBe(303);
  });

  it("serves only the stacks it is given (a management stack's console: those it manages)", async () => {
    const some = await serveConsole({ root, home, store: join(home, "artifacts"), auth: { kind: "password", usersFile: join(home, "console", "users.yaml") }, stacks: ["production"] });
    try {
      const alice = new ConsoleClient(some.port);
      expect((await alice.signIn("alice", PASSWORD)).status).toBe(303);
      expect([...(await alice.get("/")).body.matchAll(/<tr data-stack="([^"]+)"/g)].map((m) => m[1])).toEqual(["production"]);
      expect((await alice.get("/env/dev")).status).toBe(404);
    } finally {
      await some.console.close();
    }
  });

  it("shows each person the environments their groups may see, and nothing to a person with no role", async () => {
    const rows = async (user: string) => [...(await (await client(user)).get("/")).body.matchAll(/<tr data-stack="([^"]+)"/g)].map((m) => m[1]);
    expect(await rows("alice")).toEqual(["dev", "production"]);
    expect(await rows("vera")).toEqual(["dev", "production"]);
    expect(await rows("dave")).toEqual(["dev", "production"]);
    expect(await rows("dora")).toEqual(["dev"]);
    expect(await rows("nobody")).toEqual([]);
    // staging keeps the default: the admins group only, which nobody here is in.
    expect((await (await client("nobody")).get("/env/staging")).status).toBe(404);
  });

  it("shows a viewer no button, and a deployer the release, maintenance and lock forms", async () => {
    const viewer = (await (await client("vera")).get("/env/dev")).body;
    expect(viewer).toContain("Your role here: <b>view</b>");
    expect(viewer).not.toMatch(/action="\/env\/dev\/(release|rollback|lock|maintenance)"/);
    const deployer = (await (await client("dave")).get("/env/dev")).body;
    expect(deployer).toMatch(/action="\/env\/dev\/maintenance"/);
    expect(deployer).toMatch(/action="\/env\/dev\/lock"/);
  });
});

describe("actions", () => {
  it("refuses a viewer's action with 403, changes nothing, and records the attempt", async () => {
    const vera = await client("vera");
    await vera.get("/env/dev");
    const stackFile = readFileSync(join(root, "stacks", "Pulumi.dev.yaml"), "utf8");
    for (const [path, form] of [
      ["/env/dev/lock", { do: "take", reason: "mine now" }],
      ["/env/dev/maintenance", { app: "shop", on: "on" }],
      ["/env/dev/release", { app: "shop", release: "r000000000001" }],
    ] as const) {
      const r = await vera.post(path, form);
      expect(r.status, path).toBe(403);
      expect(r.body).toContain("Nothing was changed.");
    }
    expect(existsSync(lockFile("dev", home))).toBe(false);
    expect(readFileSync(join(root, "stacks", "Pulumi.dev.yaml"), "utf8")).toBe(stackFile);
    const forbidden = readAudit(home).filter((a) => a.who === "vera" && a.outcome === "forbidden").map((a) => a.action);
    expect(forbidden).toEqual(expect.arrayContaining(["lock-take", "maintenance-on", "release"]));
  });

  it("refuses a form without this session's CSRF token, or from another origin, and changes nothing", async () => {
    const dave = await client("dave");
    await dave.get("/env/dev");
    expect((await dave.post("/env/dev/lock", { do: "take", reason: "x" }, { csrf: false })).status).toBe(403);
    expect((await dave.post("/env/dev/lock", { do: "take", reason: "x" }, { csrf: "A".repeat(43) })).status).toBe(403);
    const other = await client("dora");
    await other.get("/env/dev");
    expect((await dave.post("/env/dev/lock", { do: "take", reason: "x" }, { csrf: other.csrf })).status).toBe(403);
    expect((await dave.post("/env/dev/lock", { do: "take", reason: "x" }, { origin: "http://evil.example" })).status).toBe(403);
    expect(existsSync(lockFile("dev", home))).toBe(false);
  });

  it("lets a deployer hold the stack and give it back; another deployer cannot give it back, an admin can", async () => {
    const dave = await client("dave");
    await dave.get("/env/dev");
    const taken = await dave.post("/env/dev/lock", { do: "take", reason: "migrating by hand <b>now</b>" });
    expect(taken.status).toBe(303);
    await served.console.idle();
    expect(readDeployLock("dev", home)?.lock).toMatchObject({ who: "dave (console)", held: true, command: "held by hand: migrating by hand <b>now</b>" });
    // What everyone sees: the holder and the reason, escaped.
    const page = (await (await client("vera")).get("/env/dev")).body;
    expect(page).toContain("Held by <b>dave (console)</b>");
    expect(page).toContain("migrating by hand &lt;b&gt;now&lt;/b&gt;");
    // dora deploys too, but the hold is dave's.
    const dora = await client("dora");
    await dora.get("/env/dev");
    expect((await dora.post("/env/dev/lock", { do: "give-back" })).status).toBe(403);
    expect(readDeployLock("dev", home)).toBeDefined();
    expect((await dave.post("/env/dev/lock", { do: "give-back" })).status).toBe(303);
    await served.console.idle();
    expect(readDeployLock("dev", home)).toBeUndefined();
    const actions = readAudit(home).filter((a) => a.stack === "dev" && (a.outcome === "done" || a.outcome === "forbidden") && a.action.startsWith("lock"));
    expect(actions.map((a) => `${a.who} ${a.action} ${a.outcome}`)).toEqual(expect.arrayContaining(["dave lock-take done", "dora lock-give-back-any forbidden", "dave lock-give-back done"]));
  });

  it("refuses a release when the stack's hosts do not run here, and leaves the pin as it was", async () => {
    const dave = await client("dave");
    await dave.get("/env/dev");
    const before = readFileSync(join(root, "stacks", "Pulumi.dev.yaml"), "utf8");
    expect((await dave.post("/env/dev/release", { app: "shop", release: "r000000000001" })).status).toBe(303);
    await served.console.idle();
    expect(readFileSync(join(root, "stacks", "Pulumi.dev.yaml"), "utf8")).toBe(before);
    const last = readAudit(home).filter((a) => a.who === "dave" && a.action === "release").at(-1)!;
    expect(last.outcome).toBe("refused");
  });

  it("answers hostile names with 400 or 404, never a path outside its own", async () => {
    const alice = await client("alice");
    await alice.get("/env/production");
    expect((await alice.get("/env/..%2F..%2Fetc")).status).toBe(404);
    expect((await alice.get("/env/production/push/..%2F..%2F..%2Fetc%2Fpasswd")).status).toBe(404);
    expect((await alice.get("/env/production/diff?app=shop&from=r1&to=%2Fetc")).status).toBe(400);
    expect((await alice.get("/env/production/diff?app=nosuchapp&from=r1&to=r2")).status).toBe(400);
    expect((await alice.get("/env/%E0%A4%A")).status).toBe(404);
    const r = await alice.post("/env/production/release", { app: "shop", release: "../../x" });
    expect(r.status).toBe(400);
    expect(r.body).toContain("release &quot;../../x&quot;");
  });
});

describe("secrets", () => {
  it("never shows a secret's value: a push's output has the secret's name in its place", async () => {
    const secret = "s3cr3t-value-of-the-shop-4242";
    await localSecretStore(envLayout("dev", home).secretsDir).set("shop", "SHOP_SECRET_KEY", secret);
    const entry: HistoryEntry = { id: "20261206T070000Z-abcdef", stack: "dev", kind: "release", target: "local", who: "ci", command: "fawkes release shop r2 --stack dev", startedAt: "2026-12-06T07:00:00.000Z", finishedAt: "2026-12-06T07:01:00.000Z", durationSeconds: 60, app: "shop", from: "r1", to: "r2", hostsReplaced: [], result: "succeeded", logs: rolloutLogDir("dev", "20261206T070000Z-abcdef", home) };
    mkdirSync(entry.logs, { recursive: true });
    writeFileSync(join(entry.logs, "rollout.log"), `hook: SHOP_SECRET_KEY=${secret}\ndb postgres://shop:hunter2hunter2@db/shop\n`);
    // What failed, as the history keeps it: the tail of a host's bootstrap log, a hook's output in it.
    entry.failure = `new host dev-web-2 failed at step shop/hooks: printed ${secret}`;
    appendHistory(entry, home);
    // One app's pushes: the shop's push is there, on the blog's page it is not.
    expect((await (await client("vera")).get("/env/dev?app=shop")).body).toContain(`data-entry="${entry.id}"`);
    expect((await (await client("vera")).get("/env/dev?app=blog")).body).not.toContain(`data-entry="${entry.id}"`);
    for (const user of ["vera", "dave"]) {
      const page = (await (await client(user)).get(`/env/dev/push/${entry.id}`)).body;
      expect(page).toContain("hook: SHOP_SECRET_KEY=[secret shop SHOP_SECRET_KEY]");
      expect(page).toContain("postgres://shop:[secret]@db/shop");
      expect(page).not.toContain(secret);
      expect(page).not.toContain("hunter2");
    }
  });
});

describe("a push's logs", () => {
  it("shows the rollout's log and a failed host's copied logs, and never follows a link planted among them", async () => {
    const id = "20261206T080000Z-0a0b0c";
    const logs = rolloutLogDir("dev", id, home);
    mkdirSync(join(logs, "dev-web-3"), { recursive: true });
    writeFileSync(join(logs, "rollout.log"), "web batch 1/1: new host dev-web-3 failed\n");
    writeFileSync(join(logs, "dev-web-3", "cloud-init-output.log"), "bootstrap output of the failed host\n");
    const outside = join(home, "outside.log");
    writeFileSync(outside, "a file outside the push's logs\n");
    symlinkSync(outside, join(logs, "dev-web-3", "planted.log"));
    symlinkSync(join(home, "console"), join(logs, "dev-web-4"));
    appendHistory({ id, stack: "dev", kind: "release", target: "local", who: "ci", command: "fawkes release shop r3 --stack dev", startedAt: "2026-12-06T08:00:00.000Z", finishedAt: "2026-12-06T08:01:00.000Z", durationSeconds: 60, app: "shop", from: "r2", to: "r3", hostsReplaced: [], result: "rolled-back", logs }, home);
    const page = (await (await client("vera")).get(`/env/dev/push/${id}`)).body;
    expect(page).toContain("<h2>rollout.log</h2>");
    expect(page).toContain("<h2>dev-web-3/cloud-init-output.log</h2>");
    expect(page).toContain("bootstrap output of the failed host");
    expect(page).not.toContain("a file outside");
    expect(page).not.toContain("planted.log");
    expect(page).not.toContain("users.yaml");
  });
});

describe("live output", () => {
  it("streams an action's start, lines and end to every page of the environment", async () => {
    const alice = await client("alice");
    await alice.get("/env/production");
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: served.port, path: "/env/production/live", headers: { cookie: alice.cookie } }, (res) => {
        expect(res.headers["content-type"]).toContain("text/event-stream");
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          events.push(...[...chunk.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]!));
          if (events.includes("end")) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on("error", (e) => (events.includes("end") ? resolve() : reject(e)));
      req.end();
    });
    // The stream is open before the action starts.
    await new Promise((r) => setTimeout(r, 100));
    expect((await alice.post("/env/production/lock", { do: "take", reason: "freeze" })).status).toBe(303);
    await done;
    expect(events[0]).toBe("start");
    expect(events.at(-1)).toBe("end");
    await served.console.idle();
    expect((await alice.post("/env/production/lock", { do: "give-back" })).status).toBe(303);
    await served.console.idle();
  });
});

describe("a console of AWS environments (--target aws)", () => {
  it("releases through the CLI's AWS path, whose checks refuse with nothing changed when AWS does not answer; holds no lock by hand there", async () => {
    // The SDKs' endpoint: a port on 127.0.0.1 nothing listens on. No request leaves the machine.
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_MAX_ATTEMPTS: "1", AWS_EC2_METADATA_DISABLED: "true" });
    const aws = await serveConsole({ root, home, store: join(home, "artifacts"), auth: { kind: "password", usersFile: join(home, "console", "users.yaml") }, target: "aws" });
    try {
      const dave = new ConsoleClient(aws.port);
      expect((await dave.signIn("dave", PASSWORD)).status).toBe(303);
      const page = await dave.get("/env/dev");
      expect(page.status, page.body.slice(page.body.indexOf("<main>"), page.body.indexOf("<main>") + 400)).toBe(200);
      expect(page.body).toContain("Hosts: on AWS");
      // The lock table does not answer: said, and the rest of the page shows.
      expect(page.body).toContain('data-lock="unknown"');
      const before = readFileSync(join(root, "stacks", "Pulumi.dev.yaml"), "utf8");
      expect((await dave.post("/env/dev/release", { app: "shop", release: "r000000000002" })).status).toBe(303);
      expect((await dave.post("/env/dev/lock", { do: "take", reason: "x" })).status).toBe(409);
      await aws.console.idle();
      expect((await dave.post("/env/dev/lock", { do: "take", reason: "x" })).status).toBe(303);
      await aws.console.idle();
      expect(readFileSync(join(root, "stacks", "Pulumi.dev.yaml"), "utf8")).toBe(before);
      const mine = readAudit(home).filter((a) => a.who === "dave" && (a.action === "release" || a.action === "lock-take") && a.outcome !== "started");
      const release = mine.filter((a) => a.action === "release").at(-1)!;
      expect(release.outcome, release.detail).toBe("refused");
      const take = mine.filter((a) => a.action === "lock-take").at(-1)!;
      expect([take.outcome, take.detail]).toEqual(["refused", expect.stringContaining("not run from the console on AWS yet")]);
      expect(existsSync(lockFile("dev", home))).toBe(false);
    } finally {
      await aws.console.close();
      process.env = saved;
    }
  }, 60_000);
});
