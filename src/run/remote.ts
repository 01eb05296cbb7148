// The scripts `fawkes run --target aws` sends through Run Command (AWS-RunShellScript, run by the
// SSM agent as root), and how their output reads back. GetCommandInvocation returns only the first
// 24,000 characters of a script's stdout and 8,000 of its stderr: so the command's own output goes
// to files in a root-only dir on the instance, and the script prints a header and the first part of
// each file, base64 (binary-safe, and within those limits); what is longer is read back in parts by
// further scripts, and the dir is removed once read.
import { shellWord, shellWords } from "../render/index.ts";

/** Where the runs' output waits on an instance to be read back: root's, removed once read, or after a day. */
export const RUNS_DIR = "/var/lib/fawkes/runs";
/** What GetCommandInvocation returns of a script's stdout, in characters. */
export const STDOUT_LIMIT = 24_000;
/** The first part of each stream the run script prints: 16,000 + 6,000 characters of base64, with the header under STDOUT_LIMIT. */
export const FIRST_PART = { out: 12_000, err: 4_500 } as const;
/** One later part: 22,668 characters of base64. */
export const PART_BYTES = 17_000;
/** A run's id on the instance: its dir's name. */
export const RUN_ID = /^[0-9a-f]{16}$/;

const HEADER = /^fawkes-run (\d{1,3}) (\d+) (\d+)$/;

export interface FirstPart {
  exitCode: number;
  /** The sizes of the command's whole stdout and stderr, in bytes. */
  sizes: { out: number; err: number };
  out: Buffer;
  err: Buffer;
}

function runDir(id: string, runs: string): string {
  if (!RUN_ID.test(id)) throw new Error(`internal: run id ${JSON.stringify(id)} is not 16 hex digits`);
  return `${runs}/${id}`;
}

/** stdin as a here-document of base64 lines: nothing in it is the terminator, which has a `_`. */
function stdinLines(stdin: Uint8Array | undefined): string[] {
  if (stdin === undefined || stdin.length === 0) return ["stdin=/dev/null"];
  const b64 = Buffer.from(stdin).toString("base64").match(/.{1,76}/g) ?? [];
  return ['stdin="$dir/stdin"', `base64 -d >"$stdin" <<'FAWKES_STDIN' || exit 1`, ...b64, "FAWKES_STDIN"];
}

/**
 * The script that runs `argv` (the app's process, appProcessArgv) with its stdin, keeps its output
 * in the run's dir, prints `fawkes-run <exit> <stdout bytes> <stderr bytes>` and the first part of
 * each stream, and exits with the command's code (Run Command's ResponseCode). Bash, as its first
 * line says (the agent runs the file with `sh -c`): the quoted words are bash's.
 */
export function runScript(id: string, argv: readonly string[], stdin?: Uint8Array, runs = RUNS_DIR): string {
  const dir = runDir(id, runs);
  return [
    "#!/bin/bash",
    "# fawkes run: a command of an app, as its user, from its current release; its output kept for fawkes to read back.",
    "set -u",
    "umask 077",
    `runs=${shellWord(runs)}`,
    `dir=${shellWord(dir)}`,
    "# What a run left that fawkes never read back (it stopped first) goes after a day.",
    'mkdir -p "$runs" && find "$runs" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf -- {} + && mkdir "$dir" || exit 1',
    ...stdinLines(stdin),
    `${shellWords(argv)} <"$stdin" >"$dir/stdout" 2>"$dir/stderr"`,
    "code=$?",
    'out=$(stat -c %s "$dir/stdout") err=$(stat -c %s "$dir/stderr")',
    'printf \'fawkes-run %s %s %s\\n\' "$code" "$out" "$err"',
    `printf 'out '; head -c ${FIRST_PART.out} "$dir/stdout" | base64 -w0; echo`,
    `printf 'err '; head -c ${FIRST_PART.err} "$dir/stderr" | base64 -w0; echo`,
    `if (( out <= ${FIRST_PART.out} && err <= ${FIRST_PART.err} )); then rm -rf -- "$dir"; fi`,
    'exit "$code"',
    "",
  ].join("\n");
}

/** A later part of a stream, from `offset`; the last one removes the run's dir. */
export function partScript(id: string, stream: "out" | "err", offset: number, last: boolean, runs = RUNS_DIR): string {
  const dir = shellWord(runDir(id, runs));
  if (!(Number.isSafeInteger(offset) && offset >= 0)) throw new Error(`internal: offset ${offset}`);
  return [
    "#!/bin/bash",
    "set -u",
    `tail -c +${offset + 1} ${dir}/std${stream} | head -c ${PART_BYTES} | base64 -w0 || exit 1`,
    ...(last ? [`rm -rf -- ${dir}`] : []),
    "",
  ].join("\n");
}

/** The run script's stdout read back, or undefined when it has no header (the command never ran). */
export function firstPart(stdout: string): FirstPart | undefined {
  const [header, out, err] = stdout.split("\n");
  const m = HEADER.exec(header ?? "");
  if (!m || !out?.startsWith("out ") || !err?.startsWith("err ")) return undefined;
  return { exitCode: Number(m[1]), sizes: { out: Number(m[2]), err: Number(m[3]) }, out: Buffer.from(out.slice(4), "base64"), err: Buffer.from(err.slice(4), "base64") };
}

/** The parts still to read of each stream after the first, up to `limit` bytes a stream: [stream, offset]. */
export function partsToRead(sizes: FirstPart["sizes"], limit: number): Array<{ stream: "out" | "err"; offset: number }> {
  const parts: Array<{ stream: "out" | "err"; offset: number }> = [];
  for (const stream of ["out", "err"] as const) {
    for (let offset = FIRST_PART[stream]; offset < Math.min(sizes[stream], limit); offset += PART_BYTES) parts.push({ stream, offset });
  }
  return parts;
}
