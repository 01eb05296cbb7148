// Where one stack's AWS twin lives on this machine, and the names of its network: a bridge (the
// twin's VPC), the services host at .2 (where AWS puts a VPC's DNS resolver: base + 2), and the
// instances of each group in slots, like the local target's. Pure: names and addresses only.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { EnvLayout, HostSlot } from "../local/layout.ts";
import { fawkesHome } from "../local/image.ts";
import { unpackedDir } from "../local/unpacked.ts";
import { checkedStackName, shortHash } from "../names/index.ts";

export interface TwinLayout extends EnvLayout {
  /** The services host: moto, dnsmasq, PostgreSQL, the NFS server. */
  services: HostSlot;
  /** What the twin made in moto, the instances it booted and the front's port (written by twin up). */
  world: string;
  /** The twin's own CA and the certificates it signed (RDS, EFS): the instances trust the CA. */
  tlsDir: string;
}

export function twinLayout(stack: string, home = fawkesHome()): TwinLayout {
  const dir = join(home, "twins", checkedStackName(stack));
  // Hashed from the home too: two checkouts' twins of one stack never share a bridge.
  const tag = shortHash(`fawkes-twin:${home}:${stack}`, 6);
  const layout: EnvLayout = {
    stack,
    dir,
    state: join(dir, "state.json"),
    hostsDir: join(dir, "hosts"),
    sharedDir: join(dir, "efs"),
    secretsDir: join(dir, "secrets"),
    locksDir: join(dir, "locks"),
    haproxyDir: join(dir, "haproxy"),
    databaseDir: join(dir, "rds"),
    backupsDir: join(dir, "backups"),
    artifacts: join(dir, "artifacts"),
    unpacked: unpackedDir(home),
    bridge: `ft${tag}br`,
    ifPrefix: `ft${tag}i`,
    netnsPrefix: `fawkes-t${tag}-`,
  };
  const services: HostSlot = { name: `${stack}-aws`, role: "web", index: 0, ip: "", netns: `${layout.netnsPrefix}aws`, veth: `${layout.ifPrefix}2`, dir: join(layout.hostsDir, "aws") };
  return { ...layout, services, world: join(dir, "world.json"), tlsDir: join(dir, "tls") };
}

/** The twin's /24: 10.232.X.0/24 with X from the stack name, skipping subnets the machine routes. */
export function chooseTwinSubnet(stack: string, inUse: readonly string[]): string {
  const start = parseInt(shortHash(`twin-subnet:${stack}`, 4), 16) % 250;
  for (let k = 0; k < 250; k++) {
    const subnet = `10.232.${(start + k) % 250}.0/24`;
    if (!inUse.some((r) => r.startsWith(subnet.replace("/24", "")))) return subnet;
  }
  throw new Error("no free 10.232.X.0/24 subnet left on this machine for an AWS twin");
}

export function addressIn(subnet: string, host: number): string {
  return `${subnet.split(".").slice(0, 3).join(".")}.${host}`;
}

/** The VPC's resolver (base + 2), where the twin serves DNS, DHCP and the AWS APIs. */
export function servicesAddress(subnet: string): string {
  return addressIn(subnet, 2);
}

/**
 * A slot's network card: a locally administered unicast MAC (0a:ec:...) fixed by its address, as
 * an ENI keeps its MAC; the twin's DHCP server answers it with the slot's address.
 */
export function slotMac(ip: string): string {
  const h = createHash("sha256").update(`twin-mac:${ip}`).digest();
  return ["0a", "ec", ...[...h.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** An instance id moto would accept and AWS's shape: i- and 17 hex digits, from the slot and boot. */
export function instanceIdOf(slot: string, bootId: string): string {
  return `i-${createHash("sha256").update(`${slot}:${bootId}`).digest("hex").slice(0, 17)}`;
}
