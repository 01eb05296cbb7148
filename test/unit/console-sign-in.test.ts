// Signing in to the deploy console with a password, over HTTP in this process: the sign-in page,
// wrong passwords and unknown users alike, guesses bounded per address and at once, sessions that
// end when their user changes, the cookie, no redirect off the console, the users file.
import { statSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAudit, readUsers, removeUser, setUser } from "../../src/console/index.ts";
import { ConsoleClient, httpRequest } from "../helpers/console-client.ts";
import { PASSWORD, useConsoleProject } from "../helpers/console-project.ts";

const project = useConsoleProject();
const client = (user?: string) => project.client(user);

describe("signing in", () => {
  it("sends a person without a session to the sign-in page, and back where they were after it", async () => {
    const r = await httpRequest(project.port, "GET", "/env/dev");
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe("/login?next=%2Fenv%2Fdev");
    expect((await httpRequest(project.port, "GET", "/login")).body).toContain('type="password"');
  });

  it("refuses a wrong password and an unknown user alike, and records both", async () => {
    const c = new ConsoleClient(project.port);
    const wrong = await c.signIn("alice", "not the password at all");
    const unknown = await c.signIn("mallory", PASSWORD);
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body).toContain("Wrong user or password.");
    expect(unknown.body).toContain("Wrong user or password.");
    expect(c.cookie).toBe("");
    const failed = readAudit(project.home).filter((a) => a.outcome === "sign-in-failed").map((a) => a.who);
    expect(failed).toEqual(expect.arrayContaining(["alice", "mallory"]));
  });

  it("makes an address that failed 10 sign-ins in 15 minutes wait, whatever the password", async () => {
    const c = new ConsoleClient(project.port);
    // Another console: this file's others share 127.0.0.1 and must not be blocked.
    const own = await project.serve();
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
    const own = await project.serve();
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
    const users = project.usersFile;
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
    const again = new ConsoleClient(project.port);
    expect((await again.signIn("temp", `${PASSWORD} changed`)).status).toBe(303);
    expect(await removeUser(users, "temp")).toBe(true);
    expect((await again.get("/env/dev")).status).toBe(303);
  });

  it("keeps every user when two are added at once", async () => {
    const users = join(project.home, "console", "concurrent.yaml");
    await Promise.all(["u1", "u2", "u3", "u4"].map((u) => setUser(users, u, PASSWORD, ["viewers"])));
    expect(Object.keys(readUsers(users).users).sort()).toEqual(["u1", "u2", "u3", "u4"]);
    expect(statSync(users).mode & 0o777).toBe(0o600);
  });

  it("gives a session cookie no script and no other site can use", async () => {
    const r = await new ConsoleClient(project.port).signIn("alice", PASSWORD);
    const cookie = String([r.headers["set-cookie"]].flat()[0]);
    expect(cookie).toMatch(/^fawkes_console=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
  });

  it("never sends a person elsewhere after sign-in", async () => {
    const c = new ConsoleClient(project.port);
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const r = await c.post("/login", { user: "alice", password: PASSWORD, next }, { csrf: false });
      expect(r.headers.location).toBe("/");
    }
  });
});

