import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadStack } from "../../src/config/index.ts";
import { FIXTURES, projectWith } from "./fixture-project.ts";

const cases = readdirSync(FIXTURES).filter((f) => /\.(project|stack)\.yaml$/.test(f)).sort();

describe("bad inputs get the exact message beside their fixture", () => {
  it("covers every case the corpus must have", () => {
    const names = cases.map((f) => f.replace(/\.(project|stack)\.yaml$/, ""));
    for (const required of ["unknown-key", "knob-in-catalogue", "catalogue-key-in-stack", "wrong-type", "missing-app", "duplicate-app", "bad-domain", "pin-unknown-app", "empty-file", "yaml-syntax-error", "reserved-app-name", "pin-as-number",
      // Issue 17, finding 12: what `check` passed or crashed on.
      "static-url-root", "same-host-name", "body-size-huge", "shared-shadows-venv", "static-dir-dot", "uid-collision", "process-program-collision", "command-tab", "yaml-alias-bomb", "yaml-too-deep", "source-missing",
      // Finding 9: the project's name.
      "project-name-shell", "project-name-newline"]) {
      expect(names).toContain(required);
    }
  });

  it("the base fixture itself loads", () => {
    const p = projectWith();
    try {
      expect(loadStack(p.root, "dev").catalogue.apps.map((a) => a.name)).toEqual(["shop", "blog"]);
    } finally {
      p.cleanup();
    }
  });

  for (const file of cases) {
    it(file, () => {
      const expected = readFileSync(join(FIXTURES, file.replace(/\.(project|stack)\.yaml$/, ".expected.txt")), "utf8").trimEnd();
      const p = projectWith(file);
      try {
        let error: unknown;
        try {
          loadStack(p.root, "dev");
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).message).toBe(expected);
        // A user error never carries a stack trace in its message.
        expect((error as ConfigError).message).not.toMatch(/\n\s+at /);
      } finally {
        p.cleanup();
      }
    });
  }
});
