// The instance metadata service of one twin host as a daemon: started inside the host's network
// namespace (`ip netns exec NS node --import tsx imds-main.ts CONFIG.json`), it prints
// "listening" once bound and serves until killed. CONFIG.json: InstanceMetadata, user-data in base64.
import { readFileSync } from "node:fs";
import { serveImds, type InstanceMetadata } from "./imds.ts";

const path = process.argv[2];
if (!path) throw new Error("usage: imds-main.ts CONFIG.json");
const raw = JSON.parse(readFileSync(path, "utf8")) as Omit<InstanceMetadata, "userData"> & { userData?: string };
const metadata: InstanceMetadata = { ...raw, userData: raw.userData === undefined ? undefined : Buffer.from(raw.userData, "base64") };
await serveImds(metadata);
process.stdout.write("listening\n");
