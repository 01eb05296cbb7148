// The policy pack loads the way `pulumi preview --policy-pack policy` loads it. Its own file:
// Pulumi's runner type-checks the pack with ts-node (seconds), in parallel with the other files.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "./harness.ts";

/** Runs Pulumi's policy runner in policy/ until it prints its first line (or exits). */
function firstLineOfRunner(): Promise<{ line: string; output: string }> {
  const runner = join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack");
  // The engine address is only used for logs; the pack binds its policy server to 127.0.0.1.
  const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      child.kill();
      resolve({ line: output.split("\n")[0] ?? "", output });
    };
    const timer = setTimeout(done, 25_000);
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
      if (output.includes("\n")) done();
    });
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("exit", done);
  });
}

it("loads through Pulumi's policy runner (ts-node, require) and serves on a port", async () => {
  const { line, output } = await firstLineOfRunner();
  expect(line, output).toMatch(/^\d+$/);
}, 30_000);
