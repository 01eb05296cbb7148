// The deploy console over HTTP, in this process: roles per stack by group, CSRF and origin checks,
// actions that run and actions refused (nothing changed), hostile values escaped, secrets cut out
// of what anyone sees, live output by server-sent events. No root: the actions here are those of
// the deploy lock; releases on real hosts are in test/e2e/console.test.ts; sign-in in
// console-sign-in.test.ts.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAudit } from "../../src/console/index.ts";
import { envLayout } from "../../src/local/index.ts";
import { appendHistory, lockFile, readDeployLock, rolloutLogDir, type HistoryEntry } from "../../src/release/index.ts";
import { localSecretStore } from "../../src/secrets/index.ts";
import { ConsoleClient, httpRequest } from "../helpers/console-client.ts";
import { PASSWORD, useConsoleProject } from "../helpers/console-project.ts";

const project = useConsoleProject();
const client = (user?: string) => project.client(user);

describe("what each role sees", () => {
  it("answers the load balancer's health check without sign-in, and nothing else there", async () => {
    const r = await httpRequest(project.port, "GET", "/healthz");
    expect([r.status, r.body]).toEqual([200, "ok\n"]);
    expect((await httpRequest(project.port, "GET", "/healthz/x")).status).toBe(303);
  });

  it("serves only the stacks it is given (a management stack's console: those it manages)", async () => {
    const some = await project.serve({ stacks: ["production"] });
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
    const stackFile = readFileSync(join(project.root, "stacks", "Pulumi.dev.yaml"), "utf8");
    for (const [path, form] of [
      ["/env/dev/lock", { do: "take", reason: "mine now" }],
      ["/env/dev/maintenance", { app: "shop", on: "on" }],
      ["/env/dev/release", { app: "shop", release: "r000000000001" }],
    ] as const) {
      const r = await vera.post(path, form);
      expect(r.status, path).toBe(403);
      expect(r.body).toContain("Nothing was changed.");
    }
    expect(existsSync(lockFile("dev", project.home))).toBe(false);
    expect(readFileSync(join(project.root, "stacks", "Pulumi.dev.yaml"), "utf8")).toBe(stackFile);
    const forbidden = readAudit(project.home).filter((a) => a.who === "vera" && a.outcome === "forbidden").map((a) => a.action);
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
    expect(existsSync(lockFile("dev", project.home))).toBe(false);
  });

  it("lets a deployer hold the stack and give it back; another deployer cannot give it back, an admin can", async () => {
    const dave = await client("dave");
    await dave.get("/env/dev");
    const taken = await dave.post("/env/dev/lock", { do: "take", reason: "migrating by hand <b>now</b>" });
    expect(taken.status).toBe(303);
    await project.console.idle();
    expect(readDeployLock("dev", project.home)?.lock).toMatchObject({ who: "dave (console)", held: true, command: "held by hand: migrating by hand <b>now</b>" });
    // What everyone sees: the holder and the reason, escaped.
    const page = (await (await client("vera")).get("/env/dev")).body;
    expect(page).toContain("Held by <b>dave (console)</b>");
    expect(page).toContain("migrating by hand &lt;b&gt;now&lt;/b&gt;");
    // dora deploys too, but the hold is dave's.
    const dora = await client("dora");
    await dora.get("/env/dev");
    expect((await dora.post("/env/dev/lock", { do: "give-back" })).status).toBe(403);
    expect(readDeployLock("dev", project.home)).toBeDefined();
    expect((await dave.post("/env/dev/lock", { do: "give-back" })).status).toBe(303);
    await project.console.idle();
    expect(readDeployLock("dev", project.home)).toBeUndefined();
    const actions = readAudit(project.home).filter((a) => a.stack === "dev" && (a.outcome === "done" || a.outcome === "forbidden") && a.action.startsWith("lock"));
    expect(actions.map((a) => `${a.who} ${a.action} ${a.outcome}`)).toEqual(expect.arrayContaining(["dave lock-take done", "dora lock-give-back-any forbidden", "dave lock-give-back done"]));
  });

  it("refuses a release when the stack's hosts do not run here, and leaves the pin as it was", async () => {
    const dave = await client("dave");
    await dave.get("/env/dev");
    const before = readFileSync(join(project.root, "stacks", "Pulumi.dev.yaml"), "utf8");
    expect((await dave.post("/env/dev/release", { app: "shop", release: "r000000000001" })).status).toBe(303);
    await project.console.idle();
    expect(readFileSync(join(project.root, "stacks", "Pulumi.dev.yaml"), "utf8")).toBe(before);
    const last = readAudit(project.home).filter((a) => a.who === "dave" && a.action === "release").at(-1)!;
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
    await localSecretStore(envLayout("dev", project.home).secretsDir).set("shop", "SHOP_SECRET_KEY", secret);
    const entry: HistoryEntry = { id: "20261206T070000Z-abcdef", stack: "dev", kind: "release", target: "local", who: "ci", command: "fawkes release shop r2 --stack dev", startedAt: "2026-12-06T07:00:00.000Z", finishedAt: "2026-12-06T07:01:00.000Z", durationSeconds: 60, app: "shop", from: "r1", to: "r2", hostsReplaced: [], result: "succeeded", logs: rolloutLogDir("dev", "20261206T070000Z-abcdef", project.home) };
    mkdirSync(entry.logs, { recursive: true });
    writeFileSync(join(entry.logs, "rollout.log"), `hook: SHOP_SECRET_KEY=${secret}\ndb postgres://shop:hunter2hunter2@db/shop\n`);
    // What failed, as the history keeps it: the tail of a host's bootstrap log, a hook's output in it.
    entry.failure = `new host dev-web-2 failed at step shop/hooks: printed ${secret}`;
    appendHistory(entry, project.home);
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
    const logs = rolloutLogDir("dev", id, project.home);
    mkdirSync(join(logs, "dev-web-3"), { recursive: true });
    writeFileSync(join(logs, "rollout.log"), "web batch 1/1: new host dev-web-3 failed\n");
    writeFileSync(join(logs, "dev-web-3", "cloud-init-output.log"), "bootstrap output of the failed host\n");
    const outside = join(project.home, "outside.log");
    writeFileSync(outside, "a file outside the push's logs\n");
    symlinkSync(outside, join(logs, "dev-web-3", "planted.log"));
    symlinkSync(join(project.home, "console"), join(logs, "dev-web-4"));
    appendHistory({ id, stack: "dev", kind: "release", target: "local", who: "ci", command: "fawkes release shop r3 --stack dev", startedAt: "2026-12-06T08:00:00.000Z", finishedAt: "2026-12-06T08:01:00.000Z", durationSeconds: 60, app: "shop", from: "r2", to: "r3", hostsReplaced: [], result: "rolled-back", logs }, project.home);
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
      const req = request({ host: "127.0.0.1", port: project.port, path: "/env/production/live", headers: { cookie: alice.cookie } }, (res) => {
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
    await project.console.idle();
    expect((await alice.post("/env/production/lock", { do: "give-back" })).status).toBe(303);
    await project.console.idle();
  });
});

describe("a console of AWS environments (--target aws)", () => {
  it("releases through the CLI's AWS path, whose checks refuse with nothing changed when AWS does not answer; holds no lock by hand there", async () => {
    // The SDKs' endpoint: a port on 127.0.0.1 nothing listens on. No request leaves the machine.
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_MAX_ATTEMPTS: "1", AWS_EC2_METADATA_DISABLED: "true" });
    const aws = await project.serve({ target: "aws" });
    try {
      const dave = new ConsoleClient(aws.port);
      expect((await dave.signIn("dave", PASSWORD)).status).toBe(303);
      const page = await dave.get("/env/dev");
      expect(page.status, page.body.slice(page.body.indexOf("<main>"), page.body.indexOf("<main>") + 400)).toBe(200);
      expect(page.body).toContain("Hosts: on AWS");
      // The lock table does not answer: said, and the rest of the page shows.
      expect(page.body).toContain('data-lock="unknown"');
      const before = readFileSync(join(project.root, "stacks", "Pulumi.dev.yaml"), "utf8");
      expect((await dave.post("/env/dev/release", { app: "shop", release: "r000000000002" })).status).toBe(303);
      expect((await dave.post("/env/dev/lock", { do: "take", reason: "x" })).status).toBe(409);
      await aws.console.idle();
      expect((await dave.post("/env/dev/lock", { do: "take", reason: "x" })).status).toBe(303);
      await aws.console.idle();
      expect(readFileSync(join(project.root, "stacks", "Pulumi.dev.yaml"), "utf8")).toBe(before);
      const mine = readAudit(project.home).filter((a) => a.who === "dave" && (a.action === "release" || a.action === "lock-take") && a.outcome !== "started");
      const release = mine.filter((a) => a.action === "release").at(-1)!;
      expect(release.outcome, release.detail).toBe("refused");
      const take = mine.filter((a) => a.action === "lock-take").at(-1)!;
      expect([take.outcome, take.detail]).toEqual(["refused", expect.stringContaining("not run from the console on AWS yet")]);
      expect(existsSync(lockFile("dev", project.home))).toBe(false);
    } finally {
      await aws.console.close();
      process.env = saved;
    }
  }, 60_000);
});
