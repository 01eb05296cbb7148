// The Puppet side of the in-place comparison: Debian's puppet in a host of the same golden image
// (plus the puppet package), booted from the same user-data as the dev web host, then patched in
// place by `puppet apply` with the changed files and the reloads they need.
import type { EnvironmentSpec } from "../src/config/index.ts";
import type { GoldenImage } from "../src/local/image.ts";
import type { HostPlan } from "../src/model/index.ts";
import type { RenderedFile } from "../src/render/index.ts";
import { derivedImage, managedFiles, timedInHost, type Reload, type ToolHost, type ToolRun } from "./in-place.ts";

/** The recipe's image plus Debian's puppet (puppet-agent 8 in trixie). */
export function puppetImage(spec: EnvironmentSpec): GoldenImage {
  return derivedImage(spec, ["puppet"]);
}

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/**
 * A manifest as a Puppet shop would write it for this change: a `file` resource per changed file
 * with its new bytes, owner and mode, notifying `exec` resources that make it live.
 */
export function puppetManifest(files: readonly RenderedFile[], plan: HostPlan, reload: Reload): string {
  const managed = managedFiles(files, plan, reload);
  const out: string[] = ["# fawkes bench: the catalogue change, patched in place.", ""];
  for (const m of managed.files) {
    out.push(
      `file { ${quote(m.file.path)}:`,
      "  ensure  => file,",
      `  owner   => ${quote(m.owner)},`,
      `  group   => ${quote(m.group)},`,
      `  mode    => ${quote(m.file.mode)},`,
      `  content => ${quote(m.file.content)},`,
      ...(m.notify.length > 0 ? [`  notify  => [${m.notify.map((t) => `Exec[${quote(t)}]`).join(", ")}],`] : []),
      "}",
      "",
    );
  }
  for (const [title, command] of managed.commands) {
    out.push(`exec { ${quote(title)}:`, `  command     => ${quote(command)},`, "  provider    => shell,", "  refreshonly => true,", "}", "");
  }
  return out.join("\n");
}

export interface PuppetRun extends ToolRun {
  /** Puppet's own figures: catalog compile, and catalog apply (the file writes and the reloads). */
  compile?: number;
  apply?: number;
}

/** `puppet apply` of a manifest in the host, to the change live; --detailed-exitcodes 2 is "changes made". */
export async function timedPuppetApply(host: ToolHost, manifest: string, live: () => Promise<boolean>, expectChanges = true): Promise<PuppetRun> {
  const want = expectChanges ? 2 : 0;
  const run = await timedInHost(host, ["puppet", "apply", "--detailed-exitcodes", "--color=false", manifest], live, (code) => code === want);
  const num = (re: RegExp) => {
    const m = re.exec(run.output);
    return m ? Number(m[1]) : undefined;
  };
  return {
    ...run,
    compile: num(/Compiled catalog for \S+ in environment \S+ in ([\d.]+) seconds/),
    apply: num(/Applied catalog in ([\d.]+) seconds/),
  };
}
