// Checks of a stack's knobs that need more than the knobs' schema: the parent of a QA stack and the
// stacks a management stack manages (which stacks the project has), and the host names its apps
// answer on (the catalogue's labels).
import type { Problem } from "./errors.ts";
import { DEFAULT_PARENT } from "./knobs.ts";
import type { LoadInput } from "./load.ts";
import { pathText } from "./problems.ts";
import { templateOf } from "./spec.ts";
import { didYouMean } from "./suggest.ts";
import { isPlainObject } from "./primitives.ts";
import { APP_ONLY_KNOBS } from "./management-knob.ts";

export type Locate = (path: readonly PropertyKey[]) => { file: string; prefix: string; path: readonly PropertyKey[] };

/**
 * The parent knob and what hangs on it: only QA stacks have a parent; it is a stack of the project
 * with a network of its own (not a QA stack); sharing its database server needs one.
 */
export function parentProblems(input: LoadInput, merged: Record<string, unknown>, locateKnob: Locate): Problem[] {
  const problems: Problem[] = [];
  const at = (path: readonly PropertyKey[], message: string, hint?: string): void => {
    const loc = locateKnob(path);
    problems.push({ file: loc.file, path: pathText(loc.prefix, loc.path), message, ...(hint ? { hint } : {}) });
  };
  const qa = templateOf(input.stack) === "qa";
  const parent = merged.parent;
  const database = isPlainObject(merged.database) ? merged.database : {};
  if (!qa && parent !== undefined) {
    at(["parent"], `only QA stacks (qa, qa-<branch>) have a parent; ${input.stack} makes its own network, so remove the key`);
  }
  if (!qa && database.shareParentServer === true) {
    at(["database", "shareParentServer"], `only a QA stack shares its parent's database server; ${input.stack} has no parent, so set it to false or remove it`);
  }
  if (!qa || typeof parent !== "string") return problems;
  if (templateOf(parent) === "qa") {
    at(["parent"], `"${parent}" is a QA stack, which has no network of its own to share; name a stack that has one, like "${DEFAULT_PARENT}"`);
  } else if (input.stacks && !input.stacks.includes(parent)) {
    const candidates = input.stacks.filter((s) => templateOf(s) !== "qa");
    const byDefault = !hasParentKey(input);
    const message =
      `"${parent}"${byDefault ? " (the default)" : ""} is not a stack of this project (it has no stack file); on AWS a QA stack runs in its parent's network, so the parent is a stack with a network of its own: ` +
      (candidates.length > 0 ? `set parent to one of ${candidates.join(", ")}, or add the ${parent} stack` : `add the ${parent} stack (or another stack that is not a QA stack) and deploy it first`);
    if (byDefault) {
      // No file names it: the fix belongs in the qa template, which every branch stack inherits.
      const template = input.stackLayers[0];
      const key = `${input.project}:parent`;
      const hint = didYouMean(parent, candidates);
      problems.push({ file: template?.file ?? "stack", path: template?.display ? template.display(key) : `config.${key}`, message, ...(hint ? { hint } : {}) });
    } else at(["parent"], message, didYouMean(parent, candidates));
  }
  return problems;
}

function hasParentKey(input: LoadInput): boolean {
  return input.stackLayers.some((l) => `${input.project}:parent` in l.values);
}

/** A DNS name is at most 253 characters (RFC 1035): the load balancer and certificates refuse longer. */
const DNS_NAME_MAX = 253;

/** Host names `<label>.<domain>` past DNS's limit, reported at the domain knob (which decides it). */
export function hostNameProblems(apps: readonly { name: string; domains: readonly string[] }[], domain: string, locateKnob: Locate): Problem[] {
  const loc = locateKnob(["domain"]);
  return apps.flatMap((app) =>
    app.domains
      .filter((label) => label.length + 1 + domain.length > DNS_NAME_MAX)
      .map((label) => ({
        file: loc.file,
        path: pathText(loc.prefix, loc.path),
        message: `app "${app.name}" would answer on "${label}.${domain}", ${label.length + 1 + domain.length} characters; a DNS name has at most ${DNS_NAME_MAX}: shorten the domain (or the app's label)`,
      })),
  );
}

/**
 * The console knob and what hangs on it: a management stack manages stacks of the project other
 * than itself and not QA stacks (which `qa up|down` make and destroy, beyond a deployer's
 * permissions); it is no QA stack itself, and sets none of the knobs that only concern apps.
 */
export function managementProblems(input: LoadInput, merged: Record<string, unknown>, setKnobs: readonly string[], locateKnob: Locate): Problem[] {
  if (!isPlainObject(merged.console)) return [];
  const problems: Problem[] = [];
  const at = (path: readonly PropertyKey[], message: string, hint?: string): void => {
    const loc = locateKnob(path);
    problems.push({ file: loc.file, path: pathText(loc.prefix, loc.path), message, ...(hint ? { hint } : {}) });
  };
  if (templateOf(input.stack) === "qa") at(["console"], `a QA stack cannot be a management stack: ${input.stack} comes and goes with its branch; set console in a stack of its own, like "ops"`);
  const candidates = (input.stackNames ?? []).filter((s) => s !== input.stack && templateOf(s) !== "qa");
  const manages = Array.isArray(merged.console.manages) ? merged.console.manages : [];
  manages.forEach((name, i) => {
    if (typeof name !== "string") return;
    if (name === input.stack) {
      at(["console", "manages", i], `"${name}" is this stack: a management stack runs the console and no apps, so it has nothing to deploy of its own; list the stacks whose environments the console deploys`);
    } else if (templateOf(name) === "qa") {
      at(["console", "manages", i], `"${name}" is a QA stack: QA stacks are made and torn down by fawkes qa up|down, which create and delete resources, and the console deploys with each environment's deployer permissions only; list long-lived stacks`);
    } else if (input.stackNames && !input.stackNames.includes(name)) {
      at(["console", "manages", i], `"${name}" is not a stack of this project (it has no stack file); stacks the console may manage: ${candidates.join(", ") || "none yet"}`, didYouMean(name, candidates));
    }
  });
  for (const knob of APP_ONLY_KNOBS) {
    if (!setKnobs.includes(knob)) continue;
    const why = knob === "certificateArn" ? "the console's certificate is console.certificateArn" : "nothing here would use it";
    at([knob], `a management stack (console is set) runs no apps, only the deploy console's host: ${why}; remove ${knob}`);
  }
  return problems;
}
