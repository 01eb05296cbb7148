import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** A Debian archive this machine's apt already uses: where debootstrap fetches the golden image. */
export interface DebianSource {
  uri: string;
  suites: string[];
  components: string[];
  file: string;
}

/** deb822 stanzas (`.sources`): comment lines may name other hosts and are skipped. */
export function parseDeb822(text: string, file: string): DebianSource[] {
  const out: DebianSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split("\n")) {
      if (/^\s*#/.test(line)) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    if ((fields.get("enabled") ?? "yes").toLowerCase() === "no") continue;
    if (!(fields.get("types") ?? "deb").split(/\s+/).includes("deb")) continue;
    for (const uri of (fields.get("uris") ?? "").split(/\s+/).filter(Boolean)) {
      out.push({ uri, suites: (fields.get("suites") ?? "").split(/\s+/).filter(Boolean), components: (fields.get("components") ?? "").split(/\s+/).filter(Boolean), file });
    }
  }
  return out;
}

/** One-line style (`deb [opts] URI SUITE COMPONENT...`). */
export function parseSourcesList(text: string, file: string): DebianSource[] {
  const out: DebianSource[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m) out.push({ uri: m[1]!, suites: [m[2]!], components: m[3]!.split(/\s+/).filter(Boolean), file });
  }
  return out;
}

/** Every enabled `deb` source of this machine's apt configuration. */
export function readAptSources(aptDir = "/etc/apt"): DebianSource[] {
  const out: DebianSource[] = [];
  const list = join(aptDir, "sources.list");
  if (existsSync(list)) out.push(...parseSourcesList(readFileSync(list, "utf8"), list));
  const dir = join(aptDir, "sources.list.d");
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      const path = join(dir, f);
      if (f.endsWith(".sources")) out.push(...parseDeb822(readFileSync(path, "utf8"), path));
      else if (f.endsWith(".list")) out.push(...parseSourcesList(readFileSync(path, "utf8"), path));
    }
  }
  return out;
}

/** Debian's release names: a source carrying one of them with `main` is a Debian archive, which carries every release. */
const DEBIAN_SUITES = /^(buster|bullseye|bookworm|trixie|forky|duke|sid)(-updates|-backports)?$/;

/**
 * The archive to debootstrap `suite` from: the machine's source that carries `suite` with `main`,
 * else the machine's Debian archive (a Debian 12 machine's archive serves Debian 13 too).
 */
export function debianMirror(suite: string, sources = readAptSources()): string {
  const usable = sources.filter((s) => s.components.includes("main") && !/security/.test(s.uri));
  const hit = usable.find((s) => s.suites.includes(suite)) ?? usable.find((s) => s.suites.some((x) => DEBIAN_SUITES.test(x)));
  if (!hit) {
    const seen = sources.map((s) => `${s.file}: ${s.suites.join(" ")}`).join("; ") || "none";
    throw new Error(`no apt source of this machine is a Debian archive with "main" to fetch ${suite} from (sources: ${seen}); add one to /etc/apt/sources.list.d/ or set FAWKES_DEBIAN_MIRROR`);
  }
  return hit.uri;
}
