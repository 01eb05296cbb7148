// The edge of the twin: its network (the bridge, namespaces) and the services host's boot and stop.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { prepareDisk, startHost, stopRecordedHost, type HostBox } from "../local/host.ts";
import { bridgeUpSteps, hostNetworkSteps } from "../local/network.ts";
import { runSteps, type Progress } from "../local/steps.ts";
import type { GoldenImage } from "../local/image.ts";
import { slotMac, type TwinLayout } from "./layout.ts";
import { EFS_CA, SERVICES_INIT_PATH, SERVICES_READY, servicesFiles, type ServicesConfig } from "./services.ts";

export interface RunningHost {
  name: string;
  netns: string;
  veth: string;
  ip: string;
  dir: string;
  init: number;
  launcher: number;
}

/** The twin's bridge, with the machine's side at .1 (fawkes and the front reach the twin from it). */
export async function ensureBridge(layout: TwinLayout, subnet: string): Promise<void> {
  if (existsSync(`/sys/class/net/${layout.bridge}`)) return;
  await runSteps(bridgeUpSteps(layout, subnet));
}

/** A host's namespace on the bridge, its card with the slot's fixed MAC (DHCP answers it by MAC). */
export async function ensureHostNetwork(layout: TwinLayout, box: HostBox): Promise<void> {
  if (existsSync(`/run/netns/${box.netns}`)) return;
  const steps = hostNetworkSteps(layout, box);
  // The MAC is set before the card comes up.
  const upAt = steps.findIndex((s) => s.kind === "run" && s.argv.join(" ") === `ip -n ${box.netns} link set eth0 up`);
  steps.splice(upAt, 0, { kind: "run", title: `${box.netns}: eth0 ${slotMac(box.ip)}`, argv: ["ip", "-n", box.netns, "link", "set", "eth0", "address", slotMac(box.ip)] });
  await runSteps(steps);
}

/** The CA the services host made for EFS's certificate, read from its disk once it is ready. */
export function efsCertificateAuthority(services: Pick<RunningHost, "init">): string {
  return readFileSync(join(`/proc/${services.init}/root`, EFS_CA.slice(1)), "utf8");
}

/** Boots the services host and waits until each of its services answers (at most `timeoutMs`). */
export async function bootServices(layout: TwinLayout, image: GoldenImage, config: ServicesConfig, progress: Progress, timeoutMs = 120_000): Promise<RunningHost> {
  const box: HostBox = { ...layout.services, ip: config.address };
  await ensureHostNetwork(layout, box);
  mkdirSync(layout.sharedDir, { recursive: true, mode: 0o755 });
  const mounts = { rootfs: image.rootfs, shared: {}, efs: layout.sharedDir };
  prepareDisk(box, mounts, servicesFiles(config), "services");
  progress(`services host ${config.address}: moto, dnsmasq, EFS (nfs-ganesha behind stunnel)${config.database ? ", PostgreSQL (RDS)" : ""}`);
  const pids = await startHost(box, mounts, {}, SERVICES_INIT_PATH);
  const root = `/proc/${pids.init}/root`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(join(root, SERVICES_READY))) return { ...box, ...pids };
    const failed = join(root, "run/fawkes-twin/failed");
    if (existsSync(failed)) throw new Error(`the twin's services host failed: ${readFileSync(failed, "utf8").trim()} (logs: ${join(box.dir, "upper/var/log/fawkes-twin")})`);
    if (!existsSync(`/proc/${pids.init}`)) break;
    await sleep(100);
  }
  await stopRecordedHost({ init: pids.init, launcher: pids.launcher, netns: box.netns }, box);
  throw new Error(`the twin's services host was not ready within ${timeoutMs / 1000} s (console: ${join(box.dir, "console.log")})`);
}
