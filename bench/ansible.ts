// The Ansible side of the in-place comparison: Debian's ansible in a host of the same golden image
// (plus the ansible package), booted from the same user-data as the dev web host, then patched in
// place by `ansible-playbook -c local -i localhost,` with the changed files and their handlers.
import { Document, Scalar } from "yaml";
import type { EnvironmentSpec } from "../src/config/index.ts";
import type { GoldenImage } from "../src/local/image.ts";
import type { HostPlan } from "../src/model/index.ts";
import type { RenderedFile } from "../src/render/index.ts";
import { derivedImage, managedFiles, timedInHost, type Reload, type ToolHost, type ToolRun } from "./in-place.ts";

/** The recipe's image plus Debian's ansible (ansible-core and the community collections). */
export function ansibleImage(spec: EnvironmentSpec): GoldenImage {
  return derivedImage(spec, ["ansible"]);
}

/** Literal bytes: `!unsafe` keeps Ansible from reading a `{{` in a rendered file as Jinja. */
function literal(content: string): Scalar {
  const s = new Scalar(content);
  s.tag = "!unsafe";
  return s;
}

/**
 * A playbook as an Ansible shop would write it for this change: a `copy` task per changed file
 * (its bytes, owner, group, mode) notifying handlers that reload nginx, run `supervisorctl
 * update`, or restart / HUP the app's gunicorn program. Facts are off (nothing here uses them):
 * the fastest playbook that does the job, as Puppet's HUP manifest is.
 */
export function ansiblePlaybook(files: readonly RenderedFile[], plan: HostPlan, reload: Reload): string {
  const managed = managedFiles(files, plan, reload);
  const play = {
    name: "fawkes bench: the catalogue change, patched in place",
    hosts: "all",
    gather_facts: false,
    vars: { ansible_python_interpreter: "/usr/bin/python3" },
    tasks: managed.files.map((m) => ({
      name: `${m.file.path}`,
      "ansible.builtin.copy": { dest: m.file.path, content: literal(m.file.content), owner: m.owner, group: m.group, mode: m.file.mode },
      ...(m.notify.length > 0 ? { notify: m.notify } : {}),
    })),
    handlers: [...managed.commands].map(([name, command]) => ({ name, "ansible.builtin.shell": command })),
  };
  return `# fawkes bench: the catalogue change, patched in place.\n${new Document([play]).toString({ lineWidth: 0 })}`;
}

export interface AnsibleRun extends ToolRun {
  /** From the PLAY RECAP: tasks and handlers that changed something. */
  changed: number;
}

/** `ansible-playbook -c local -i localhost,` in the host, to the change live. */
export async function timedAnsiblePlaybook(host: ToolHost, playbook: string, live: () => Promise<boolean>, expectChanges = true): Promise<AnsibleRun> {
  // ansible-core refuses a locale that is not UTF-8; the host has C.UTF-8 and no other.
  const argv = ["env", "LC_ALL=C.UTF-8", "ANSIBLE_NOCOLOR=1", "ansible-playbook", "-c", "local", "-i", "localhost,", playbook];
  const run = await timedInHost(host, argv, live, (code) => code === 0);
  const recap = /^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/m.exec(run.output);
  if (!recap) throw new Error(`ansible-playbook ${playbook}: no PLAY RECAP in its output:\n${run.output.split("\n").slice(-15).join("\n")}`);
  const changed = Number(recap[2]);
  if (expectChanges !== changed > 0) throw new Error(`ansible-playbook ${playbook}: changed=${changed}, expected ${expectChanges ? "changes" : "none"}`);
  return { ...run, changed };
}
