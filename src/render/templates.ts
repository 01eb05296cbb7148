// The handlebars templates in templates/, compiled once when this module loads. Templates only
// place values: every decision (what file, which values, how quoted) is made in TypeScript.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";

// ---------------------------------------------------------------- quoting
// Catalogue values (commands, env values) are free text; names and paths are constrained by the
// schema but go through the same helpers.

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** A bash word that reads back as exactly `value`: bare when safe, else single-quoted. */
export function shellWord(value: string): string {
  if (SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function shellWords(values: readonly string[]): string {
  return values.map(shellWord).join(" ");
}

/** A Python string literal (JSON's escapes are a subset of Python's). */
export function pythonString(value: string): string {
  return JSON.stringify(value);
}

function rejectLineBreaks(value: string, what: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new Error(`${what} contains a line break or control character, which supervisord's config format cannot carry: ${JSON.stringify(value)}`);
  }
}

/**
 * One argument of a supervisord `command=` line. supervisord splits the line with shlex (POSIX),
 * but first its ConfigParser cuts inline comments at " ;" or " #" and expands "%(x)s", quotes or
 * not: so ";" and "#" are written outside the quotes, escaped, and "%" is doubled.
 */
export function supervisorArg(value: string): string {
  rejectLineBreaks(value, "a supervisord command");
  const word = SHELL_SAFE.test(value) && !/[;#]/.test(value) ? value : `'${value.replace(/'/g, `'\\''`).replace(/[;#]/g, (c) => `'\\${c}'`)}'`;
  return word.replace(/%/g, "%%");
}

/** A plain supervisord value (path, user): "%" is doubled against its %(name)s expansion. */
export function supervisorValue(value: string): string {
  rejectLineBreaks(value, "a supervisord value");
  return value.replace(/%/g, "%%");
}

/** An nginx token: paths and names from the schema are safe bare; anything else is refused. */
export function nginxToken(value: string): string {
  if (!/^[A-Za-z0-9_./:*~-]+$/.test(value)) throw new Error(`not a safe nginx token: ${JSON.stringify(value)}`);
  return value;
}

// ---------------------------------------------------------------- templates

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

hbs.registerHelper("sh", (value: unknown) => shellWord(String(value)));
hbs.registerHelper("shWords", (values: unknown) => shellWords(asStrings(values, "shWords")));
hbs.registerHelper("py", (value: unknown) => pythonString(String(value)));
hbs.registerHelper("supArgs", (values: unknown) => asStrings(values, "supArgs").map(supervisorArg).join(" "));
hbs.registerHelper("sup", (value: unknown) => supervisorValue(String(value)));
hbs.registerHelper("ngx", (value: unknown) => nginxToken(String(value)));
hbs.registerHelper("ngxWords", (values: unknown) => asStrings(values, "ngxWords").map(nginxToken).join(" "));

function asStrings(values: unknown, helper: string): string[] {
  if (!Array.isArray(values)) throw new Error(`template helper ${helper} needs a list, got ${typeof values}`);
  return values.map(String);
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
