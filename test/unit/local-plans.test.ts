import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { loadStack, type Health } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { renderHaproxyConfig, renderServerAddresses, serverAddressFile } from "../../src/local/haproxy-config.ts";
import { parseStat } from "../../src/local/haproxy.ts";
import { CLOUD_INIT_STAGES, cloudInitErrors, parseBootRecord } from "../../src/local/boot-record.ts";
import { HOST_LAUNCH, HOST_PATH, launchScript } from "../../src/local/host.ts";
import { LOCAL_CLOUD_CFG, LOCAL_INIT } from "../../src/local/host-seed.ts";
import { baseOf, baseSteps, buildSteps, imageOf } from "../../src/local/image.ts";
import { chooseSubnet, envLayout, gatewayOf, hostSlots } from "../../src/local/layout.ts";
import { bridgeUpSteps, hostNetworkSteps } from "../../src/local/network.ts";
import { cloudInitSchema } from "../helpers/checks/cloud-init.ts";
import { goldenImage } from "../helpers/image-root.ts";

const ROOT = join(import.meta.dirname, "../..");
const spec = loadStack(ROOT, "staging");
const plan = planEnvironment(spec);
const layout = envLayout("staging", "/var/lib/fawkes");

describe("local environment layout", () => {
  it("gives each host slot of a role's pool (desired + surge) a fixed name, address, namespace and an interface name Linux accepts", () => {
    // staging: 2 web and 1 worker, maxHealthyPercent 200 by default: as many surge slots again.
    const slots = hostSlots(layout, "10.231.7.0/24", plan.hosts, spec.knobs.rollout);
    expect(slots.map((s) => s.name)).toEqual(["staging-web-1", "staging-web-2", "staging-web-3", "staging-web-4", "staging-worker-1", "staging-worker-2"]);
    expect(slots.map((s) => s.ip)).toEqual(["10.231.7.11", "10.231.7.12", "10.231.7.13", "10.231.7.14", "10.231.7.111", "10.231.7.112"]);
    for (const s of slots) expect(`${s.veth}p`.length).toBeLessThanOrEqual(15);
    expect(layout.bridge.length).toBeLessThanOrEqual(15);
    expect(new Set(slots.map((s) => s.netns)).size).toBe(slots.length);
    expect(new Set(slots.map((s) => s.veth)).size).toBe(slots.length);
  });

  it("keeps environments apart: different bridges, prefixes and subnets", () => {
    const dev = envLayout("dev", "/var/lib/fawkes");
    expect(dev.bridge).not.toBe(layout.bridge);
    expect(dev.netnsPrefix).not.toBe(layout.netnsPrefix);
    expect(chooseSubnet("dev", [])).not.toBe(chooseSubnet("staging", []));
  });

  it("keeps two FAWKES_HOME trees' environments of one stack apart: bridges and namespaces hash the home too", () => {
    const other = envLayout("staging", "/home/alice/.fawkes");
    expect(other.bridge).not.toBe(layout.bridge);
    expect(other.ifPrefix).not.toBe(layout.ifPrefix);
    expect(other.netnsPrefix).not.toBe(layout.netnsPrefix);
    // The same home and stack give the same names: `local down` finds what `local up` made.
    expect(envLayout("staging", "/var/lib/fawkes")).toEqual(layout);
  });

  it("skips a subnet the machine already routes", () => {
    const first = chooseSubnet("dev", []);
    const next = chooseSubnet("dev", [`${first.replace("/24", "")}/24 dev eth9 proto kernel`]);
    expect(next).not.toBe(first);
    expect(gatewayOf("10.231.7.0/24")).toBe("10.231.7.1");
  });
});

describe("plans of commands", () => {
  it("builds the golden image from a copy of the distribution's debootstrapped base, then apt inside it", () => {
    const img = imageOf(spec.catalogue.image, "/var/lib/fawkes");
    expect(baseSteps(img.distribution, "http://mirror.invalid/debian", "/b/rootfs")).toMatchObject([{ kind: "run", argv: ["debootstrap", "--variant=minbase", "trixie", "/b/rootfs", "http://mirror.invalid/debian"] }]);
    expect(baseOf(img.distribution, "/var/lib/fawkes").rootfs).toBe("/var/lib/fawkes/images/base-trixie/rootfs");
    const steps = buildSteps(img, "/b/rootfs", "/w/rootfs");
    expect(steps[0]).toMatchObject({ kind: "run", argv: ["cp", "-a", "--reflink=auto", "/b/rootfs", "/w/rootfs"] });
    // A base debootstrapped weeks ago has stale package lists: apt reads the archive again before installing.
    const update = steps.findIndex((s) => s.kind === "run" && s.argv.join(" ") === "chroot /w/rootfs apt-get update -q");
    expect(update).toBeGreaterThan(0);
    expect(update).toBeLessThan(steps.findIndex((s) => s.kind === "run" && s.argv.includes("install")));
    const install = steps.find((s) => s.kind === "run" && s.argv.includes("install"));
    expect(install && install.kind === "run" ? install.argv.slice(0, 2) : []).toEqual(["chroot", "/w/rootfs"]);
    for (const p of ["cloud-init", "nginx-light", "supervisor", "python3-venv", "netcat-openbsd", ...spec.catalogue.image.packages]) expect(install && install.kind === "run" ? install.argv : []).toContain(p);
    expect(steps.at(-1)).toMatchObject({ kind: "write", path: "/w/rootfs/etc/fawkes/image.json" });
  });

  it("gives a host a veth on the bridge, its address and no default route", () => {
    const slot = hostSlots(layout, "10.231.7.0/24", plan.hosts, spec.knobs.rollout)[0]!;
    const argvs = hostNetworkSteps(layout, slot).map((s) => (s.kind === "run" ? s.argv.join(" ") : ""));
    expect(argvs).toContain(`ip link set ${slot.veth} master ${layout.bridge} up`);
    expect(argvs).toContain(`ip -n ${slot.netns} addr add 10.231.7.11/24 dev eth0`);
    expect(argvs.some((a) => a.includes("route"))).toBe(false);
    expect(bridgeUpSteps(layout, "10.231.7.0/24").map((s) => (s.kind === "run" ? s.argv.join(" ") : ""))).toContain(`ip addr add 10.231.7.1/24 dev ${layout.bridge}`);
  });

  it("mounts the stand-ins where the bootstrap's local adapter looks, then pivots into pid 1 (no user namespace: a twin instance's start)", () => {
    const slot = hostSlots(layout, "10.231.7.0/24", plan.hosts, spec.knobs.rollout)[0]!;
    const script = launchScript(slot, { rootfs: "/img/rootfs", artifacts: "/a", secrets: "/s", shared: { shop: "/sh/shop" } });
    expect(script).toContain(`lowerdir=/img/rootfs,upperdir=${slot.dir}/upper,workdir=${slot.dir}/work`);
    expect(script).toContain(`mount --bind /a "$M/var/lib/fawkes/store"`);
    expect(script).toContain(`mount -o remount,bind,ro "$M/var/lib/fawkes/store"`);
    expect(script).toContain(`mount --bind /sh/shop "$M/srv/apps/shop/shared"`);
    // pid 1 starts with PATH only: nothing of the machine's environment (its AWS_* among it) enters a host.
    expect(script.trim().split("\n").at(-1)).toBe(`exec /usr/bin/python3 ${HOST_LAUNCH} enter ${slot.dir}/merged ${slot.name} all 0 0 -- /usr/local/lib/fawkes-local/init PATH=${HOST_PATH}`);
  });

  it("turns off, in the local target's own cloud.cfg, the modules that cannot work in a chroot", () => {
    const settings = LOCAL_CLOUD_CFG.split("\n").filter((l) => !l.startsWith("#")).join("\n");
    for (const m of ["locale", "ssh", "growpart", "resizefs"]) expect(settings).not.toMatch(new RegExp(`[\\[ ,]${m}[,\\]]`));
    expect(LOCAL_CLOUD_CFG).toContain("datasource_list: [ NoCloud, None ]");
    for (const m of ["write-files", "runcmd", "write-files-deferred", "scripts-user"]) expect(LOCAL_CLOUD_CFG).toContain(m);
  });
});

describe("the local target's own cloud.cfg", () => {
  it("names only modules and datasources the image's cloud-init has, by the image's cloud-init schema", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fawkes-cloudcfg-"));
    try {
      // The hosts' cloud-init reads it, so the hosts' cloud-init judges it: the golden image's, not
      // the machine's. Its cloud-config schema knows the module lists (and every module's name) but
      // not datasource_list, a key cloud-init reads from /etc/cloud only: that one is checked against
      // the datasources the image's cloud-init ships.
      const lines = LOCAL_CLOUD_CFG.split("\n");
      const datasources = lines.find((l) => l.startsWith("datasource_list:"))!;
      expect(await cloudInitSchema({ image: { userData: `#cloud-config\n${lines.filter((l) => l !== datasources).join("\n")}` } }, dir)).toEqual([]);
      const names = /^datasource_list: \[(.*)\]$/.exec(datasources)![1]!.split(",").map((d) => d.trim());
      expect(names).toEqual(["NoCloud", "None"]);
      const sources = join((await goldenImage()).rootfs, "usr/lib/python3/dist-packages/cloudinit/sources");
      for (const d of names) expect(existsSync(join(sources, `DataSource${d}.py`)), d).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The plan with some apps' health changed on every host, as a catalogue saying so would plan it. */
function withHealth(changes: Record<string, Partial<Health>>): typeof plan {
  return { ...plan, hosts: plan.hosts.map((h) => ({ ...h, apps: h.apps.map((a) => ({ ...a, health: { ...a.health, ...changes[a.name] } })) })) };
}

/** One backend's lines, up to the blank line that ends it. */
const backendOf = (cfg: string, app: string) => /^backend app_\S+\n(?:.+\n)*/m.exec(cfg.slice(cfg.indexOf(`backend app_${app}\n`)))?.[0] ?? "";

describe("HAProxy as the local load balancer", () => {
  const slots = hostSlots(layout, "10.231.7.0/24", plan.hosts, spec.knobs.rollout);
  const cfg = renderHaproxyConfig({ plan, slots, port: 18080, socket: "/tmp/x/admin.sock", addresses: "/tmp/x/servers.map" });

  it("routes by Host header to a backend per app, health-checks the health path, starts servers out of rotation", () => {
    expect(cfg).toContain("bind 127.0.0.1:18080");
    expect(cfg).toContain("use_backend app_shop if { var(txn.host) -m str shop.staging.fawkes.test shop.staging.localhost }");
    expect(cfg).toContain("use_backend app_blog if { var(txn.host) -m str blog.staging.fawkes.test www.staging.fawkes.test blog.staging.localhost www.staging.localhost }");
    expect(cfg).toContain("server staging-web-2 10.231.7.12:8002 check disabled");
    expect(cfg).not.toContain("staging-worker-1");
    expect(cfg).toContain("stats socket /tmp/x/admin.sock mode 600 level admin");
  });

  it("health-checks as the ALB does: Host is the server's address and port, never a name of the app", () => {
    expect(cfg).toContain("http-check send meth GET uri /healthz/ ver HTTP/1.1 hdr Host %[srv_name,map(/tmp/x/servers.map)]:8002 hdr User-Agent fawkes-health/1");
    expect(cfg).not.toMatch(/hdr Host [a-z]/);
    expect(renderServerAddresses(slots).split("\n")).toEqual([...slots.map((s) => `${s.name} ${s.ip}`), ""]);
    expect(renderServerAddresses(slots)).toContain("staging-web-2 10.231.7.12\n");
  });

  it("asks each app's health with its method and expects its statuses, the ALB's matcher syntax as is", () => {
    // The default: GET, 200-399.
    expect(backendOf(cfg, "blog")).toContain("    http-check expect status 200-399\n");
    const custom = renderHaproxyConfig({ plan: withHealth({ blog: { method: "HEAD", statuses: "200,204" }, shop: { statuses: "200" } }), slots, port: 18080, socket: "/tmp/x/admin.sock", addresses: "/tmp/x/servers.map" });
    expect(backendOf(custom, "blog")).toContain("    http-check send meth HEAD uri /healthz/ ver HTTP/1.1 hdr Host %[srv_name,map(/tmp/x/servers.map)]:8002 hdr User-Agent fawkes-health/1\n");
    expect(backendOf(custom, "blog")).toContain("    http-check expect status 200,204\n");
    expect(backendOf(custom, "shop")).toContain("    http-check send meth GET uri /healthz ");
    expect(backendOf(custom, "shop")).toContain("    http-check expect status 200\n");
  });

  it("logs no health checker's request to the health path, and everyone else's", () => {
    for (const [app, path] of [["blog", "/healthz/"], ["shop", "/healthz"]] as const) {
      expect(backendOf(cfg, app)).toContain(`    http-request set-log-level silent if { path ${path} } { req.fhdr(user-agent) -m beg ELB-HealthChecker/ fawkes-health/ }\n`);
    }
  });

  it("is accepted by haproxy -c, with the default health check and with HEAD and a list of statuses", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fawkes-haproxy-"));
    try {
      // The map the checks read must exist: HAProxy refuses a config whose map it cannot open.
      const addresses = serverAddressFile(dir);
      writeFileSync(addresses, renderServerAddresses(slots));
      for (const p of [plan, withHealth({ blog: { method: "HEAD", statuses: "200,204" }, shop: { statuses: "301" } })]) {
        writeFileSync(join(dir, "haproxy.cfg"), renderHaproxyConfig({ plan: p, slots, port: 18080, socket: "/tmp/x/admin.sock", addresses }));
        const r = await execa("haproxy", ["-c", "-f", join(dir, "haproxy.cfg")], { reject: false, all: true });
        expect(r.all).toContain("Configuration file is valid");
        expect(r.all).not.toMatch(/\[(WARNING|ALERT)\]/);
        expect(r.exitCode).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads servers' status and open sessions from show stat", () => {
    const csv = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,hrsp_5xx\napp_shop,dev-web-1,0,0,2,3,,10,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5,0,,1,3,1,,10,,2,0,,1,L7OK,4\napp_shop,BACKEND,0,0,2,3,,10,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,5,0,,1,3,0,,10,,1,0,,1,,4\n";
    expect(parseStat(csv)).toEqual([{ backend: "app_shop", server: "dev-web-1", status: "UP", current: 2, total: 10, http5xx: 4, checkStatus: "L7OK", checking: false }]);
    // HAProxy stars the status while a check runs (5 times a second here): the last result is still L7OK.
    expect(parseStat(csv.replace(",L7OK,", ",* L7OK,"))).toEqual([expect.objectContaining({ checkStatus: "L7OK", checking: true })]);
  });
});

describe("the boot gate's reading of cloud-init's result.json", () => {
  it("is done without errors, done with them, or not done at all", () => {
    expect(cloudInitErrors('{"v1": {"datasource": "DataSourceNoCloud [seed=/var/lib/cloud/seed/nocloud]", "errors": []}}')).toEqual([]);
    const failed = '{"v1": {"datasource": null, "errors": ["(\'scripts-user\', RuntimeError(\'Runparts: 1 failures (runcmd) in 1 attempted commands\'))"]}}';
    expect(cloudInitErrors(failed)).toEqual(["('scripts-user', RuntimeError('Runparts: 1 failures (runcmd) in 1 attempted commands'))"]);
    // No file yet, a half-written one, or another shape: not done, never "no errors".
    for (const text of [undefined, '{"v1": {"errors": [', '{"v1": {}}', "[]"]) expect(cloudInitErrors(text)).toBeUndefined();
  });
});

describe("a local host's pid 1 and cloud-init's single process", () => {
  it("starts cloud-init --all-stages once and releases the four stages in systemd's order, as Debian's stage units do", () => {
    expect(LOCAL_INIT.match(/cloud-init --all-stages/g)).toHaveLength(1);
    expect(LOCAL_INIT).not.toMatch(/cloud-init (init|modules)/);
    expect(LOCAL_INIT).toContain("for stage in local network config final; do");
    expect(CLOUD_INIT_STAGES).toEqual(["local", "network", "config", "final"]);
    // The datagram and the return socket of Debian 13's cloud-init-{local,network}, cloud-config and cloud-final units.
    expect(LOCAL_INIT).toContain('echo start | nc -Uu -W1 "$SHARE/$stage.sock" -s "$SHARE/$stage-return.sock"');
    // cloud-init skips the protocol when its stdin is a terminal: never the case here.
    expect(LOCAL_INIT).toContain("cloud-init --all-stages </dev/null");
  });

  it("reads its boot record only whole: status, start, end, then each stage's release, answer and exit status", () => {
    const record = "0 100.000 101.500\nlocal 100.100 100.400 0\nnetwork 100.400 100.500 0\nconfig 100.500 100.550 0\nfinal 100.550 101.450 0\n";
    const r = parseBootRecord(record)!;
    expect(r).toMatchObject({ status: 0, start: 100, end: 101.5, seconds: 1.5 });
    expect(Object.keys(r.stages)).toEqual(["local", "network", "config", "final"]);
    expect(r.stages.local).toBeCloseTo(0.3, 6);
    expect(r.stages.final).toBeCloseTo(0.9, 6);
    expect(parseBootRecord(record.replace("final 100.550 101.450 0", "final 100.550 101.450 1").replace(/^0 /, "1 "))!.status).toBe(1);
    // Not there yet, the first line only, a stage missing, or a torn line: not booted.
    for (const text of [undefined, "", "0 100.000 101.500", record.split("\n").slice(0, 4).join("\n"), record.replace("config 100.500", "config 100.")]) {
      expect(parseBootRecord(text), JSON.stringify(text)).toBeUndefined();
    }
  });
});
