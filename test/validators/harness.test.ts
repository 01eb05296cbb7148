// The validators themselves: each one fails on an image broken on purpose, says why, and a missing
// tool fails with the Debian package to install. A validator that cannot fail proves nothing.
import { existsSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { parseCloudConfig } from "../helpers/cloud-config.ts";
import { cloudInitSchema, writeFilesMatchImage, writeFilesOwners } from "../helpers/checks/cloud-init.ts";
import { gunicornCheckConfig } from "../helpers/checks/gunicorn.ts";
import { nginxSiteWiring, nginxTest } from "../helpers/checks/nginx.ts";
import { shellcheck } from "../helpers/checks/shellcheck.ts";
import { supervisordLoad } from "../helpers/checks/supervisord.ts";
import { alterHost, renderAllStacks, scratchDir, webApps, type RenderedHost } from "../helpers/rendered-hosts.ts";
import type { RenderedFile } from "../../src/render/index.ts";
import { requirePythonModules, requireTools } from "../helpers/tools.ts";

const stacks = renderAllStacks();
const stack = stacks.find((s) => s.stack === "dev") ?? stacks[0]!;
const web = stack.hosts.find((h) => webApps(h.plan).length > 0)!;
const [app] = webApps(web.plan);
const scratch = scratchDir("harness");
afterAll(() => scratch.remove());

// What the sandbox lays over the machine must not outlive the command run inside it.
const hostPaths = ["/var/log/fawkes", "/srv/apps", "/etc/fawkes", "/run/fawkes"];
const existedBefore = hostPaths.filter((p) => existsSync(p));

function put(path: string, content: string, mode = "0644"): (files: RenderedFile[]) => RenderedFile[] {
  return (files) => [...files.filter((f) => f.path !== path), { path, content, mode, owner: "root:root" }];
}

function withConfig(host: RenderedHost, change: (config: Record<string, unknown>) => void): RenderedHost {
  return alterHost(host, {
    userData: (text) => {
      const config = parseCloudConfig(text);
      change(config);
      return `#cloud-config\n${stringify(config)}`;
    },
  });
}

describe.concurrent("the validators catch broken images", () => {
  test("a missing tool or Python module fails, naming the Debian package to install", async () => {
    expect(() => requireTools({ name: "frobnicate", path: "/nonexistent/frobnicate", debianPackage: "frobnicate-tools" })).toThrow(/missing validator: frobnicate \(\/nonexistent\/frobnicate\) from the Debian package "frobnicate-tools".*apt-get install frobnicate-tools/);
    await expect(requirePythonModules("fawkes_no_such_module")).rejects.toThrow(/missing Python module for \/usr\/bin\/python3: fawkes_no_such_module/);
  });

  test("cloud-init schema rejects a runcmd that is not a list", async () => {
    const broken = withConfig(web, (c) => void (c.runcmd = 3));
    expect((await cloudInitSchema(broken, scratch.sub("ci"))).join("\n")).toMatch(/runcmd: 3 is not of type 'array'/);
  });

  test("write_files and the bundle must carry the image's files once, and write_files own them by users that exist", () => {
    const drifted = alterHost(web, { files: (files) => files.map((f, i) => (i === 0 ? { ...f, content: `${f.content}# drift\n` } : f)) });
    expect(writeFilesMatchImage(drifted).join("\n")).toMatch(/content differs from the image's/);
    // A file of the bundle written by the user-data too: two writers, one of them stale some day.
    const bootstrap = web.image.files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!;
    const twice = withConfig(web, (c) => void (c.write_files as unknown[]).push({ path: bootstrap.path, content: bootstrap.content, permissions: "0755" }));
    expect(writeFilesMatchImage(twice)).toEqual([`${bootstrap.path}: delivered 2 times (write_files, the bundle ${web.image.bundle.key}), want once by write_files or the bundle`]);
    const owned = withConfig(web, (c) => void (c.write_files = [{ path: "/etc/x", content: "x", owner: "shop:shop" }]));
    expect(writeFilesOwners(owned).join("\n")).toMatch(/\/etc\/x: owner shop:shop does not exist when write-files \(before users-groups\) runs/);
  });

  test("supervisord's loader rejects a program without a command", async () => {
    const program = web.plan.apps[0]!.processes[0]!.program;
    const broken = alterHost(web, { files: put(`/etc/supervisor/conf.d/${program}.conf`, `[program:${program}]\nautostart=true\n`) });
    expect((await supervisordLoad(stack, broken, scratch.sub("sv1"))).join("\n")).toContain(`program section program:${program} does not specify a command`);
  });

  test("supervisord: an unplanned program, stop/kill not as a group, short stopwaitsecs and startsecs are reported", async () => {
    const program = `${app!.name}-web`;
    const broken = alterHost(web, {
      files: (files) => put("/etc/supervisor/conf.d/zz-rogue.conf", "[program:rogue]\ncommand=/bin/true\n")(put(`/etc/supervisor/conf.d/${program}.conf`, `[program:${program}]\ncommand=/bin/true\n`)(files)),
    });
    const problems = (await supervisordLoad(stack, broken, scratch.sub("sv2"))).join("\n");
    expect(problems).toMatch(/supervisord loads programs \[.*rogue.*\], the plan has/);
    expect(problems).toContain(`${program}: stopasgroup is false`);
    expect(problems).toContain(`${program}: killasgroup is false`);
    expect(problems).toMatch(new RegExp(`${program}: startsecs=1 is under the app's boot time`));
    expect(problems).toMatch(new RegExp(`${program}: stopwaitsecs=10 is not above gunicorn's graceful_timeout=`));
  });

  test("gunicorn rejects a bad setting and an app that does not import, and reports bind and keepalive", async () => {
    const conf = `${app!.paths.config}/gunicorn.conf.py`;
    const bad = alterHost(web, { files: put(conf, 'workers = "many"\n') });
    expect((await gunicornCheckConfig(stack, bad, app!, scratch.sub("g1"))).join("\n")).toMatch(/gunicorn rejects .*workers/s);
    const noApp = { ...app!, gunicorn: { ...app!.gunicorn, wsgi: "fawkes_missing_module:app" } };
    expect((await gunicornCheckConfig(stack, web, noApp, scratch.sub("g2"))).join("\n")).toMatch(/cannot load fawkes_missing_module:app.*No module named 'fawkes_missing_module'/s);
    const miswired = alterHost(web, { files: put(conf, 'bind = "unix:/tmp/fawkes-elsewhere.sock"\nkeepalive = 2\n') });
    const problems = (await gunicornCheckConfig(stack, miswired, app!, scratch.sub("g3"))).join("\n");
    expect(problems).toContain(`not unix:${app!.gunicorn.socket}`);
    expect(problems).toMatch(/keepalive=2 is not above the load balancer's idle timeout/);
    // A config that binds the socket itself (Python runs at load): the check must see it.
    const sock = app!.gunicorn.socket;
    const binds = alterHost(web, { files: put(conf, `import socket\n_s = socket.socket(socket.AF_UNIX)\n_s.bind(${JSON.stringify(sock)})\nbind = ${JSON.stringify(`unix:${sock}`)}\nkeepalive = 600\n`) });
    expect(await gunicornCheckConfig(stack, binds, app!, scratch.sub("g4"))).toEqual([`--check-config bound a socket: ${sock}`]);
  });

  test("nginx rejects a syntax error and warns about a second server with the same name and port", async () => {
    const site = `/etc/nginx/sites-enabled/${app!.name}.conf`;
    const syntax = alterHost(web, { files: put(site, "server { listen 1 }\n") });
    expect((await nginxTest(stack, syntax, scratch.sub("n1"))).join("\n")).toMatch(/nginx rejects the sites: .*\[emerg\]/s);
    const twin = alterHost(web, { files: put("/etc/nginx/sites-enabled/zz-twin.conf", `server { listen ${app!.port}; server_name ${app!.hostnames[0]}; }\n`) });
    const problems = (await nginxTest(stack, twin, scratch.sub("n2"))).join("\n");
    expect(problems).toMatch(/nginx sites \[.*zz-twin\.conf.*\], want/);
    expect(problems).toMatch(/\[warn\] conflicting server name/);
    const elsewhere = alterHost(web, { files: put(site, "server {\n    listen 9;\n    location / { proxy_pass http://127.0.0.1:1; }\n}\n") });
    const wiring = nginxSiteWiring(elsewhere, app!).join("\n");
    expect(wiring).toMatch(/listens on \["9"\]; the load balancer sends its traffic to port/);
    expect(wiring).toContain(`does not proxy to unix:${app!.gunicorn.socket}`);
  });

  test("shellcheck findings are named by the path on the host and by user-data key", async () => {
    const broken = withConfig(alterHost(web, { files: put("/usr/local/lib/fawkes/fawkes-exec", "#!/bin/bash\necho $1\n", "0755") }), (c) => void (c.bootcmd = ["cd /nowhere; echo $HOME/$1"]));
    const findings = (await shellcheck(broken, scratch.sub("sc"))).join("\n");
    expect(findings).toContain("/usr/local/lib/fawkes/fawkes-exec:2:6: note: Double quote to prevent globbing and word splitting. [SC2086]");
    expect(findings).toMatch(/user-data bootcmd:2:\d+: .*\[SC\d+\]/);
  });
});

test("the sandbox leaves nothing on the machine", async () => {
  await nginxTest(stack, web, scratch.sub("leak"));
  expect(hostPaths.filter((p) => existsSync(p))).toEqual(existedBefore);
});
