import { join } from "node:path";
import type { Rollout } from "../config/index.ts";
import { rolloutPolicy, type HostPlan, type Role } from "../model/index.ts";
import { checkedStackName, shortHash } from "../names/index.ts";
import { fawkesHome } from "./image.ts";
import { unpackedDir } from "./unpacked.ts";

/** Where one environment's local hosts, stand-ins and state live on this machine. */
export interface EnvLayout {
  stack: string;
  dir: string;
  state: string;
  hostsDir: string;
  sharedDir: string;
  secretsDir: string;
  /** The environment's bootstrap locks (flock files), root's alone: mounted into every app host. */
  locksDir: string;
  haproxyDir: string;
  /** The environment's PostgreSQL data (the db host's), on disk: it outlives every db host. */
  databaseDir: string;
  /** The stack's backups: outside the environment's dir, so they outlive `local down`. */
  backupsDir: string;
  artifacts: string;
  /** Releases of the artifact store unpacked once, read-only, for hosts to mount (machine-wide). */
  unpacked: string;
  /** Bridge name, and the prefix of every interface and namespace of this environment. */
  bridge: string;
  ifPrefix: string;
  netnsPrefix: string;
}

export function envLayout(stack: string, home = fawkesHome()): EnvLayout {
  const dir = join(home, "envs", checkedStackName(stack));
  // Hashed from the home too: two FAWKES_HOME trees' environments of one stack never share a bridge.
  const tag = shortHash(`fawkes-local:${home}:${stack}`, 6);
  return {
    stack,
    dir,
    state: join(dir, "state.json"),
    hostsDir: join(dir, "hosts"),
    sharedDir: join(dir, "shared"),
    secretsDir: join(dir, "secrets"),
    locksDir: join(dir, "locks"),
    haproxyDir: join(dir, "haproxy"),
    databaseDir: join(dir, "database"),
    backupsDir: join(home, "backups", stack),
    artifacts: join(home, "artifacts"),
    unpacked: unpackedDir(home),
    // Linux interface names are at most 15 characters: fw + 6 hex + suffix.
    bridge: `fw${tag}br`,
    ifPrefix: `fw${tag}h`,
    netnsPrefix: `fawkes-${tag}-`,
  };
}

export interface HostSlot {
  name: string;
  role: Role;
  index: number;
  ip: string;
  netns: string;
  veth: string;
  dir: string;
}

/** Addresses per role: web hosts in .11-.99, workers in .111-.199 of the environment's /24. */
const ROLE_BASE: Record<Role, number> = { web: 10, worker: 110 };
const SLOTS_PER_ROLE = 89;

/**
 * The slots a role's hosts may occupy: its desired size plus the rollout's surge, so that a new
 * host boots beside the one it replaces. A slot has a fixed name, address, namespace and veth; a
 * replacement comes up in a free slot (like a new instance id), and the old slot is freed.
 */
export function hostSlots(layout: EnvLayout, subnet: string, plans: readonly HostPlan[], rollout: Rollout): HostSlot[] {
  const base = subnet.split(".").slice(0, 3).join(".");
  const slots: HostSlot[] = [];
  for (const plan of plans) {
    const pool = plan.fleet.desired + rolloutPolicy(plan.fleet.desired, rollout).surge;
    if (pool > SLOTS_PER_ROLE) throw new Error(`the local target runs at most ${SLOTS_PER_ROLE} ${plan.role} hosts with their surge; ${layout.stack} asks for ${pool}`);
    for (let i = 1; i <= pool; i++) {
      const name = `${layout.stack}-${plan.role}-${i}`;
      slots.push({
        name,
        role: plan.role,
        index: i,
        ip: `${base}.${ROLE_BASE[plan.role] + i}`,
        netns: `${layout.netnsPrefix}${plan.role}-${i}`,
        veth: `${layout.ifPrefix}${ROLE_BASE[plan.role] + i}`,
        dir: join(layout.hostsDir, name),
      });
    }
  }
  return slots;
}

/** How many ids a local host's user namespace maps: 0..65535 inside, from its id base outside. */
export const HOST_ID_COUNT = 65536;

/**
 * The first outside id of a local host's user namespace (its root on the machine): one of 12,288
 * ranges of 65,536 ids from 2^30 up, below 2^31, picked by the host's dir (so by home, stack and
 * host). No user of the machine has such ids, and two hosts share a range only by a rare chance:
 * even then neither sees the other's files or processes.
 */
export function hostIdBase(slot: Pick<HostSlot, "dir">): number {
  return 2 ** 30 + (parseInt(shortHash(`fawkes-ids:${slot.dir}`, 8), 16) % 0x3000) * HOST_ID_COUNT;
}

/** The environment's /24: 10.231.X.0/24 with X from the stack name, skipping subnets in use. */
export function chooseSubnet(stack: string, inUse: readonly string[]): string {
  const start = parseInt(shortHash(`subnet:${stack}`, 4), 16) % 250;
  for (let k = 0; k < 250; k++) {
    const subnet = `10.231.${(start + k) % 250}.0/24`;
    if (!inUse.some((r) => r.startsWith(subnet.replace("/24", "")))) return subnet;
  }
  throw new Error("no free 10.231.X.0/24 subnet left on this machine for a local environment");
}

export function gatewayOf(subnet: string): string {
  return `${subnet.split(".").slice(0, 3).join(".")}.1`;
}
