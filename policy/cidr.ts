// Address blocks as the addresses they hold, so that 0.0.0.0/1 with 128.0.0.0/1, or 10.1.2.3/0, is
// the internet as surely as 0.0.0.0/0 is. Only public addresses count: leaving out the private and
// reserved ranges, which nobody on the internet sends from, opens nothing less. "Open" is more of
// them than any one network holds (WIDEST), so that half the internet is not let in either.
import { isIPv4, isIPv6 } from "node:net";

export type Family = 4 | 6;
/** Inclusive bounds. */
interface Range {
  from: bigint;
  to: bigint;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function ipv4(address: string): bigint {
  return address.split(".").reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6(address: string): bigint {
  let text = address.split("%")[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted) {
    const n = ipv4(dotted);
    text = `${text.slice(0, -dotted.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** The addresses a CIDR block holds, host bits dropped as AWS drops them; undefined when it is none. */
export function blockOf(cidr: unknown): { family: Family; range: Range } | undefined {
  const m = typeof cidr === "string" ? /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim()) : null;
  if (!m) return undefined;
  const address = m[1]!;
  const family: Family | undefined = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (family === undefined || Number(m[2]) > BITS[family]) return undefined;
  const size = 1n << BigInt(BITS[family] - Number(m[2]));
  const from = ((family === 4 ? ipv4(address) : ipv6(address)) / size) * size;
  return { family, range: { from, to: from + size - 1n } };
}

/** Sorted, with overlapping and adjacent ranges joined. */
function merged(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const r of [...ranges].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0))) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1n) last.to = r.to > last.to ? r.to : last.to;
    else out.push({ ...r });
  }
  return out;
}

/** The ranges of a family's space that the given ones leave out. */
function complement(family: Family, ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0n;
  for (const r of merged(ranges)) {
    if (r.from > next) out.push({ from: next, to: r.from - 1n });
    next = r.to + 1n;
  }
  const end = (1n << BigInt(BITS[family])) - 1n;
  if (next <= end) out.push({ from: next, to: end });
  return out;
}

const ranges = (cidrs: readonly string[]) => cidrs.map((c) => blockOf(c)!.range);

/** Where nobody on the internet sends from (IANA's special-purpose registries): private, shared, loopback, link-local, documentation, multicast, reserved. */
const NOT_PUBLIC_V4 = ranges([
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
  "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
]);

/** The public addresses of each family: IPv6's are its global unicast space. */
const PUBLIC: Record<Family, Range[]> = { 4: complement(4, NOT_PUBLIC_V4), 6: ranges(["2000::/3"]) };

const heldOf = (family: Family, cidrs: readonly unknown[]) => merged(cidrs.map(blockOf).flatMap((b) => (b && b.family === family ? [b.range] : [])));

/** Whether the blocks, together, hold every public address of the family. */
export function holdEveryPublicAddress(family: Family, cidrs: readonly unknown[]): boolean {
  const held = heldOf(family, cidrs);
  return PUBLIC[family].every((p) => held.some((h) => h.from <= p.from && h.to >= p.to));
}

/** How many public addresses of the family the blocks hold together. */
export function publicAddressesIn(family: Family, cidrs: readonly unknown[]): bigint {
  let n = 0n;
  for (const h of heldOf(family, cidrs)) {
    for (const p of PUBLIC[family]) {
      const from = h.from > p.from ? h.from : p.from;
      const to = h.to < p.to ? h.to : p.to;
      if (from <= to) n += to - from + 1n;
    }
  }
  return n;
}

const TOTAL: Record<Family, bigint> = { 4: publicAddressesIn(4, ["0.0.0.0/0"]), 6: publicAddressesIn(6, ["::/0"]) };

/** The share (0 to 1) of the family's public addresses the blocks hold. */
export const publicShare = (family: Family, cidrs: readonly unknown[]): number => Number(publicAddressesIn(family, cidrs)) / Number(TOTAL[family]);

/**
 * The widest block of each family one port may accept, in public addresses: no single network is
 * wider (the largest IPv4 holdings are the legacy /8s; the largest IPv6 allocations to one operator
 * are around a /19, so a /16 leaves room). More than that is other people's networks at large, the
 * internet in all but name: 0.0.0.0/1 is half of it.
 */
export const WIDEST: Record<Family, number> = { 4: 8, 6: 16 };

/** Whether the blocks, together, hold more public addresses of the family than its WIDEST block. */
export const isWide = (family: Family, cidrs: readonly unknown[]): boolean => publicAddressesIn(family, cidrs) > 1n << BigInt(BITS[family] - WIDEST[family]);
