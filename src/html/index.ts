// src/html: the one place a value becomes HTML, for the console's pages and the traceback mail: every
// interpolation of the `html` tag is escaped unless it is itself the tag's output. Names, branches,
// log lines and tracebacks are hostile text.

/** HTML the `html` tag made: inserted as is by an enclosing `html`. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text for an element's content or a quoted attribute. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Part = Html | string | number | boolean | undefined | null | readonly Part[];

function render(part: Part): string {
  if (part === undefined || part === null || part === false) return "";
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeHtml(String(part));
}

/** `html\`<td>${name}</td>\``: each value escaped; arrays joined; undefined, null and false omitted. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

/** A path segment of a link: the name is checked where it entered; encoded here all the same. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
