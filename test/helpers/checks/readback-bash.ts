// The bash half of the read-back (../render_readback.sh runs it): each shell file of a host, and
// what bash must make of it. See ./readback-expect.ts for where the expected values come from.
import type { HostExpected } from "./readback-expect.ts";

export type { Expected } from "./readback-expect.ts";

export interface BashRead {
  id: string;
  kind: "syntax" | "env" | "vars" | "exec";
  /** The file on this machine (in the host's tree). */
  file: string;
  /** The task's lists, in render_readback.sh's order for its kind. */
  lists: string[][];
  check: (got: Map<string, string>) => string[];
}

type Values = Record<string, string | string[]>;

/** KEY -> value as render_readback.sh prints it: arrays as NAME[#] and NAME[i]. */
function flatten(prefix: string, values: Values): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === "string") out.set(`${prefix}${k}`, v);
    else {
      out.set(`${prefix}${k}[#]`, String(v.length));
      v.forEach((x, i) => out.set(`${prefix}${k}[${i}]`, x));
    }
  }
  return out;
}

const names = (values: Values) => Object.entries(values).map(([k, v]) => (typeof v === "string" ? k : `${k}[]`));

/** Every expected key read back with its value, and the run clean. */
function compare(id: string, got: Map<string, string>, want: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [k, v] of want) {
    const g = got.get(k);
    if (g !== v) problems.push(`${id}: ${k} reads back as ${JSON.stringify(g)}, rendered to mean ${JSON.stringify(v)}`);
  }
  return problems;
}

export function bashReads(label: string, at: (hostPath: string) => string, host: HostExpected): BashRead[] {
  const reads: BashRead[] = [];
  for (const path of host.shellFiles) {
    const id = `${label}${path}#syntax`;
    reads.push({ id, kind: "syntax", file: at(path), lists: [], check: (got) => compare(id, got, new Map([["rc", "0"], ["output", ""]])) });
  }
  for (const env of host.envFiles) {
    const id = `${label}${env.path}#sourced`;
    const want = new Map([...env.vars.map((v): [string, string] => [v.name, v.value]), ["rc", "0"], ["stderr", ""]]);
    reads.push({ id, kind: "env", file: at(env.path), lists: [env.vars.map((v) => v.name)], check: (got) => compare(id, got, want) });
  }
  for (const v of host.varReads) {
    const id = `${label}${v.path}#variables`;
    const appVars = Object.values(v.apps)[0] ?? {};
    const want = new Map([...flatten("", v.globals), ...Object.entries(v.apps).flatMap(([app, values]) => [...flatten(`${app}:`, values)]), ["rc", "0"], ["stderr", ""]]);
    reads.push({ id, kind: "vars", file: at(v.path), lists: [names(v.globals), names(appVars), Object.keys(v.apps)], check: (got) => compare(id, got, want) });
  }
  if (host.exec) {
    const id = `${label}${host.exec.path}#dispatch`;
    const apps = host.exec.apps;
    // 77: the app's arm was taken and it refused to run as root; 64: no arm, the usage error naming the host's apps.
    const want = new Map([...apps.map((a): [string, string] => [`rc:${a}`, "77"]), ["rc:_unknown_", "64"], ["unknown", `fawkes-exec: unknown app "_unknown_"; this host runs: ${apps.join(" ")}`]]);
    reads.push({ id, kind: "exec", file: at(host.exec.path), lists: [apps], check: (got) => compare(id, got, want) });
  }
  return reads;
}
