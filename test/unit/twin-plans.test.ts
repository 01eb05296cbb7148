// The twin's pure parts: names and addresses, the services host's files, the order and ids of
// what it makes in moto, what an instance boots with.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { launchScript } from "../../src/local/host.ts";
import type { CapturedResource } from "../../src/plan/program.ts";
import { hypervisorUuidOf, imdsLinkSteps, instanceFiles, TWIN_CLOUD_CFG } from "../../src/twin/instances.ts";
import { chooseTwinSubnet, servicesAddress, slotMac, twinLayout } from "../../src/twin/layout.ts";
import { dnsmasqConf, efsStunnelConf, ganeshaConf, pgHba, servicesFiles, servicesInit } from "../../src/twin/services.ts";
import { refreshBatches } from "../../src/twin/refresh.ts";
import { rewriteIds, worldResources } from "../../src/twin/world.ts";

const res = (type: string, name: string, inputs: Record<string, unknown> = {}): CapturedResource => ({ type, name, urn: `urn:${name}`, id: `${name}-id`, inputs, state: inputs, custom: true });

describe("a twin's names", () => {
  it("fit Linux's 15-character interface names and differ between two homes of one stack", () => {
    const a = twinLayout("qa-a-very-long-branch-name", "/var/lib/fawkes");
    const b = twinLayout("qa-a-very-long-branch-name", "/home/me/.fawkes");
    for (const name of [a.bridge, `${a.ifPrefix}199`, `${a.ifPrefix}199p`]) expect(name.length).toBeLessThanOrEqual(15);
    expect(a.bridge).not.toBe(b.bridge);
    expect(a.netnsPrefix).not.toBe(b.netnsPrefix);
    expect(a.dir).toBe("/var/lib/fawkes/twins/qa-a-very-long-branch-name");
  });

  it("puts the services host at the VPC resolver's address and skips a subnet the machine routes", () => {
    const first = chooseTwinSubnet("staging", []);
    expect(first).toMatch(/^10\.232\.\d+\.0\/24$/);
    expect(servicesAddress(first)).toBe(first.replace(".0/24", ".2"));
    expect(chooseTwinSubnet("staging", [`${first.replace("/24", "")}/24 dev x`])).not.toBe(first);
  });

  it("gives each slot a fixed, locally administered unicast MAC", () => {
    const mac = slotMac("10.232.7.11");
    expect(mac).toMatch(/^0a:ec(:[0-9a-f]{2}){4}$/);
    expect(slotMac("10.232.7.11")).toBe(mac);
    expect(slotMac("10.232.7.12")).not.toBe(mac);
  });
});

describe("the twin's services host", () => {
  const base = { address: "10.232.7.2", subnet: "10.232.7.0/24", region: "eu-west-1", account: "210987654321", images: [{ id: "ami-0f00dfeed0000c0de", name: "fawkes-golden-48ae9051", architecture: "x86_64" }] };
  const conf = dnsmasqConf({ ...base, leases: [{ mac: "0a:ec:00:00:00:01", ip: "10.232.7.11", name: "staging-web-1" }] });

  it("answers every AWS name with itself and leases each slot its address, with no router (a DHCP client would wait for it)", () => {
    expect(conf).toContain("address=/amazonaws.com/10.232.7.2");
    expect(conf).toContain("dhcp-host=0a:ec:00:00:00:01,10.232.7.11,staging-web-1");
    expect(conf).toContain("dhcp-range=10.232.7.0,static,255.255.255.0,12h");
    expect(conf).toMatch(/^dhcp-option=option:router$/m);
    expect(conf).toContain("no-resolv");
  });

  it("plays RDS with TLS or nothing, and a master user who is no superuser", () => {
    expect(pgHba()).toContain("hostnossl all all 0.0.0.0/0 reject");
    expect(pgHba()).not.toMatch(/^host\s/m);
    const init = servicesInit({ ...base, leases: [], database: { masterUser: "fawkes_admin", masterPassword: "p'w", hostName: "db.eu-west-1.rds.amazonaws.com" } });
    expect(init).toContain("LOGIN CREATEDB CREATEROLE");
    expect(init).not.toContain("SUPERUSER");
    expect(init).toContain("-c ssl=on");
    // Quoted for the shell: a quote in the password stays inside its word.
    expect(init).toContain(`-v pw='p'\\''w'`);
  });

  it("plays EFS as an NFSv4 export of the file system's root behind TLS on 2049, with a certificate for every mount target's name", () => {
    const gan = ganeshaConf();
    expect(gan).toMatch(/Protocols = 4;/);
    expect(gan).toContain("Bind_addr = 127.0.0.1;");
    expect(gan).toContain("Path = /srv/efs;");
    expect(gan).toContain("Squash = No_Root_Squash;");
    const tls = efsStunnelConf(base);
    expect(tls).toContain("accept = 10.232.7.2:2049");
    expect(tls).toContain("connect = 127.0.0.1:20490");
    expect(tls).toContain("sslVersionMin = TLSv1.2");
    const init = servicesInit({ ...base, leases: [] });
    expect(init).toContain("'subjectAltName=DNS:*.efs.eu-west-1.amazonaws.com'");
    expect(init).toContain("ganesha.nfsd -F -f /etc/fawkes-twin/ganesha.conf");
    expect(init).toMatch(/listening 10\.232\.7\.2 2049 \|\| fail/);
  });

  it("runs moto as the stack's account, which holds the stack's pinned AMI (the golden image the twin boots), available", () => {
    const init = servicesInit({ ...base, leases: [] });
    expect(init).toMatch(/^MOTO_ACCOUNT_ID=210987654321 MOTO_AMIS_PATH=\/etc\/fawkes-twin\/amis.json moto_server /m);
    const amis = JSON.parse(servicesFiles({ ...base, leases: [] }).find((f) => f.path === "etc/fawkes-twin/amis.json")!.content as string) as Array<Record<string, unknown>>;
    expect(amis).toEqual([expect.objectContaining({ ami_id: "ami-0f00dfeed0000c0de", owner_id: "210987654321", architecture: "x86_64", state: "available" })]);
  });
});

describe("the twin's world in moto", () => {
  it("makes what hosts read after what it names: the network first, a dead-letter queue before its queue, groups last", () => {
    const list = worldResources([
      res("aws:autoscaling/group:Group", "g"),
      res("aws:sqs/queue:Queue", "orders", { redrivePolicy: "{}" }),
      res("aws:sqs/queue:Queue", "orders-dlq"),
      res("aws:lb/loadBalancer:LoadBalancer", "alb"),
      res("aws:ec2/vpc:Vpc", "vpc"),
      res("aws:ssm/parameter:Parameter", "p"),
      res("aws:ec2/launchTemplate:LaunchTemplate", "lt"),
    ]).map((r) => r.name);
    expect(list).toEqual(["vpc", "orders-dlq", "orders", "p", "lt", "g"]);
  });

  it("rewrites the mocks' made-up ids to moto's, inside strings and nested values, the longest first", () => {
    const ids = new Map([
      ["fs-x", "fs-0123abcd"],
      ["fs-x-2", "fs-4567ef01"],
      ["sg-hosts-id", "sg-0abc"],
    ]);
    expect(rewriteIds({ value: "fs-x-2", list: ["sg-hosts-id", "fs-x"], n: 3 }, ids)).toEqual({ value: "fs-4567ef01", list: ["sg-0abc", "fs-0123abcd"], n: 3 });
  });
});

describe("a twin instance", () => {
  it("is AWS to cloud-init: a hypervisor UUID starting ec2, in the 8-4-4-4-12 form", () => {
    const uuid = hypervisorUuidOf("i-0123456789abcdef0");
    expect(uuid).toMatch(/^ec2[0-9a-f]{5}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(hypervisorUuidOf("i-0123456789abcdef1")).not.toBe(uuid);
  });

  it("reaches its metadata service over a link of its own, not a local address, so the instance's rules by uid apply to it as on EC2", () => {
    const steps = imdsLinkSteps({ netns: "fawkes-tabc123-web-1" }).map((st) => (st.kind === "run" ? st.argv.join(" ") : ""));
    expect(steps).toContain("ip link add imds0 netns fawkes-tabc123-web-1 type veth peer name eth0 netns fawkes-tabc123-web-1-imds");
    expect(steps).toContain("ip -n fawkes-tabc123-web-1-imds addr add 169.254.169.254/32 dev eth0");
    expect(steps).toContain("ip -n fawkes-tabc123-web-1 route add 169.254.169.254/32 dev imds0 src 169.254.169.253");
    // Nothing makes 169.254.169.254 an address of the instance itself (a local address skips the rules).
    expect(steps.filter((a) => a.includes("-n fawkes-tabc123-web-1 ") && a.includes("addr add 169.254.169.254"))).toEqual([]);
  });

  it("boots with the Ec2 datasource only, its network left as DHCP gave it, and the twin's resolver", () => {
    expect(TWIN_CLOUD_CFG).toContain("datasource_list: [ Ec2, None ]");
    expect(TWIN_CLOUD_CFG).toMatch(/network:\n {2}config: disabled/);
    expect(TWIN_CLOUD_CFG).not.toContain("NoCloud");
    const rootfs = mkdtempSync(join(tmpdir(), "fawkes-twin-rootfs-"));
    try {
      mkdirSync(join(rootfs, "etc/ssl/certs"), { recursive: true });
      writeFileSync(join(rootfs, "etc/ssl/certs/ca-certificates.crt"), "-----BEGIN CERTIFICATE-----\nAMAZON\n-----END CERTIFICATE-----\n");
      const files = instanceFiles("10.232.7.2", { rootfs, ca: "-----BEGIN CERTIFICATE-----\nTWIN\n-----END CERTIFICATE-----\n" });
      expect(files.find((f) => f.path === "etc/resolv.conf")?.content).toBe("nameserver 10.232.7.2\n");
      // The twin's CA joins the image's roots (the bundle stunnel's CAfile names), none of them lost.
      expect(files.find((f) => f.path === "etc/ssl/certs/ca-certificates.crt")?.content).toBe("-----BEGIN CERTIFICATE-----\nAMAZON\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nTWIN\n-----END CERTIFICATE-----\n");
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  });

  it("sees /sys/hypervisor/uuid on a read-only tmpfs over the kernel's sysfs, and pid 1 gets the endpoint and PATH only", () => {
    const script = launchScript({ name: "h", dir: "/d" }, { rootfs: "/r", shared: {} }, { hypervisorUuid: hypervisorUuidOf("i-1"), env: { AWS_ENDPOINT_URL: "http://10.232.7.2:5000" } });
    expect(script).toContain('mount -t tmpfs -o mode=0755 tmpfs "$M/sys"');
    expect(script).toContain('mount -o remount,ro "$M/sys"');
    expect(script).not.toContain('mount -t sysfs -o ro sysfs "$M/sys"');
    // An instance stands for an EC2 VM: its root is the machine's, with every capability (no user namespace).
    expect(script.trim().split("\n").at(-1)).toMatch(/^exec \/usr\/bin\/python3 \S+\/host-launch\.py enter \/d\/merged h all 0 0 -- \S+ PATH=\S+ AWS_ENDPOINT_URL=http:\/\/10\.232\.7\.2:5000$/);
    expect(script).not.toContain(" idmap ");
    expect(script).not.toContain("var/lib/fawkes/store");
  });

  it("refuses a hypervisor UUID that is not EC2's and an environment name the shell would not take", () => {
    expect(() => launchScript({ name: "h", dir: "/d" }, { rootfs: "/r", shared: {} }, { hypervisorUuid: "not-ec2" })).toThrow(/not an EC2 one/);
    expect(() => launchScript({ name: "h", dir: "/d" }, { rootfs: "/r", shared: {} }, { env: { "A;rm -rf /": "x" } })).toThrow(/not an environment variable name/);
  });
});

describe("the twin's instance refresh, as AWS documents a rolling one", () => {
  const prefs = (min: number, max: number, checkpoints: number[]) => ({ MinHealthyPercentage: min, MaxHealthyPercentage: max, CheckpointPercentages: checkpoints });

  it("launches before it terminates while MaxHealthyPercentage leaves room above desired, and stops each batch at the next checkpoint", () => {
    expect(refreshBatches(2, 2, prefs(100, 200, [50]))).toEqual({ launchFirst: true, batches: [1, 1] });
    expect(refreshBatches(4, 4, prefs(100, 150, [10, 60]))).toEqual({ launchFirst: true, batches: [1, 1, 2] });
    expect(refreshBatches(1, 1, prefs(100, 200, [100]))).toEqual({ launchFirst: true, batches: [1] });
  });

  it("terminates first, down to MinHealthyPercentage, when there is no room above desired; one host at a time at least", () => {
    expect(refreshBatches(4, 4, prefs(50, 100, []))).toEqual({ launchFirst: false, batches: [2, 2] });
    expect(refreshBatches(3, 3, prefs(90, 100, []))).toEqual({ launchFirst: false, batches: [1, 1, 1] });
  });
});
