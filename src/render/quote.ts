// How a value is written into each language a host file is in: one function per syntax, each
// either writing text that reads back as exactly the value or throwing (never a value cut short).
// Templates reach them through the helpers of templates.ts; TS renderers call them directly.

type Scalar = string | number | boolean;

/**
 * Numbers and booleans as their digits and words; NaN or Infinity in a file is a bug upstream. A
 * lone surrogate has no UTF-8 form: written, it would silently become U+FFFD, so it is refused.
 */
function text(value: Scalar, what: string): string {
  if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`${what}: ${value} is not a number a file can hold`);
  const s = String(value);
  if (/\p{Cs}/u.test(s)) throw new Error(`${what} cannot hold a lone UTF-16 surrogate, which no UTF-8 file can carry: ${JSON.stringify(s)}`);
  return s;
}

// ---------------------------------------------------------------- bash

/** Characters bash reads literally outside quotes: in a word, an assignment, an array or a case pattern. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * A bash word that reads back as exactly `value`: bare when safe, else '…' runs, \' for a quote
 * and $'\n' for a line break, so no word spans two lines (line-based readers and withoutComments
 * never cut one). The local secrets store writes the same words (src/secrets/quote.ts).
 */
export function shellWord(value: Scalar): string {
  const s = text(value, "a bash word");
  if (s.includes("\u0000")) throw new Error(`a bash word cannot hold a NUL character: ${JSON.stringify(s)}`);
  if (SHELL_SAFE.test(s)) return s;
  if (s === "") return "''";
  let word = "";
  for (const part of s.split(/(['\n])/)) {
    if (part === "'") word += "\\'";
    else if (part === "\n") word += "$'\\n'";
    else if (part !== "") word += `'${part}'`;
  }
  return word;
}

export function shellWords(values: readonly Scalar[]): string {
  return values.map(shellWord).join(" ");
}

/** A name code refers to (a bash or Python variable, an nginx upstream or variable): never quoted, so checked. */
export function identifier(value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new Error(`not an identifier (A-Z, a-z, 0-9 and '_', not starting with a digit): ${JSON.stringify(value)}`);
  return value;
}

// ---------------------------------------------------------------- comments

/**
 * A value inside a one-line comment of any of these languages: what could end the line (control
 * characters, U+2028/U+2029, YAML 1.1's NEL) or what PyYAML refuses to read (lone surrogates,
 * U+FFFE/U+FFFF, a BOM) is written as \uXXXX.
 */
export function commentText(value: Scalar): string {
  return String(value).replace(/[\p{Cc}\p{Zl}\p{Zp}\p{Cs}\uFEFF\uFFFE\uFFFF]/gu, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}

// ---------------------------------------------------------------- YAML

/**
 * Whether cloud-init's PyYAML (YAML 1.1) reads `content` back unchanged from a literal block: only
 * characters its reader accepts, no line break but \n (\r, NEL, U+2028 and U+2029 are breaks there,
 * some normalised), and a first non-empty line that does not start with a space or tab (the block's
 * indentation would take them: " " reads back as ""). Anything else goes base64: the yaml library's
 * double quotes leave NEL, U+2028/U+2029 and C1 controls raw, which YAML 1.1 reads differently.
 */
export function yamlBlockSafe(content: string): boolean {
  return !/[^\t\n\x20-\x7E\xA0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]|[\u2028\u2029\uFEFF]/u.test(content) && !/^\n*[ \t]/.test(content);
}

// ---------------------------------------------------------------- nginx

const NGINX_SAFE = /^[A-Za-z0-9_./:*~=-]+$/;

/**
 * One nginx token: bare when safe, else double-quoted with \ and " escaped. `$` is refused (nginx
 * expands variables inside quotes too, and has no escape for it), and so are control characters.
 */
export function nginxToken(value: Scalar): string {
  const s = text(value, "an nginx token");
  if (NGINX_SAFE.test(s)) return s;
  if (/[$\p{Cc}]/u.test(s)) throw new Error(`not an nginx token: ${JSON.stringify(s)} holds "$" or a control character, which nginx cannot read literally`);
  return `"${s.replace(/[\\"]/g, "\\$&")}"`;
}

/** An nginx variable, `$name`. */
export function nginxVariable(name: string): string {
  return `$${identifier(name)}`;
}

// ---------------------------------------------------------------- supervisord

/** Python's str.isspace(): what ConfigParser strips from a value's ends and takes before an inline comment. */
const PY_SPACE = "\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

function supervisorChecked(s: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\u0085\u2028\u2029]/.test(s)) throw new Error(`${what} contains a line break or control character, which supervisord's config format cannot carry: ${JSON.stringify(s)}`);
  return s;
}

/**
 * A plain supervisord value (path, user, name): ConfigParser strips its ends and cuts an inline
 * comment at whitespace then ";" or "#", which nothing can escape; "%" is doubled against %(x)s.
 */
export function supervisorValue(value: Scalar): string {
  const s = supervisorChecked(text(value, "a supervisord value"), "a supervisord value");
  if (new RegExp(`^[${PY_SPACE}]|[${PY_SPACE}]$|[${PY_SPACE}][;#]`, "u").test(s)) {
    throw new Error(`a supervisord value cannot start or end with a space or hold a space before ";" or "#" (ConfigParser strips or cuts it there): ${JSON.stringify(s)}`);
  }
  return s.replace(/%/g, "%%");
}

/**
 * One argument of a supervisord `command=` line. supervisord splits the line with shlex (POSIX),
 * but first its ConfigParser cuts inline comments at " ;" or " #" and expands "%(x)s", quotes or
 * not: so ";" and "#" are written outside the quotes, escaped, and "%" is doubled.
 */
export function supervisorArg(value: Scalar): string {
  const s = supervisorChecked(text(value, "a supervisord command"), "a supervisord command");
  const word = SHELL_SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`).replace(/[;#]/g, (c) => `'\\${c}'`)}'`;
  return word.replace(/%/g, "%%");
}

export function supervisorArgs(values: readonly Scalar[]): string {
  return values.map(supervisorArg).join(" ");
}

/** `environment=K="v",…`: supervisord's own lexer (non-POSIX shlex) keeps "…" whole but has no escape for `"`. */
export function supervisorEnvironment(vars: Readonly<Record<string, Scalar>>): string {
  return Object.entries(vars)
    .map(([k, v]) => {
      const s = supervisorValue(v);
      // Its parser also strips quotes off each value's ends (`.strip('\'"')`), inside ours too.
      if (/"|^'|'$/.test(s)) throw new Error(`a supervisord environment value cannot hold '"' nor start or end with "'": ${JSON.stringify(s)}`);
      return `${identifier(k)}="${s}"`;
    })
    .join(",");
}

/** A program's name, in `[program:<name>]` and supervisorctl's arguments: supervisord refuses ' ', ':' and '/'. */
export function supervisorName(value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new Error(`not a supervisord program name (A-Z, a-z, 0-9, '_', '.' and '-'): ${JSON.stringify(value)}`);
  return value;
}

// ---------------------------------------------------------------- Python and PostgreSQL

/** A Python literal: a string in double quotes (JSON's escapes are a subset of Python's), a number, True or False. */
export function pythonLiteral(value: Scalar): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  return typeof value === "number" ? text(value, "a Python literal") : JSON.stringify(text(value, "a Python literal"));
}

/** A postgresql.conf value: a number bare, a string in '…' with ' doubled and \ escaped; no control character. */
export function postgresValue(value: Scalar): string {
  const s = text(value, "a postgresql.conf value");
  if (typeof value === "number") return s;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new Error(`a postgresql.conf value cannot hold a control character: ${JSON.stringify(s)}`);
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}
