// The real programs the validators run, where Debian installs them, and a bounded way to run them.
// Absolute paths on purpose: `python3` first on PATH may be another Python (pyenv) without the
// Debian modules, and gunicorn must be Debian's, which runs on /usr/bin/python3.
import { accessSync, constants } from "node:fs";
import { execa } from "execa";

export interface Tool {
  name: string;
  path: string;
  /** The Debian package that installs it: scripts/debian-packages.txt for the machine's own tools, image/recipe.yaml for the hosts' (checked in the golden image). */
  debianPackage: string;
}

export const TOOLS = {
  cloudInit: { name: "cloud-init", path: "/usr/bin/cloud-init", debianPackage: "cloud-init" },
  python3: { name: "python3", path: "/usr/bin/python3", debianPackage: "python3" },
  supervisord: { name: "supervisord", path: "/usr/bin/supervisord", debianPackage: "supervisor" },
  gunicorn: { name: "gunicorn", path: "/usr/bin/gunicorn", debianPackage: "gunicorn" },
  nginx: { name: "nginx", path: "/usr/sbin/nginx", debianPackage: "nginx-light" },
  shellcheck: { name: "shellcheck", path: "/usr/bin/shellcheck", debianPackage: "shellcheck" },
  unshare: { name: "unshare", path: "/usr/bin/unshare", debianPackage: "util-linux" },
  mount: { name: "mount", path: "/bin/mount", debianPackage: "mount" },
} as const satisfies Record<string, Tool>;

/** Python modules the validators import with /usr/bin/python3, and their Debian packages. */
export const PYTHON_MODULES: Record<string, string> = {
  supervisor: "supervisor",
  gunicorn: "gunicorn",
  flask: "python3-flask",
  django: "python3-django",
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Throws, naming the tool and its Debian package, when a validator binary is missing. Never skips. */
export function requireTools(...tools: Tool[]): void {
  const missing = tools.filter((t) => !isExecutable(t.path));
  if (missing.length === 0) return;
  const lines = missing.map((t) => `${t.name} (${t.path}) from the Debian package "${t.debianPackage}"`);
  throw new Error(
    `missing validator: ${lines.join("; ")}. Install: apt-get install ${missing.map((t) => t.debianPackage).join(" ")} ` +
      "(or, as root, scripts/install-debian-packages.sh, which installs scripts/debian-packages.txt)",
  );
}

/** Throws, naming the Debian packages, when /usr/bin/python3 cannot import one of `modules`. */
export async function requirePythonModules(...modules: string[]): Promise<void> {
  requireTools(TOOLS.python3);
  const script = "import importlib.util, sys\nprint(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))";
  const r = await run([TOOLS.python3.path, "-c", script, ...modules], { timeoutMs: 15_000 });
  const missing = r.exitCode === 0 ? r.stdout.split(" ").filter(Boolean) : modules;
  if (missing.length === 0) return;
  const packages = missing.map((m) => PYTHON_MODULES[m] ?? `the package with the Python module ${m}`);
  throw new Error(`missing Python module for ${TOOLS.python3.path}: ${missing.join(", ")}. Install: apt-get install ${packages.join(" ")}`);
}

export interface RunResult {
  command: string;
  exitCode: number | undefined;
  timedOut: boolean;
  /** How it ended when it did not exit by itself: a signal, or why it could not start. */
  ended?: string;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved, as a person would read them. */
  output: string;
}

export interface RunOptions {
  timeoutMs: number;
  cwd?: string;
  /** The whole environment of the child: nothing leaks in from the test runner's. */
  env?: Record<string, string>;
}

/** A clean environment for the validators: Debian's PATH, a UTF-8 locale, no bytecode in the repo. */
export const BASE_ENV: Record<string, string> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
  HOME: "/root",
  PYTHONDONTWRITEBYTECODE: "1",
};

/** Runs argv to completion within the time limit; never throws for a non-zero exit. */
export async function run(argv: string[], options: RunOptions): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error("run: empty argv");
  const r = await execa(file, args, {
    reject: false,
    all: true,
    timeout: options.timeoutMs,
    forceKillAfterDelay: 2_000,
    cwd: options.cwd,
    env: options.env ?? BASE_ENV,
    extendEnv: false,
    stdin: "ignore",
  });
  return {
    command: argv.join(" "),
    exitCode: r.exitCode,
    timedOut: r.timedOut,
    ...(r.exitCode === undefined ? { ended: r.signal ? `killed by ${r.signal}` : r.shortMessage } : {}),
    stdout: r.stdout,
    stderr: r.stderr,
    output: r.all ?? `${r.stdout}\n${r.stderr}`,
  };
}

/** One readable paragraph about a run, for assertion messages. */
export function describeRun(r: RunResult): string {
  const status = r.timedOut ? "timed out" : r.exitCode === undefined ? (r.ended ?? "did not exit") : `exited ${r.exitCode}`;
  return `\`${r.command}\` ${status}:\n${r.output.trim() || "(no output)"}`;
}

/** Throws with the command and its output unless it exited 0 in time. */
export function expectSuccess(r: RunResult, what: string): void {
  if (r.exitCode !== 0 || r.timedOut) throw new Error(`${what}: ${describeRun(r)}`);
}
