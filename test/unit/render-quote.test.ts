// Free text from the catalogue (commands, env values) inside bash, supervisord and nginx files.
import { describe, expect, it } from "vitest";
import { nginxToken, pythonString, shellWord, shellWords, supervisorArg, supervisorValue, withoutComments } from "../../src/render/templates.ts";

describe("bash words", () => {
  it("leaves names and paths bare", () => {
    expect(shellWords(["shop", "/srv/apps/shop", "r1.2_x", "a=b", "fs-1:fsap-2"])).toBe("shop /srv/apps/shop r1.2_x a=b fs-1:fsap-2");
  });

  it("single-quotes everything else, empty included", () => {
    expect(shellWord("")).toBe("''");
    expect(shellWord("python manage.py migrate")).toBe("'python manage.py migrate'");
    expect(shellWord("it's $HOME")).toBe(`'it'\\''s $HOME'`);
    expect(shellWord("a\nb")).toBe("'a\nb'");
  });
});

describe("supervisord command arguments", () => {
  it("keeps ';' and '#' out of the quotes, where ConfigParser cannot take them for a comment", () => {
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
  });
});

describe("python and nginx", () => {
  it("writes Python string literals", () => {
    expect(pythonString('unix:/run/x "y"')).toBe('"unix:/run/x \\"y\\""');
  });

  it("lets through only tokens nginx reads as one word", () => {
    expect(nginxToken("/srv/apps/blog/current/staticfiles")).toBe("/srv/apps/blog/current/staticfiles");
    expect(() => nginxToken("/a b")).toThrow(/nginx token/);
    expect(() => nginxToken("x;")).toThrow(/nginx token/);
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
