// Every Python program a host's shell scripts carry inline (`python3 -c '…'` and `python3 - <<'PY'`
// heredocs) compiles. shellcheck sees only a quoted string there, so a Python syntax error would
// surface on the first host that reaches that branch (on AWS only, for the master-secret reader).
import { describe, expect, test } from "vitest";
import { shellFiles } from "../helpers/checks/shellcheck.ts";
import { allHosts, renderAllStacks, renderDatabaseHosts, type ImageLike } from "../helpers/rendered-hosts.ts";
import { TOOLS, describeRun, requireTools, run } from "../helpers/tools.ts";

interface Program {
  where: string;
  source: string;
}

/** The inline programs of a shell script: single-quoted `python3 -c` bodies and quoted-delimiter heredocs. */
function inlinePrograms(path: string, script: string): Program[] {
  const found: Program[] = [];
  for (const m of script.matchAll(/python3 -c '([^']*)'/g)) found.push({ where: `${path}:${lineOf(script, m.index)} (python3 -c)`, source: m[1]! });
  for (const m of script.matchAll(/python3 -[^\n]*<<'(\w+)'\n([\s\S]*?)\n\1\n/g)) found.push({ where: `${path}:${lineOf(script, m.index)} (heredoc)`, source: m[2]! });
  return found;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

function programsOf(image: ImageLike): Program[] {
  const shells = new Set(shellFiles({ image }));
  return image.files.filter((f) => shells.has(f.path)).flatMap((f) => inlinePrograms(f.path, f.content));
}

const stacks = renderAllStacks();
const images = [...allHosts(stacks).map((h) => ({ label: h.label, image: h.image as ImageLike })), ...renderDatabaseHosts(stacks)];

const COMPILE = "import sys\ncompile(sys.argv[2], sys.argv[1], 'exec')";

describe("inline Python programs", () => {
  test("the extractor finds the programs the bootstraps carry (the master-secret reader, the dump manifest writer)", () => {
    const all = images.flatMap((i) => programsOf(i.image));
    expect(all.some((p) => p.source.includes("json.load(sys.stdin)"))).toBe(true);
    expect(all.some((p) => p.where.includes("heredoc"))).toBe(true);
  });

  for (const { label, image } of images) {
    test(`${label}: every inline Python program compiles`, async () => {
      requireTools(TOOLS.python3);
      const errors: string[] = [];
      for (const p of programsOf(image)) {
        const r = await run([TOOLS.python3.path, "-c", COMPILE, p.where, p.source], { timeoutMs: 15_000 });
        if (r.exitCode !== 0) errors.push(`${p.where}: ${describeRun(r)}`);
      }
      expect(errors).toEqual([]);
    });
  }
});
