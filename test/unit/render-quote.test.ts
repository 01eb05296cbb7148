// Free text from the catalogue (commands, env values) inside bash, supervisord, nginx, Python,
// PostgreSQL and YAML files: one quoting function per syntax (src/render/quote.ts), and no template
// that places a value without one. test/validators/fuzz-render.test.ts feeds them hostile input.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { describe, expect, it } from "vitest";
import {
  commentText,
  identifier,
  nginxToken,
  nginxVariable,
  postgresValue,
  pythonLiteral,
  shellWord,
  shellWords,
  supervisorArg,
  supervisorEnvironment,
  supervisorName,
  supervisorValue,
  yamlBlockSafe,
} from "../../src/render/quote.ts";
import { TEMPLATE_DIR, VALUE_HELPERS, withoutComments } from "../../src/render/templates.ts";
import { quoteSecret } from "../../src/secrets/index.ts";

describe("bash words", () => {
  it("leaves names and paths bare", () => {
    expect(shellWords(["shop", "/srv/apps/shop", "r1.2_x", "a=b", "fs-1:fsap-2", 42, true])).toBe("shop /srv/apps/shop r1.2_x a=b fs-1:fsap-2 42 true");
  });

  it("single-quotes everything else, empty included, and never spans two lines", () => {
    expect(shellWord("")).toBe("''");
    expect(shellWord("python manage.py migrate")).toBe("'python manage.py migrate'");
    expect(shellWord("it's $HOME")).toBe(`'it'\\''s $HOME'`);
    expect(shellWord("a\nb")).toBe("'a'$'\\n''b'");
    expect(shellWord("'")).toBe("\\'");
  });

  it("is the secrets store's word too, and refuses what bash cannot hold", () => {
    for (const v of ["a b", "it's", "x\ny", "", "plain"]) expect(quoteSecret(v)).toBe(shellWord(v));
    expect(() => shellWord("a\u0000b")).toThrow(/NUL/);
    expect(() => shellWord(Number.NaN)).toThrow(/not a number/);
    // Written to a UTF-8 file it would silently become U+FFFD: refused by every quoting function.
    for (const f of [shellWord, nginxToken, supervisorValue, pythonLiteral, postgresValue]) expect(() => f("a\uD800b"), f.name).toThrow(/lone UTF-16 surrogate/);
  });

  it("lets through only identifiers where a name cannot be quoted", () => {
    expect(identifier("DJANGO_SETTINGS_MODULE")).toBe("DJANGO_SETTINGS_MODULE");
    for (const bad of ["A-B", "1X", "$(id)", "", "a b"]) expect(() => identifier(bad), bad).toThrow(/not an identifier/);
  });
});

describe("comments", () => {
  it("keep ordinary text as is and keep a value on its line", () => {
    expect(commentText("shop/staging")).toBe("shop/staging");
    expect(commentText("a\nb\rc\u0085d\u2028e\u2029f")).toBe("a\\u000ab\\u000dc\\u0085d\\u2028e\\u2029f");
    expect(commentText("\uFEFF\uFFFE\uD800")).toBe("\\ufeff\\ufffe\\ud800");
  });
});

describe("supervisord", () => {
  it("keeps ';' and '#' of a command out of the quotes, where ConfigParser cannot take them for a comment", () => {
    expect(supervisorArg("exec worker ; echo done # ok")).toBe(`'exec worker '\\;' echo done '\\#' ok'`);
    expect(supervisorArg("a;b")).toBe(`'a'\\;'b'`);
  });

  it("doubles '%' against supervisord's %(name)s expansion", () => {
    expect(supervisorArg("--format=%d")).toBe("--format=%%d");
    expect(supervisorArg("date +%s now")).toBe("'date +%%s now'");
    expect(supervisorValue("/var/log/100%.log")).toBe("/var/log/100%%.log");
  });

  it("refuses line breaks, which its format cannot carry", () => {
    expect(() => supervisorArg("a\nb")).toThrow(/line break/);
    expect(() => supervisorValue("a\rb")).toThrow(/line break/);
    expect(() => supervisorArg("a\u2028b")).toThrow(/line break/);
  });

  it("refuses plain values ConfigParser would strip or cut", () => {
    for (const bad of [" x", "x ", "a ;b", "a\u00a0#b"]) expect(() => supervisorValue(bad), bad).toThrow(/cannot start or end with a space/);
    expect(supervisorValue("a;b#c")).toBe("a;b#c");
  });

  it("writes the environment as its lexer reads it, and program names bare", () => {
    expect(supervisorEnvironment({ HOME: "/srv/apps/shop", USER: "shop" })).toBe('HOME="/srv/apps/shop",USER="shop"');
    expect(() => supervisorEnvironment({ HOME: 'a"b' })).toThrow(/cannot hold '"'/);
    // Found by test/validators/fuzz-render.test.ts: its parser strips quotes off a value's ends, ours included.
    expect(() => supervisorEnvironment({ V: "'&&%YAML(''FAWKES_IMAGE_JSON" })).toThrow(/start or end with "'"/);
    expect(supervisorName("shop-web")).toBe("shop-web");
    for (const bad of ["a b", "a:b", "a/b", "a]"]) expect(() => supervisorName(bad), bad).toThrow(/program name/);
  });
});

describe("Python, PostgreSQL and nginx", () => {
  it("writes Python literals", () => {
    expect(pythonLiteral('unix:/run/x "y"')).toBe('"unix:/run/x \\"y\\""');
    expect([pythonLiteral(3), pythonLiteral(true), pythonLiteral(false)]).toEqual(["3", "True", "False"]);
  });

  it("writes postgresql.conf values", () => {
    expect(postgresValue("/var/lib/x")).toBe("'/var/lib/x'");
    expect(postgresValue("it's a\\b")).toBe("'it''s a\\\\b'");
    expect(postgresValue(5432)).toBe("5432");
  });

  it("leaves nginx tokens bare when safe and double-quotes the rest", () => {
    expect(nginxToken("/srv/apps/blog/current/staticfiles")).toBe("/srv/apps/blog/current/staticfiles");
    expect(nginxToken("from=/srv/x")).toBe("from=/srv/x");
    expect(nginxToken("/a b")).toBe('"/a b"');
    expect(nginxToken('x;{"\\}')).toBe('"x;{\\"\\\\}"');
  });

  it("refuses what nginx cannot read literally: variables and control characters", () => {
    expect(() => nginxToken("/$host")).toThrow(/nginx token/);
    expect(() => nginxToken("a\nb")).toThrow(/nginx token/);
    expect(nginxVariable("fawkes_shop_proto")).toBe("$fawkes_shop_proto");
    expect(() => nginxVariable("fawkes-shop")).toThrow(/identifier/);
  });
});

describe("YAML", () => {
  it("writes a block only of what PyYAML reads back from one", () => {
    expect(yamlBlockSafe("#!/bin/bash\n\techo 'é' ✓ 😀\n")).toBe(true);
    // Found by test/validators/fuzz-render.test.ts: a block's indentation takes leading blanks, " " read back as "".
    for (const bad of [" ", "  \n", "\n \ta", "\tx"]) expect(yamlBlockSafe(bad), JSON.stringify(bad)).toBe(false);
    for (const bad of ["a\rb", "a\u0085b", "a\u2028b", "a\u2029b", "a\u0001b", "a\u007fb", "a\u009fb", "a\uFEFFb", "a\uFFFEb", "a\uD800b"]) expect(yamlBlockSafe(bad), JSON.stringify(bad)).toBe(false);
  });
});

describe("templates", () => {
  /** Every {{…}} that prints something, with its line, unless it is one value through a quoting helper. */
  function barePlacements(file: string): string[] {
    const found: string[] = [];
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(visit);
      if (typeof node !== "object" || node === null) return;
      const n = node as { type?: string; path?: { original?: string }; params?: unknown[]; loc?: { start: { line: number } } };
      if (n.type === "MustacheStatement" && !(VALUE_HELPERS.includes(n.path?.original ?? "") && n.params?.length === 1)) found.push(`${file}:${n.loc?.start.line}`);
      for (const v of Object.values(node)) if (typeof v === "object") visit(v);
    };
    visit(Handlebars.parse(readFileSync(join(TEMPLATE_DIR, file), "utf8")));
    return found;
  }

  it("place every value through the quoting helper of its syntax", () => {
    const files = readdirSync(TEMPLATE_DIR).filter((f) => f.endsWith(".hbs"));
    expect(files.length).toBeGreaterThan(10);
    expect(files.flatMap(barePlacements)).toEqual([]);
  });
});

describe("rendered scripts without their comments", () => {
  const script = [
    "#!/bin/bash",
    "# header: what this file is",
    "# and who made it",
    "set -eu",
    "",
    "# a comment about f",
    "f() {",
    "  # an indented comment",
    "  echo '# not a comment' # a trailing one stays",
    "  # shellcheck disable=SC1090",
    "  . \"$x\"",
    "}",
    "",
    "",
    "# ==== section",
    "",
    "f",
  ].join("\n");

  it("keeps the shebang, the header, the code and shellcheck's directives, and drops the other comment lines", () => {
    expect(withoutComments(script)).toBe(
      ["#!/bin/bash", "# header: what this file is", "# and who made it", "set -eu", "", "f() {", "  echo '# not a comment' # a trailing one stays", "  # shellcheck disable=SC1090", '  . "$x"', "}", "", "f"].join("\n"),
    );
  });

  it("changes nothing bash runs: the same commands in the same order", () => {
    const code = (s: string) => s.split("\n").filter((l) => l.trim() !== "" && !/^\s*#/.test(l));
    expect(code(withoutComments(script))).toEqual(code(script));
  });
});
