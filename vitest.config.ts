import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The golden image, built once before the validators and the e2e tests run in it.
    globalSetup: ["test/global-setup.ts"],
    // Real validators and (later) local hosts take seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
