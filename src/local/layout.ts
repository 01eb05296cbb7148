import { join } from "node:path";
import type { HostPlan, Role } from "../model/index.ts";
import { shortHash } from "../names/index.ts";
import { fawkesHome } from "./image.ts";

/** Where one environment's local hosts, stand-ins and state live on this machine. */
export interface EnvLayout {
  stack: string;
  dir: string;
  state: string;
  hostsDir: string;
  sharedDir: string;
  secretsDir: string;
  haproxyDir: string;
  artifacts: string;
  /** Bridge name, and the prefix of every interface and namespace of this environment. */
  bridge: string;
  ifPrefix: string;
  netnsPrefix: string;
}

export function envLayout(stack: string, home = fawkesHome()): EnvLayout {
  const dir = join(home, "envs", stack);
  const tag = shortHash(`fawkes-local:${stack}`, 6);
  return {
    stack,
    dir,
    state: join(dir, "state.json"),
    hostsDir: join(dir, "hosts"),
    sharedDir: join(dir, "shared"),
    secretsDir: join(dir, "secrets"),
    haproxyDir: join(dir, "haproxy"),
    artifacts: join(home, "artifacts"),
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

/** Host names and addresses are fixed per slot: a rebuilt host comes back as itself. */
export function hostSlots(layout: EnvLayout, subnet: string, plans: readonly HostPlan[]): HostSlot[] {
  const base = subnet.split(".").slice(0, 3).join(".");
  const slots: HostSlot[] = [];
  let n = 0;
  for (const plan of plans) {
    for (let i = 1; i <= plan.fleet.desired; i++) {
      n++;
      const name = `${layout.stack}-${plan.role}-${i}`;
      slots.push({
        name,
        role: plan.role,
        index: i,
        ip: `${base}.${10 + n}`,
        netns: `${layout.netnsPrefix}${plan.role}-${i}`,
        veth: `${layout.ifPrefix}${n}`,
        dir: join(layout.hostsDir, name),
      });
    }
  }
  return slots;
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
