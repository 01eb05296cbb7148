// Hostile inputs the fixture corpus cannot hold as one YAML file (issue 17, finding 12): files that
// are not files, too large, not UTF-8 or generated, stack names from file names, source dirs that
// are links. And the sweep: `fawkes check` refuses every fixture case with its problems, never with
// an internal error or a stack trace (a tab in a command, two processes on one supervisord program
// and an alias bomb each ended in one).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkProject } from "../../src/check/index.ts";
import { main } from "../../src/cli/main.ts";
import { ConfigError, loadFromPulumiConfig, loadStack, readProject, setReleasePin } from "../../src/config/index.ts";
import { FIXTURES, projectWith } from "./fixture-project.ts";

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

/** The message of loading dev after `change` edited a copy of the base fixture. */
function loadAfter(change: (root: string) => void): string {
  const p = projectWith();
  try {
    change(p.root);
    return messageOf(() => loadStack(p.root, "dev"));
  } finally {
    p.cleanup();
  }
}

const STACK = "stacks/Pulumi.dev.yaml";
const appExtra = (root: string, lines: string) => {
  const file = join(root, "Pulumi.yaml");
  const text = readFileSync(file, "utf8").replace("          source: apps/shop\n", `          source: apps/shop\n${lines}`);
  writeFileSync(file, text);
};

describe("config files that are not what they seem", () => {
  it("a directory where a file belongs: named, not EISDIR", () => {
    for (const file of ["Pulumi.yaml", STACK, "image/recipe.yaml"]) {
      const m = loadAfter((root) => {
        rmSync(join(root, file));
        mkdirSync(join(root, file));
      });
      expect(m).toContain(`${file}: is a directory; it must be a YAML file`);
    }
  });

  it("a FIFO or a link to /dev/zero: refused without reading (both hung before)", () => {
    expect(loadAfter((root) => (rmSync(join(root, STACK)), execFileSync("mkfifo", [join(root, STACK)])))).toContain(`${STACK}: is not a regular file (a FIFO, socket or device)`);
    expect(loadAfter((root) => (rmSync(join(root, STACK)), symlinkSync("/dev/zero", join(root, STACK))))).toContain(`${STACK}: is not a regular file`);
  });

  it("a file over 1 MiB: refused by its size", () => {
    const text = `config:\n  acme:domain: dev.acme.test\n# ${"x".repeat(2 * 1024 * 1024)}\n`;
    const m = loadAfter((root) => writeFileSync(join(root, STACK), text));
    expect(m).toContain(`${STACK}: is ${Buffer.byteLength(text)} bytes; a config file of fawkes is at most 1048576 bytes (1 MiB)`);
  });

  it("bytes that are not UTF-8: the line, and how to fix it", () => {
    const m = loadAfter((root) => writeFileSync(join(root, STACK), Buffer.concat([Buffer.from("config:\n  acme:domain: dev.acme.test\n  acme:releases: { shop: r"), Buffer.from([0xe9]), Buffer.from("1, blog: r1 }\n")])));
    expect(m).toBe(`1 configuration problem:\n  ${STACK}: line 3: is not UTF-8 text (a byte sequence UTF-8 does not allow); save the file as UTF-8`);
  });

  it("nesting the parser cannot hold: the file, no stack overflow message", () => {
    const m = loadAfter((root) => writeFileSync(join(root, STACK), `config:\n  acme:domain: dev.acme.test\n  acme:fleet: ${"[".repeat(20000)}${"]".repeat(20000)}\n`));
    expect(m).toBe(`1 configuration problem:\n  ${STACK}: nests maps and lists too deeply for YAML to read; fawkes config needs about 8 levels`);
    expect(m).not.toMatch(/call stack/i);
  });

  it("an env value over 64 KiB, and an environment over 1 MiB in all", () => {
    expect(loadAfter((root) => appExtra(root, `          env: { BLOB: "${"x".repeat(70000)}" }\n`))).toContain("apps[0].env.BLOB: is 70000 bytes; an environment value is at most 65536");
    // Within 1 MiB of file only through aliases: one 60 KB value, twenty names.
    const many = Array.from({ length: 19 }, (_, i) => `V${i + 1}: *big`).join(", ");
    expect(loadAfter((root) => appExtra(root, `          env: { V0: &big "${"x".repeat(60000)}", ${many} }\n`))).toContain("apps[0].env: holds 1200");
  });
});

describe("source dirs", () => {
  it("a link out of the project, and a file: refused by what they are", () => {
    const link = loadAfter((root) => (rmSync(join(root, "apps/shop"), { recursive: true }), symlinkSync("/etc", join(root, "apps/shop"))));
    expect(link).toContain('apps[0].source: "apps/shop" goes through a symbolic link (to /etc); `fawkes build` archives the committed tree at this path, so name the real dir');
    const file = loadAfter((root) => (rmSync(join(root, "apps/shop"), { recursive: true }), writeFileSync(join(root, "apps/shop"), "")));
    expect(file).toContain('apps[0].source: "apps/shop" is a file;');
  });
});

describe("stack names from file names", () => {
  it("check refuses a stack file whose name is not a stack name, and --stack ../x", () => {
    const p = projectWith();
    try {
      for (const name of ["x$(id)", ".", "a\nb"]) copyFileSync(join(p.root, STACK), join(p.root, `stacks/Pulumi.${name}.yaml`));
      const report = checkProject(p.root);
      expect(report.stacks.map((s) => s.stack)).toEqual(["dev"]);
      const messages = report.problems.map((q) => `${q.file}: ${q.message}`);
      expect(messages).toContain('stacks/Pulumi.x$(id).yaml: the stack "x$(id)" is not a stack name (1-100 letters, digits, "-", "_" and ".", starting with a letter or digit, as Pulumi names stacks)');
      expect(messages).toContain('stacks/Pulumi...yaml: the stack "." is not a stack name (1-100 letters, digits, "-", "_" and ".", starting with a letter or digit, as Pulumi names stacks)');
      expect(messages.some((m) => m.startsWith('stacks/Pulumi.a\\nb.yaml: the stack "a\\nb" is not a stack name'))).toBe(true);
      expect(checkProject(p.root, ["../x"]).problems[0]?.message).toMatch(/^the stack "..\/x" is not a stack name/);
    } finally {
      p.cleanup();
    }
  });
});

describe("the project's name, checked where Pulumi.yaml is read", () => {
  const withName = (name: string) => (root: string) => {
    const file = join(root, "Pulumi.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("name: acme", `name: ${JSON.stringify(name)}`));
  };

  it("readProject without a problem list throws instead of handing out the name", () => {
    const p = projectWith();
    try {
      withName("acme$(id)")(p.root);
      expect(messageOf(() => readProject(p.root))).toContain('Pulumi.yaml: name: "acme$(id)" is not a project name fawkes can use');
    } finally {
      p.cleanup();
    }
  });

  it("the Pulumi program's way in refuses it too", () => {
    const p = projectWith();
    try {
      withName("my_shop")(p.root);
      expect(messageOf(() => loadFromPulumiConfig("my_shop", "dev", {}, p.root))).toContain('Pulumi.yaml: name: "my_shop" is not a project name fawkes can use');
    } finally {
      p.cleanup();
    }
  });
});

describe("release pins in a hostile stack file", () => {
  it("an alias bomb: a ConfigError naming the file, and the pin not written", () => {
    const p = projectWith("yaml-alias-bomb.stack.yaml");
    try {
      const m = messageOf(() => setReleasePin(p.root, "dev", "shop", "r2"));
      expect(m).toContain(`${STACK}: its YAML aliases (*name) expand to more than 100 copies`);
      expect(m).toContain("the release pin was not written");
    } finally {
      p.cleanup();
    }
  });
});

describe("fawkes check where rendering crashed", () => {
  it("two processes on one supervisord program, the stack pinning both apps: a problem, not an internal error", async () => {
    const p = projectWith("process-program-collision.project.yaml");
    try {
      writeFileSync(join(p.root, STACK), "config:\n  acme:domain: dev.acme.test\n  acme:releases: { shop: r1, shop-blog: r1 }\n");
      let err = "";
      const code = await main(["check"], { out: () => {}, err: (t) => (err += t), cwd: p.root });
      expect(code).toBe(1);
      expect(err).toBe(
        'error: Pulumi.yaml: config.catalogue.value.apps[1].processes.jobs: its supervisord program "shop-blog-jobs" would also be process "blog-jobs" of app "shop" (programs are <app>-<process>); rename one of the processes\n1 configuration problem\n',
      );
    } finally {
      p.cleanup();
    }
  });
});

describe("fawkes check on every bad fixture", () => {
  const cases = readdirSync(FIXTURES).filter((f) => /\.(project|stack)\.yaml$/.test(f)).sort();
  for (const file of cases) {
    it(`${file}: exit 1 with its problems, no internal error`, async () => {
      const p = projectWith(file);
      try {
        let out = "";
        let err = "";
        const code = await main(["check"], { out: (t) => (out += t), err: (t) => (err += t), cwd: p.root });
        expect(code, out + err).toBe(1);
        // Each problem a line of its own that starts with `error: `, then how many; no internal error.
        const lines = err.trimEnd().split("\n");
        expect(lines.at(-1)).toBe(`${lines.length - 1} configuration problem${lines.length === 2 ? "" : "s"}`);
        for (const line of lines.slice(0, -1)) expect(line).toMatch(/^error: \S/);
        expect(err).not.toMatch(/--verbose|\n\s+at /m);
      } finally {
        p.cleanup();
      }
    });
  }
});
