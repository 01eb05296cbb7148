import type { EnvLayout, HostSlot } from "./layout.ts";
import { gatewayOf } from "./layout.ts";
import type { Step } from "./steps.ts";

const run = (title: string, ...argv: string[]): Step => ({ kind: "run", title, argv });

/** The environment's bridge: the machine's side holds the gateway address, for HAProxy only. */
export function bridgeUpSteps(layout: EnvLayout, subnet: string): Step[] {
  return [
    run(`bridge ${layout.bridge}`, "ip", "link", "add", layout.bridge, "type", "bridge"),
    run(`address ${gatewayOf(subnet)} on ${layout.bridge}`, "ip", "addr", "add", `${gatewayOf(subnet)}/24`, "dev", layout.bridge),
    run(`${layout.bridge} up`, "ip", "link", "set", layout.bridge, "up"),
  ];
}

/**
 * A host's network namespace: loopback, and one veth on the bridge with its address and no
 * default route, so the host reaches its environment's subnet and nothing else.
 */
export function hostNetworkSteps(layout: EnvLayout, slot: Pick<HostSlot, "netns" | "veth" | "ip">): Step[] {
  const peer = `${slot.veth}p`;
  return [
    run(`netns ${slot.netns}`, "ip", "netns", "add", slot.netns),
    run(`${slot.netns}: lo up`, "ip", "-n", slot.netns, "link", "set", "lo", "up"),
    run(`veth ${slot.veth}`, "ip", "link", "add", slot.veth, "type", "veth", "peer", "name", peer),
    run(`${peer} into ${slot.netns} as eth0`, "ip", "link", "set", peer, "netns", slot.netns, "name", "eth0"),
    run(`${slot.veth} onto ${layout.bridge}`, "ip", "link", "set", slot.veth, "master", layout.bridge, "up"),
    run(`${slot.netns}: ${slot.ip}/24 on eth0`, "ip", "-n", slot.netns, "addr", "add", `${slot.ip}/24`, "dev", "eth0"),
    run(`${slot.netns}: eth0 up`, "ip", "-n", slot.netns, "link", "set", "eth0", "up"),
  ];
}

export function hostNetworkDownSteps(slot: { netns: string; veth: string }): Step[] {
  return [run(`delete ${slot.veth}`, "ip", "link", "del", slot.veth), run(`delete netns ${slot.netns}`, "ip", "netns", "del", slot.netns)];
}

/**
 * A local host's way out: its loopback, its peers on the environment's subnet (the db host, the
 * other app hosts) and answers to what reached it (HAProxy's requests and checks from the
 * bridge); nothing of the machine itself, whose bridge address is refused. The rules live in the
 * host's network namespace, which the machine's user namespace owns: root in the host (its own
 * user namespace) can change neither them nor its addresses and routes. Made again each time.
 */
export function hostFirewallSteps(slot: Pick<HostSlot, "netns" | "ip">): Step[] {
  const net = slot.ip.split(".").slice(0, 3).join(".");
  const rules = [
    "add table inet fawkes-host",
    "flush table inet fawkes-host",
    "add chain inet fawkes-host output { type filter hook output priority filter; policy drop; }",
    'add rule inet fawkes-host output oifname "lo" accept',
    "add rule inet fawkes-host output ct state established,related accept",
    `add rule inet fawkes-host output ip daddr ${net}.1 reject with icmpx admin-prohibited`,
    `add rule inet fawkes-host output ip daddr ${net}.0/24 accept`,
    "add rule inet fawkes-host output reject with icmpx admin-prohibited",
  ];
  return [run(`${slot.netns}: firewall (its subnet only)`, "ip", "netns", "exec", slot.netns, "nft", rules.join("; "))];
}
