// What a set of ingress rules lets in, judged together: on each protocol and port, the union of the
// blocks of every rule that reaches it. Two rules on port 22, from 11.0.0.0/8 and from 12.0.0.0/8,
// open port 22 wider than any one network though neither does alone.
import { holdEveryPublicAddress, isWide, publicAddressesIn, publicShare, WIDEST, type Family } from "./cidr";
import { list, type Props } from "./resources";

/** One rule: where it is declared, what it reaches, from which blocks. */
export interface IngressEntry {
  where: string;
  protocol: string;
  from: number;
  to: number;
  cidrs: unknown[];
  tier: unknown;
}

/** Protocols without ports (or with ICMP types in their place) are judged whole. */
const PORTED = new Set(["tcp", "udp"]);
const NAMES: Record<string, string> = { "-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6" };
const ALL_PORTS = { from: 0, to: 65535 };

function portsOf(protocol: string, from: unknown, to: unknown): { from: number; to: number } {
  const f = Number(from);
  const t = Number(to);
  return PORTED.has(protocol) && Number.isInteger(f) && Number.isInteger(t) && f >= 0 && t >= f ? { from: f, to: t } : ALL_PORTS;
}

/** A rule as the provider spells it (`protocol`/`ipProtocol`, `fromPort`, `toPort`). */
export function entryOf(where: string, protocol: unknown, from: unknown, to: unknown, cidrs: unknown[], tier: unknown): IngressEntry {
  const name = String(protocol).toLowerCase();
  const normal = NAMES[name] ?? name;
  return { where, protocol: normal, ...portsOf(normal, from, to), cidrs, tier };
}

/** A security group's inline ingress rules. */
export function inlineEntries(group: Props, tier: unknown): IngressEntry[] {
  return list(group.ingress).map((r: Props, i) => entryOf(`ingress[${i}]`, r?.protocol, r?.fromPort, r?.toPort, [...list(r?.cidrBlocks), ...list(r?.ipv6CidrBlocks)], tier));
}

/** Where the rules, together, let more of a family's public addresses in than one network holds (cidr.ts' WIDEST). */
export interface Opening {
  protocol: string;
  from: number;
  to: number;
  families: Family[];
  /** The rules that let public addresses of those families in: a private block beside them adds nothing. */
  entries: IngressEntry[];
}

/** Every protocol and port range that some combination of the rules opens to the internet, adjacent ranges opened by the same rules joined. */
export function openings(entries: readonly IngressEntry[]): Opening[] {
  const out: Opening[] = [];
  const protocols = new Set(entries.map((e) => e.protocol));
  for (const protocol of protocols) {
    // A rule of all protocols reaches every port of every other.
    const reaching = entries.filter((e) => e.protocol === protocol || (protocol !== "all" && e.protocol === "all"));
    const bounds = [...new Set(reaching.flatMap((e) => [e.from, e.to + 1]))].sort((a, b) => a - b);
    for (const [k, from] of bounds.slice(0, -1).entries()) {
      const to = bounds[k + 1]! - 1;
      const reachingHere = reaching.filter((e) => e.from <= from && e.to >= to);
      const families = ([4, 6] as const).filter((f) => isWide(f, reachingHere.flatMap((e) => e.cidrs)));
      const these = reachingHere.filter((e) => families.some((f) => publicAddressesIn(f, e.cidrs) > 0n));
      // Rules of all protocols alone open this port as they open every other: said once, under "all".
      if (families.length === 0 || (protocol !== "all" && these.every((e) => e.protocol === "all"))) continue;
      const last = out[out.length - 1];
      const same = last && last.protocol === protocol && last.to + 1 === from && last.families.join() === families.join() && last.entries.length === these.length && these.every((e) => last.entries.includes(e));
      if (same) last.to = to;
      else out.push({ protocol, from, to, families, entries: these });
    }
  }
  return out;
}

const WEB_PORTS = [80, 443];

/** Whether an opening is the load balancer's web traffic: tcp, one port, 80 or 443, every rule of it (and its group) tier alb. */
export function isAlbWeb(o: Opening, groupTier: unknown): boolean {
  return groupTier === "alb" && o.protocol === "tcp" && o.from === o.to && WEB_PORTS.includes(o.from) && o.entries.every((e) => e.tier === "alb");
}

/** `57%`, `0.91%`: never 100% short of every address. */
function percent(share: number): string {
  return share >= 0.01 ? `${Math.min(99, Math.round(share * 100))}%` : `${(share * 100).toPrecision(2)}%`;
}

/** `every public IPv4 address on tcp 22`, `more public IPv4 addresses than a /8 holds (57% of them) on tcp 22`. */
export function describeOpening(o: Opening): string {
  const ports = o.protocol === "all" ? "every protocol and port" : PORTED.has(o.protocol) ? `${o.protocol} ${o.from === o.to ? o.from : `${o.from}-${o.to}`}` : o.protocol;
  const cidrs = o.entries.flatMap((e) => e.cidrs);
  const every = o.families.filter((f) => holdEveryPublicAddress(f, cidrs));
  const shares = o.families.filter((f) => !every.includes(f)).map((f) => `more public IPv${f} addresses than a /${WIDEST[f]} holds (${percent(publicShare(f, cidrs))} of them)`);
  const all = every.length === 0 ? [] : [`every public ${every.map((f) => `IPv${f}`).join(" and ")} address`];
  return `${[...all, ...shares].join(" and ")} on ${ports}`;
}
