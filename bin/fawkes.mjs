#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so that no build step stands between a clone and `fawkes`.
import { register } from "tsx/esm/api";

register();
const argv = process.argv.slice(2);
if (argv[0] === "__complete") {
  // A TAB in the shell: load only what names the candidates, not every command (seconds).
  const { completeNames } = await import("../src/cli/complete-names.ts");
  process.exitCode = completeNames(argv.slice(1), { out: (t) => process.stdout.write(t), err: () => {}, cwd: process.cwd() });
} else {
  const { main } = await import("../src/cli/main.ts");
  process.exitCode = await main(argv);
}
