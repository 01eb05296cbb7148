// Where `fawkes run` runs a command and as what: a host of a role that runs the app (web first, a
// worker when the app has no web process), --host only among those, and the argv that makes the
// command one of the app's processes (supervisord's environment, user and fawkes-exec).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { HOST_PATH } from "../../src/local/host.ts";
import { planEnvironment, type EnvironmentPlan } from "../../src/model/index.ts";
import { EXEC_WRAPPER, supervisorProgramFile } from "../../src/render/app-files.ts";
import { appProcessArgv, chooseHost, rolesOf, runCommandLine, RunError } from "../../src/run/index.ts";
import { byName } from "../../src/run/plan.ts";

const ROOT = join(import.meta.dirname, "../..");
const dev = planEnvironment(loadStack(ROOT, "dev"));

/** The dev plan with one more app whose only process is a worker's. */
function withWorkerOnlyApp(): EnvironmentPlan {
  const shop = dev.spec.catalogue.apps.find((a) => a.name === "shop")!;
  const mailer = { ...shop, name: "mailer", processes: { queue: { command: "python -m queue", role: "worker" } } } as unknown as typeof shop;
  const hosts = dev.hosts.map((h) => (h.role === "worker" ? { ...h, apps: [...h.apps, { ...h.apps[0]!, name: "mailer" }] } : h));
  return { ...dev, spec: { ...dev.spec, catalogue: { ...dev.spec.catalogue, apps: [...dev.spec.catalogue.apps, mailer] } }, hosts };
}

describe("the roles that run an app", () => {
  it("are its processes' roles, web first", () => {
    expect(rolesOf(dev, "shop")).toEqual(["web", "worker"]);
    expect(rolesOf(dev, "blog")).toEqual(["web"]);
    expect(rolesOf(withWorkerOnlyApp(), "mailer")).toEqual(["worker"]);
  });

  it("an app the catalogue lacks is refused, naming those it has", () => {
    expect(() => rolesOf(dev, "nope")).toThrow(new RunError('no app "nope" in the catalogue (Pulumi.yaml); apps: shop, blog'));
  });
});

describe("the host", () => {
  const hosts = [
    { name: "dev-worker-1", role: "worker" as const },
    { name: "dev-web-10", role: "web" as const },
    { name: "dev-web-2", role: "web" as const },
  ].sort(byName);

  it("is a web host by default, the lowest-numbered; a worker host when only workers run the app", () => {
    expect(hosts.map((h) => h.name)).toEqual(["dev-web-2", "dev-web-10", "dev-worker-1"]);
    expect(chooseHost(hosts, "shop", "dev")).toEqual({ name: "dev-web-2", role: "web" });
    expect(chooseHost(hosts.filter((h) => h.role === "worker"), "mailer", "dev")).toEqual({ name: "dev-worker-1", role: "worker" });
  });

  it("is --host when it runs the app; otherwise the error lists those that do", () => {
    expect(chooseHost(hosts, "shop", "dev", "dev-worker-1")).toEqual({ name: "dev-worker-1", role: "worker" });
    expect(() => chooseHost(hosts.filter((h) => h.role === "web"), "blog", "dev", "dev-worker-1")).toThrow(
      new RunError("dev-worker-1 is not a running host of dev that runs blog; those that do: dev-web-2 (web), dev-web-10 (web)"),
    );
    expect(() => chooseHost([], "blog", "dev", "dev-web-1")).toThrow(new RunError("dev-web-1 is not a running host of dev that runs blog; none does"));
    expect(() => chooseHost([], "blog", "dev")).toThrow(new RunError("no running host of dev runs blog"));
  });
});

describe("the command as one of the app's processes", () => {
  const shop = dev.hosts.find((h) => h.role === "web")!.apps.find((a) => a.name === "shop")!;

  it("runs fawkes-exec as the app's user with supervisord's environment and nothing of fawkes's", () => {
    expect(appProcessArgv(shop, ["python", "manage.py", "shell"])).toEqual([
      "env", "-i", `PATH=${HOST_PATH}`, "HOME=/srv/apps/shop", "USER=shop",
      "setpriv", "--reuid=shop", "--regid=shop", "--init-groups", "--",
      EXEC_WRAPPER, "shop", "python", "manage.py", "shell",
    ]);
    // The very HOME and USER supervisord's program files set, and the wrapper they run.
    const program = supervisorProgramFile(shop, shop.processes[0]!).content;
    expect(program).toContain(`command=${EXEC_WRAPPER} shop `);
    expect(program).toMatch(/^environment=HOME="\/srv\/apps\/shop",USER="shop"$/m);
  });

  it("passes a terminal's TERM only when it is a plain name", () => {
    expect(appProcessArgv(shop, ["sh"], "xterm-256color")).toContain("TERM=xterm-256color");
    expect(appProcessArgv(shop, ["sh"], "x\nLD_PRELOAD=/tmp/x").some((w) => w.startsWith("TERM=") || w.startsWith("LD_"))).toBe(false);
  });

  it("has a command line for the history with the argv quoted as bash reads it back", () => {
    expect(runCommandLine({ app: "shop", stack: "dev", target: "local", argv: ["sh", "-c", "echo $HOME; exit 7", "it's"] }, "dev-web-1")).toBe(
      "fawkes run shop --stack dev --host dev-web-1 -- sh -c 'echo $HOME; exit 7' 'it'\\''s'",
    );
    expect(runCommandLine({ app: "shop", stack: "prod", target: "aws", argv: ["true"] }, "i-0123456789abcdef0")).toBe("fawkes run shop --stack prod --host i-0123456789abcdef0 --target aws -- true");
  });
});
