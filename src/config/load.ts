import type { z } from "zod";
import { CATALOGUE_KEYS, CatalogueSchema } from "./catalogue.ts";
import { DATABASE_PACKAGES, ImageRecipeSchema, RECIPE_FILE, type ImageRecipe } from "./recipe.ts";
import { ProblemList, type Problem } from "./errors.ts";
import { DEFAULT_PARENT, KNOB_NAMES, KnobsSchema, PROVIDER_KNOBS } from "./knobs.ts";
import { pathText, quoted, zodProblems } from "./problems.ts";
import { resolveApps } from "./resolve-apps.ts";
import { deepFreeze, templateOf, type EnvironmentSpec, type ResolvedApp } from "./spec.ts";
import { didYouMean } from "./suggest.ts";
import { hostNameProblems, managementProblems, parentProblems } from "./knob-checks.ts";
import { isPlainObject } from "./primitives.ts";

/** Config keys of one file, as Pulumi names them (`project:key`, `aws:region`). */
export interface ConfigLayer {
  /** File the values come from, relative to the project root. */
  file: string;
  values: Record<string, unknown>;
  /** How a key is shown in messages, e.g. `config.fawkes:fleet`. Default `config.<key>`. */
  display?: (key: string) => string;
  /** The environment template's layer (`qa` under a branch stack), not the stack's own. */
  template?: boolean;
}

export interface LoadInput {
  project: string;
  stack: string;
  /** Project-level config of Pulumi.yaml: the catalogue. */
  projectLayer: ConfigLayer;
  /** Stack-level layers, lowest first: the environment template, then the stack itself. */
  stackLayers: ConfigLayer[];
  /** The image recipe (image/recipe.yaml): packages and steps of every host's image, on both targets. */
  recipe: { file: string; values: unknown };
  /** Problems already found while reading the files (YAML syntax, missing files). */
  problems?: Problem[];
  /** The project's stacks (their stack files): a QA stack's parent must be one of them. Unchecked when absent (the local target, which has no parent). */
  stacks?: readonly string[];
  /** The project's stacks (their stack files): what a management stack's console.manages may name. Unchecked when absent. */
  stackNames?: readonly string[];
  /** Why an app's source dir cannot be used (files.ts reads the project dir); unchecked when absent. */
  sourceDirProblem?: (dir: string) => string | undefined;
  /** An app without a release pin is no problem (building its first release). */
  unpinnedAllowed?: boolean;
}

/** Provider settings a stack may carry that change nothing fawkes declares. */
const PASSTHROUGH_KEYS = /^aws:(profile|skip[A-Za-z]+|sharedCredentialsFiles|sharedConfigFiles)$/;

const CATALOGUE_KEY = "catalogue";

/** Later layers win; objects merge key by key, arrays and scalars are replaced. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
    return out;
  }
  return over;
}

function has(obj: unknown, path: readonly PropertyKey[]): boolean {
  let cur = obj;
  for (const seg of path) {
    if (!isPlainObject(cur) || !(String(seg) in cur)) return false;
    cur = cur[String(seg)];
  }
  return true;
}

interface KnobSource {
  layer: ConfigLayer;
  key: string;
  value: unknown;
}

function knobMisplacedInCatalogue(key: string, file: string, display: string): Problem {
  return {
    file,
    path: display,
    message: `"${key}" is a knob; knobs are set per stack in stacks/Pulumi.<stack>.yaml, never in the catalogue`,
  };
}

/**
 * A branch stack (`qa-<branch>`) that does not set its own domain answers under the template's,
 * one label deeper: `qa-feature-x` over `qa.example.com` serves `shop.feature-x.qa.example.com`.
 * Branch environments then never claim each other's (or the template's) host names.
 */
function withBranchDomain(stack: string, merged: Record<string, unknown>, domainSources: readonly KnobSource[]): Record<string, unknown> {
  const template = templateOf(stack);
  if (template === stack || typeof merged.domain !== "string") return merged;
  if (domainSources.some((s) => !s.layer.template)) return merged;
  return { ...merged, domain: `${stack.slice(template.length + 1)}.${merged.domain}` };
}

/**
 * Layers schema defaults <- catalogue <- environment template <- stack knobs into one frozen
 * EnvironmentSpec. Every problem in every layer is reported at once in one ConfigError.
 */
export function loadEnvironment(input: LoadInput): EnvironmentSpec {
  const problems = new ProblemList();
  for (const p of input.problems ?? []) problems.add(p);
  const ns = `${input.project}:`;
  const show = (layer: ConfigLayer, key: string) => (layer.display ? layer.display(key) : `config.${key}`);
  const knobOf = (key: string): string | undefined =>
    PROVIDER_KNOBS[key] ?? (key.startsWith(ns) && KNOB_NAMES.includes(key.slice(ns.length)) ? key.slice(ns.length) : undefined);

  // Project layer: the catalogue and nothing else.
  let catalogueRaw: unknown;
  const pl = input.projectLayer;
  for (const [key, value] of Object.entries(pl.values)) {
    if (key === ns + CATALOGUE_KEY) {
      catalogueRaw = value;
      continue;
    }
    const knob = knobOf(key);
    if (knob !== undefined) problems.add(knobMisplacedInCatalogue(knob, pl.file, show(pl, key)));
    else {
      const bare = key.startsWith(ns) ? key.slice(ns.length) : key;
      problems.add({
        file: pl.file,
        path: show(pl, key),
        message: `unknown key; the project config holds only "${CATALOGUE_KEY}" (apps, load balancer, gunicorn)`,
        hint: KNOB_NAMES.includes(bare) ? undefined : didYouMean(bare, [CATALOGUE_KEY]),
      });
    }
  }

  // Stack layers: knobs only.
  const knobSources = new Map<string, KnobSource[]>();
  const knobList = ["aws:region", ...KNOB_NAMES.filter((k) => k !== "region").map((k) => ns + k)];
  for (const layer of input.stackLayers) {
    for (const [key, value] of Object.entries(layer.values)) {
      const knob = knobOf(key);
      if (knob !== undefined) {
        const list = knobSources.get(knob) ?? [];
        list.push({ layer, key, value });
        knobSources.set(knob, list);
        continue;
      }
      if (PASSTHROUGH_KEYS.test(key)) continue;
      const bare = key.startsWith(ns) ? key.slice(ns.length) : key;
      if (bare === CATALOGUE_KEY || CATALOGUE_KEYS.includes(bare)) {
        problems.add({
          file: layer.file,
          path: show(layer, key),
          message: `"${bare}" belongs to the catalogue, declared once in Pulumi.yaml; a stack may set only knobs (${knobList.join(", ")}), so that environments are identical by construction`,
        });
        continue;
      }
      problems.add({
        file: layer.file,
        path: show(layer, key),
        message: `not a knob; a stack may set only knobs (${knobList.join(", ")}), everything else is the catalogue in Pulumi.yaml, so that environments are identical by construction`,
        hint: didYouMean(key, knobList) ?? didYouMean(bare, KNOB_NAMES),
      });
    }
  }

  // Catalogue.
  let catalogue: z.infer<typeof CatalogueSchema> | undefined;
  const catalogueDisplay = show(pl, ns + CATALOGUE_KEY);
  if (catalogueRaw === undefined) {
    if (!input.problems?.some((p) => p.file === pl.file)) {
      problems.add({ file: pl.file, path: catalogueDisplay, message: "missing; Pulumi.yaml must declare the catalogue under config.catalogue.value (apps)" });
    }
  } else {
    if (isPlainObject(catalogueRaw)) {
      for (const k of Object.keys(catalogueRaw)) {
        if (KNOB_NAMES.includes(k)) problems.add(knobMisplacedInCatalogue(k, pl.file, `${catalogueDisplay}.${k}`));
      }
    }
    if (isPlainObject(catalogueRaw) && "image" in catalogueRaw) {
      problems.add({ file: pl.file, path: `${catalogueDisplay}.image`, message: `the image recipe lives in ${RECIPE_FILE} (distribution, packages and steps, one file for the local image and the AMI); move it there` });
    }
    const raw = isPlainObject(catalogueRaw) ? Object.fromEntries(Object.entries(catalogueRaw).filter(([k]) => !KNOB_NAMES.includes(k) && k !== "image")) : catalogueRaw;
    const parsed = CatalogueSchema.safeParse(raw, { reportInput: true });
    if (parsed.success) catalogue = parsed.data;
    else for (const p of zodProblems(parsed.error, CatalogueSchema, (path) => ({ file: pl.file, prefix: catalogueDisplay, path }))) problems.add(p);
  }

  // The image recipe, its own file.
  let recipe: ImageRecipe | undefined;
  if (input.recipe.values !== undefined) {
    const parsed = ImageRecipeSchema.safeParse(input.recipe.values, { reportInput: true });
    if (parsed.success) recipe = parsed.data;
    else for (const p of zodProblems(parsed.error, ImageRecipeSchema, (path) => ({ file: input.recipe.file, prefix: "", path }))) problems.add(p);
  }

  // Knobs: merge layers, remember which layer set which path for messages.
  let merged: Record<string, unknown> = {};
  for (const [knob, sources] of knobSources) {
    for (const s of sources) merged = deepMerge(merged, { [knob]: s.value }) as Record<string, unknown>;
  }
  merged = withBranchDomain(input.stack, merged, knobSources.get("domain") ?? []);
  // A QA stack always lives in a parent's network: staging's unless its files name another.
  if (templateOf(input.stack) === "qa" && merged.parent === undefined) merged = { ...merged, parent: DEFAULT_PARENT };
  const lastStack = input.stackLayers[input.stackLayers.length - 1];
  const locateKnob = (path: readonly PropertyKey[]) => {
    const [knob, ...rest] = path;
    const sources = knobSources.get(String(knob)) ?? [];
    for (let i = sources.length - 1; i >= 0; i--) {
      const s = sources[i]!;
      if (has(s.value, rest) || rest.length === 0) return { file: s.layer.file, prefix: show(s.layer, s.key), path: rest };
    }
    const last = sources[sources.length - 1];
    if (last) return { file: last.layer.file, prefix: show(last.layer, last.key), path: rest };
    const file = lastStack?.file ?? "stack";
    const key = knob === "region" ? "aws:region" : ns + String(knob);
    return { file, prefix: lastStack ? show(lastStack, key) : `config.${key}`, path: rest };
  };
  // A stack file that could not be read would only add noise ("domain: missing"): skip its knobs.
  const unreadableStack = (input.problems ?? []).some((p) => p.file !== pl.file && p.file !== input.recipe.file);
  const knobsParsed = unreadableStack ? undefined : KnobsSchema.safeParse(merged, { reportInput: true });
  if (knobsParsed && !knobsParsed.success) for (const p of zodProblems(knobsParsed.error, KnobsSchema, locateKnob)) problems.add(p);

  // Cross-checks between catalogue and knobs.
  let apps: ResolvedApp[] = [];
  if (catalogue) {
    const names = catalogue.apps.map((a) => a.name);
    apps = resolveApps(catalogue, { file: pl.file, display: catalogueDisplay, ...(input.sourceDirProblem ? { sourceDirProblem: input.sourceDirProblem } : {}) }, problems.items);
    const releases = isPlainObject(merged.releases) ? merged.releases : {};
    for (const pinned of Object.keys(releases)) {
      if (!names.includes(pinned)) {
        const loc = locateKnob(["releases", pinned]);
        problems.add({
          file: loc.file,
          path: pathText(loc.prefix, loc.path),
          message: `pins a release of ${quoted(pinned)}, which is not an app of the catalogue (apps: ${names.join(", ")})`,
          hint: didYouMean(pinned, names),
        });
      }
    }
    // An app in maintenance must be one the catalogue declares: a typo would silently serve it.
    const maintenance = Array.isArray(merged.maintenance) ? merged.maintenance : [];
    maintenance.forEach((app, i) => {
      if (typeof app === "string" && !names.includes(app)) {
        const loc = locateKnob(["maintenance", i]);
        problems.add({ file: loc.file, path: pathText(loc.prefix, loc.path), message: `puts ${quoted(app)} in maintenance, which is not an app of the catalogue (apps: ${names.join(", ")})`, hint: didYouMean(app, names) });
      }
    });
    if (knobsParsed?.success) {
      for (const p of hostNameProblems(apps, knobsParsed.data.domain, locateKnob)) problems.add(p);
      for (const name of names) {
        // A management stack runs no apps: nothing to pin.
        if (!(name in releases) && !input.unpinnedAllowed && !isPlainObject(merged.console)) {
          const loc = locateKnob(["releases"]);
          problems.add({
            file: loc.file,
            path: pathText(loc.prefix, []),
            message: `no release pinned for app "${name}"; every stack pins a release of every app (releases: { ${name}: <release-id> })`,
          });
        }
      }
    }
  }
  for (const p of parentProblems(input, merged, locateKnob)) problems.add(p);
  for (const p of managementProblems(input, merged, [...knobSources.keys()], locateKnob)) problems.add(p);
  const missing = recipe && apps.some((a) => a.database) ? DATABASE_PACKAGES.filter((p) => !recipe.packages.includes(p)) : [];
  if (missing.length > 0) {
    const app = apps.find((a) => a.database)!.name;
    problems.add({ file: input.recipe.file, path: "packages", message: `lacks ${missing.map((p) => `"${p}"`).join(" and ")}: app "${app}" has database: true (the local db host runs PostgreSQL from the image; every host runs psql and pg_dump)` });
  }

  problems.throwIfAny();
  return deepFreeze({
    project: input.project,
    stack: input.stack,
    template: templateOf(input.stack),
    catalogue: { ...catalogue!, image: recipe!, apps },
    knobs: knobsParsed!.data!,
  });
}
