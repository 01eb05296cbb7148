import { existsSync, readFileSync } from "node:fs";
import { execa } from "execa";

/** Why the local target cannot run here, each with what to do; empty when it can. */
export async function preflightProblems(): Promise<string[]> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) {
    problems.push("the local target needs root (namespaces, overlay mounts, bridges); run it with sudo. Without root, check, render and diff-stacks still work");
    return problems;
  }
  const fs = existsSync("/proc/filesystems") ? readFileSync("/proc/filesystems", "utf8") : "";
  if (!/\toverlay\n/.test(fs)) problems.push("the kernel has no overlay filesystem (modprobe overlay)");
  if (!existsSync("/proc/self/ns/pid") || !existsSync("/proc/self/ns/net")) problems.push("the kernel lacks pid or network namespaces");
  if (!existsSync("/proc/self/ns/user")) problems.push("the kernel lacks user namespaces: each local host has its own");
  for (const [tool, pkg] of [["ip", "iproute2"], ["unshare", "util-linux"], ["nsenter", "util-linux"], ["haproxy", "haproxy"], ["debootstrap", "debootstrap"], ["nft", "nftables"], ["/usr/bin/python3", "python3"]] as const) {
    const r = await execa("sh", ["-c", `command -v ${tool}`], { reject: false });
    if (r.exitCode !== 0) problems.push(`${tool} is missing: apt-get install ${pkg}`);
  }
  return problems;
}
