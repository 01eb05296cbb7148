// The handlebars templates in templates/, compiled once when this module loads. Templates only
// place values, each through the helper of its syntax: every decision (what file, which values,
// how quoted) is made in TypeScript.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { commentText, identifier, nginxToken, nginxVariable, postgresValue, pythonLiteral, shellWord, shellWords, supervisorArgs, supervisorEnvironment, supervisorName, supervisorValue } from "./quote.ts";

// The quoting functions live in quote.ts; these names were imported from here before it existed.
export { nginxToken, shellWord, shellWords, supervisorArg, supervisorValue } from "./quote.ts";

/**
 * A rendered shell script without its comment lines past the header: the template keeps them
 * (templates/ is the commented source), the host gets fewer bytes. EC2 takes 16 KiB of user-data,
 * and cloud-init parses the whole cloud-config in pure Python several times per boot stage.
 * shellcheck directives stay: they are code to the tests that check the rendered script.
 */
export function withoutComments(script: string): string {
  const lines = script.split("\n");
  let header = 0;
  while (header < lines.length && lines[header]!.startsWith("#")) header++;
  const body = lines.slice(header).filter((l) => !/^\s*#/.test(l) || /^\s*# shellcheck /.test(l));
  // Blank lines left in runs by the comments gone: one is enough.
  const squeezed = body.filter((l, i) => l.trim() !== "" || (i > 0 && body[i - 1]!.trim() !== ""));
  return [...lines.slice(0, header), ...squeezed].join("\n");
}

export const TEMPLATE_DIR = join(import.meta.dirname, "../../templates");

// An isolated instance: helpers registered here never leak into another user of handlebars.
const hbs = Handlebars.create();

// Every value a template places goes through one of these (test/unit/render-quote.test.ts checks
// that no template has a bare {{value}}): one helper per syntax, from quote.ts.
const helpers: Record<string, (value: unknown) => string> = {
  sh: (v) => shellWord(scalar(v, "sh")),
  shWords: (v) => shellWords(list(v, "shWords")),
  shVar: (v) => identifier(String(v)),
  comment: (v) => commentText(scalar(v, "comment")),
  py: (v) => pythonLiteral(scalar(v, "py")),
  pg: (v) => postgresValue(scalar(v, "pg")),
  ngx: (v) => nginxToken(scalar(v, "ngx")),
  ngxWords: (v) => list(v, "ngxWords").map(nginxToken).join(" "),
  ngxVar: (v) => nginxVariable(String(v)),
  sup: (v) => supervisorValue(scalar(v, "sup")),
  supArgs: (v) => supervisorArgs(list(v, "supArgs")),
  supEnv: (v) => supervisorEnvironment(record(v, "supEnv")),
  supName: (v) => supervisorName(String(v)),
};
for (const [name, helper] of Object.entries(helpers)) hbs.registerHelper(name, helper);

export const VALUE_HELPERS: readonly string[] = Object.keys(helpers);

type Scalar = string | number | boolean;

function scalar(value: unknown, helper: string): Scalar {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  throw new Error(`template helper ${helper} needs a string, number or boolean, got ${value === null ? "null" : typeof value}`);
}

function list(values: unknown, helper: string): Scalar[] {
  if (!Array.isArray(values)) throw new Error(`template helper ${helper} needs a list, got ${typeof values}`);
  return values.map((v) => scalar(v, helper));
}

function record(value: unknown, helper: string): Record<string, Scalar> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`template helper ${helper} needs a map, got ${typeof value}`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scalar(v, helper)]));
}

function read(name: string): string {
  return readFileSync(join(TEMPLATE_DIR, name), "utf8");
}

// Bash and nginx text is not HTML: no escaping. Strict: a missing value is a bug, not "".
const OPTIONS = { noEscape: true, strict: true } as const;

/** Compiles templates/<name> once; the returned function renders a typed view. */
export function compileTemplate<T extends object>(name: string): (view: T) => string {
  // Parsed now, so a broken template fails when the module loads rather than at first render.
  const template = hbs.compile<T>(hbs.parse(read(name)), OPTIONS);
  return (view: T) => template(view);
}

/** Makes templates/<name> available as `{{> partialName}}` to templates compiled afterwards. */
export function registerPartial(partialName: string, name: string): void {
  hbs.registerPartial(partialName, hbs.compile(hbs.parse(read(name)), OPTIONS));
}
