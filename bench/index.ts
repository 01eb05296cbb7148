// `npm run bench`: figures measured side by side in one run; compare the ratios, not the absolutes.
import { fileURLToPath } from "node:url";
import { loadStack } from "../src/config/index.ts";
import { planEnvironment } from "../src/model/index.ts";
import { renderEnvironment, standInSums } from "../src/render/index.ts";
import { benchConsole } from "./console.ts";
import { benchLocal } from "./local.ts";
import { alternate } from "./measure.ts";
import { benchPlan } from "./plan.ts";
import { benchRollout } from "./rollout.ts";
import { BENCH_STACKS, syntheticProject } from "./synthetic-project.ts";

/** Load (read + validate), plan and render all four stacks of a project once; returns ms and bytes. */
function renderAllStacks(root: string): { ms: number; bytes: number } {
  const t0 = performance.now();
  let bytes = 0;
  for (const stack of BENCH_STACKS) {
    const spec = loadStack(root, stack);
    // Measured, never deployed: stand-in sums (the same 64 hex digits as a real one).
    for (const img of renderEnvironment(planEnvironment(spec), standInSums(spec.knobs.releases))) bytes += img.userDataBytes.length;
  }
  return { ms: performance.now() - t0, bytes };
}

async function benchRender(): Promise<void> {
  const small = syntheticProject(5);
  const large = syntheticProject(20);
  try {
    // Warm up module caches and the JIT, then alternate the two sizes so noise hits both alike.
    for (let i = 0; i < 3; i++) {
      renderAllStacks(small.root);
      renderAllStacks(large.root);
    }
    const runs = 15;
    const { a: ms, b: ml, aBytes: sBytes, bBytes: lBytes } = await alternate(runs, () => renderAllStacks(small.root), () => renderAllStacks(large.root));
    console.log("config -> model -> render, 4 stacks (load + validate + plan + render), median of", runs, "runs");
    console.log(`  4 stacks x  5 apps: ${ms.toFixed(1)} ms  (user-data ${sBytes} bytes in all)`);
    console.log(`  4 stacks x 20 apps: ${ml.toFixed(1)} ms  (user-data ${lBytes} bytes in all)`);
    console.log(`  ratio 20 apps / 5 apps: ${(ml / ms).toFixed(2)} (4x the apps)`);
  } finally {
    small.cleanup();
    large.cleanup();
  }
}

await benchRender();
await benchPlan();
await benchConsole();

// The local target's figures boot hosts: root only, and FAWKES_BENCH_LOCAL=0 leaves them out.
if (process.env.FAWKES_BENCH_LOCAL === "0") {
  console.log("\nlocal target: skipped (FAWKES_BENCH_LOCAL=0)");
} else if (process.getuid?.() !== 0) {
  console.log("\nlocal target: its figures need root (namespaces, overlay mounts, a bridge); run npm run bench as root. Printed: the render figures only.");
} else {
  await benchLocal(fileURLToPath(new URL("..", import.meta.url))).catch((e: Error) => {
    console.error(`error: local figures: ${e.message}`);
    process.exitCode = 1;
  });
  await benchRollout().catch((e: Error) => {
    console.error(`error: rollout figures: ${e.message}`);
    process.exitCode = 1;
  });
}
