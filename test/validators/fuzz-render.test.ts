// Finding 9 of issue 17: hostile text through every knob and name of a project into the files a
// host boots from. For each generated project the config either refuses it with a ConfigError, or
// every rendered file means what the plan says: bash -n of each script, env files sourced back to
// the exact values, the bootstrap's variables and fawkes-exec's dispatch, the cloud-config through
// cloud-init's PyYAML, supervisord's own loader, each gunicorn conf executed, nginx -t of each site
// (../helpers/checks/readback*.ts). Inputs come from a fixed seed: the same on every run.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { addProject, newBatch, runBatch } from "../helpers/checks/readback.ts";
import { expectedOf } from "../helpers/checks/readback-expect.ts";
import { addQuotingReads } from "../helpers/checks/readback-quoting.ts";
import { baseProject, BASH_SPECIAL_NAMES, FIELDS, hostileString, loadAndRender, loadInMemoryAndRender, shown, type FuzzProject, type Outcome } from "../helpers/fuzz-project.ts";
import { scratchDir } from "../helpers/rendered-hosts.ts";

/** Fixed, so CI sees the same inputs every time; change it locally to explore, and keep what fails as an example below. */
const SEED = 917;
const RUNS = { quoting: 300, perField: 12, freeText: 200, uncheckedNames: 60 };

interface Case {
  key: string;
  input: unknown;
  project: FuzzProject;
  /** For accepted projects: the free text reached the spec unchanged. */
  faithful?: (o: Extract<Outcome, { kind: "rendered" }>) => string[];
  /** Loaded from objects by loadEnvironment, past the file checks of names. */
  inMemory?: boolean;
  outcome?: Outcome;
}

function project(set: Record<string, string>): FuzzProject {
  const p = baseProject();
  for (const [field, value] of Object.entries(set)) FIELDS[field]!(p, value);
  return p;
}

/** Each knob and name on its own, everything else ordinary: what the config lets through of each. */
function oneFieldCases(): Case[] {
  return Object.keys(FIELDS).flatMap((field, f) =>
    fc.sample(hostileString, { seed: SEED + 1 + f, numRuns: RUNS.perField }).map((value, i) => ({ key: `field/${field}/${i}`, input: { [field]: value }, project: project({ [field]: value }) })),
  );
}

const wellFormed = {
  "project name": fc.stringMatching(/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/),
  "stack name": fc.stringMatching(/^[a-pr-z][a-z0-9_.-]{0,14}$/),
  "app name": fc.stringMatching(/^[a-z][a-z0-9-]{0,14}$/),
  "process name": fc.stringMatching(/^[a-z][a-z0-9_-]{0,14}$/),
  "env name": fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,14}$/) }, { weight: 1, arbitrary: fc.constantFrom(...BASH_SPECIAL_NAMES) }),
  "secret name": fc.stringMatching(/^[A-Z][A-Z0-9_]{0,14}$/),
  "queue name": fc.stringMatching(/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/),
  "shared dir": fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,8}(\/[A-Za-z0-9_][A-Za-z0-9._-]{0,8}){0,2}$/),
  "static url": fc.stringMatching(/^\/([A-Za-z0-9._-]{1,8}\/){1,2}$/),
  "static dir": fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,8}$/),
  "health path": fc.stringMatching(/^\/[A-Za-z0-9._~/-]{0,16}$/),
  "domain label": fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/),
  "release pin": fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/),
  "wsgi entry point": fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]{0,10}:[A-Za-z_][A-Za-z0-9_]{0,10}$/),
  "media url": fc.stringMatching(/^\/([A-Za-z0-9._-]{1,8}\/){1,2}$/),
  "media dir": fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,8}$/),
  "max body size": fc.stringMatching(/^[1-9][0-9]{0,2}[km]?$/),
  domain: fc.stringMatching(/^[a-z0-9]{1,8}(\.[a-z0-9-]{1,8}[a-z0-9])?\.[a-z]{2,6}$/),
  region: fc.stringMatching(/^[a-z]{2}-[a-z]{4,9}-[1-9]$/),
  "image package": fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,12}$/),
  "image step name": fc.stringMatching(/^[a-z][a-z0-9-]{0,12}[a-z0-9]$/),
};
/** Commands and hooks are one line: hostile, but without the control characters the config rightly refuses in them. */
const oneLine = hostileString.filter((s) => !/[\p{Cc}\u2028\u2029]/u.test(s));
const freeText = { "process command": oneLine, "release hook": oneLine, "build hook": oneLine, "env value": hostileString };

/** Every free-text field hostile at once, the names odd but well formed: most of these are accepted. */
function freeTextCases(): Case[] {
  return fc.sample(fc.record({ ...wellFormed, ...freeText }), { seed: SEED, numRuns: RUNS.freeText }).map((set, i) => ({
    key: `free/${i}`,
    input: set,
    project: project(set),
    faithful: ({ spec }) => {
      const [shop, blog] = spec.catalogue.apps;
      const got = [Object.values(shop!.processes).find((p) => p.command !== undefined)?.command, blog!.hooks.release[0], blog!.hooks.build[0], shop!.env.SHOP_DATA_DIR];
      const want = [set["process command"], set["release hook"], set["build hook"], set["env value"]];
      return got.every((g, j) => g === want[j]) ? [] : [`the config changed the free text: ${shown(got)}, written ${shown(want)}`];
    },
  }));
}

/** Each hostile project and stack name past the file checks, straight into loadEnvironment: the renderer alone must hold. */
function uncheckedNameCases(): Case[] {
  return fc.sample(fc.record({ "project name": hostileString, "stack name": hostileString }), { seed: SEED + 100, numRuns: RUNS.uncheckedNames }).map((set, i) => ({ key: `unchecked/${i}`, input: set, project: project(set), inMemory: true }));
}

/** Past the file checks, a name no UTF-8 file can carry is refused by the quoting itself: loud, not written as U+FFFD. */
const refusedByRenderer = (c: Case) => c.inMemory === true && c.outcome?.kind === "broken" && /lone UTF-16 surrogate, which no UTF-8 file can carry/.test(c.outcome.error);

/**
 * Inputs that broke rendered files before finding 9 was fixed, as the fuzz found them at 6bc00d8:
 * a stack name with a line break ended the scripts' header comment (bash -n: syntax error near ";"),
 * one with U+2028 ended the cloud-config's (PyYAML: a new line), and a command with DEL was accepted
 * and then refused by the renderer. The config refuses them now; in memory they reach the renderer.
 */
const EXAMPLES: Array<Record<string, string>> = [
  { "stack name": "\n\t]_\u0090[" },
  { "stack name": "%(ENV_HOME)s*a\u2028? " },
  { "stack name": "\n ;x\\n!!str" },
  { "project name": "acme\nrm -rf /;#", "stack name": "dev$(id)\u0085: x" },
  { "process command": "\\é*\u007f<%(ENV_HOME)s #x " },
  // Found by this test in the config under way, refused since: bash special names (RANDOM=x dies
  // under set -u, UID is read-only, SECONDS reads back another value) and lone surrogates.
  { "env name": "RANDOM" },
  { "env name": "UID" },
  { "env name": "SECONDS" },
  { "env value": "x\ud800" },
  { "process command": "exec \ud800" },
];

const cases: Case[] = [];
let problems = new Map<string, string[]>();
let refusedByQuoting: Record<string, number> = {};
const scratch = scratchDir("fuzz-render");
afterAll(() => scratch.remove());

beforeAll(async () => {
  const batch = newBatch(scratch.sub("batch"));
  refusedByQuoting = addQuotingReads(batch, "quoting", fc.sample(hostileString, { seed: SEED, numRuns: RUNS.quoting }));
  const examples = EXAMPLES.flatMap((set, i) => [false, true].map((inMemory) => ({ key: `example/${i}${inMemory ? "/in-memory" : ""}`, input: set, project: project(set), inMemory })));
  const all: Case[] = [...oneFieldCases(), ...freeTextCases(), ...uncheckedNameCases(), ...examples];
  for (const c of all) {
    c.outcome = c.inMemory ? loadInMemoryAndRender(c.project) : loadAndRender(c.project);
    if (c.outcome.kind === "rendered") addProject(batch, c.key, expectedOf(c.outcome.env, c.outcome.images, c.outcome.db));
    cases.push(c);
  }
  problems = await runBatch(batch);
  // What got past the config, per field: to see, after a change of seed or config, that the test still reaches the renderer.
  if (process.env.FAWKES_FUZZ_STATS) {
    const stats = Object.keys(FIELDS).map((f) => `${f}: ${accepted(`field/${f}/`)}/${RUNS.perField}`);
    process.stderr.write(`accepted: ${stats.join(", ")}; free text ${accepted("free/")}/${RUNS.freeText}\n`);
  }
}, 240_000);

/** Why a case fails, with its exact input; nothing when refused by the config or read back as meant. */
function failures(prefix: string): string[] {
  return cases
    .filter((c) => c.key.startsWith(prefix) && !refusedByRenderer(c))
    .flatMap((c) => {
      const o = c.outcome!;
      const found = o.kind === "broken" ? [`${o.stage}: ${o.error.split("\n").slice(0, 3).join(" | ")}`] : o.kind === "rendered" ? [...(c.faithful?.(o) ?? []), ...(problems.get(c.key) ?? [])] : [];
      return found.length === 0 ? [] : [`${c.key} ${shown(c.input)}:\n  ${found.slice(0, 5).join("\n  ")}`];
    });
}

const accepted = (prefix: string) => cases.filter((c) => c.key.startsWith(prefix) && c.outcome?.kind === "rendered").length;

describe("hostile text into rendered files", () => {
  test(`every quoting function writes ${RUNS.quoting} hostile values that bash, Python, PyYAML, supervisord and nginx read back exactly, or refuses them`, () => {
    expect(problems.get("quoting") ?? []).toEqual([]);
    // Refusals are for what a language cannot carry at all (NUL, line breaks in supervisord, $ in nginx), not a way out.
    expect(refusedByQuoting.bash).toBeLessThan(RUNS.quoting / 10);
  });

  test(`each knob and name, ${RUNS.perField} hostile values apiece: refused with a ConfigError or read back as meant`, () => {
    expect(failures("field/")).toEqual([]);
    // The ordinary fields around each hostile one are accepted: some of the hostile values are too.
    expect(accepted("field/")).toBeGreaterThan(0);
  });

  test(`${RUNS.freeText} projects with every free-text field hostile at once: refused with a ConfigError or read back as meant`, () => {
    expect(failures("free/")).toEqual([]);
    expect(accepted("free/")).toBeGreaterThan(RUNS.freeText / 3);
  });

  test(`${RUNS.uncheckedNames} hostile project and stack names past the file checks: the renderer alone keeps every file as meant`, () => {
    expect(failures("unchecked/")).toEqual([]);
    expect(accepted("unchecked/")).toBeGreaterThan(RUNS.uncheckedNames / 2);
  });

  test("the inputs that once broke a rendered file are refused by the config, and read back as meant past it", () => {
    expect(failures("example/")).toEqual([]);
    expect(cases.filter((c) => c.key.startsWith("example/") && !c.inMemory).map((c) => c.outcome?.kind)).toEqual(EXAMPLES.map(() => "refused"));
  });
});
