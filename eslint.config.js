// Type-aware rules stay in tsc; ESLint guards the architecture and obvious mistakes.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const impure = ["@pulumi/*", "execa", "node:child_process", "child_process"];

export default tseslint.config(
  { ignores: ["node_modules/", "policy/node_modules/", "out/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The pure core: config -> model -> render never touches Pulumi, AWS or processes.
    files: ["src/config/**", "src/model/**", "src/render/**", "src/names/**", "src/errors/traceback.ts", "src/errors/digest.ts", "src/errors/report.ts", "src/plan/preview.ts", "src/plan/format.ts", "src/plan/replacement.ts", "src/plan/host-files.ts", "src/console/pages.ts", "src/html/**", "src/console/access.ts", "src/errors/mail.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: impure, message: "src/config, src/model, src/render, src/names and the pure parts of src/errors and src/plan are pure: no Pulumi, execa or child processes." }],
      }],
    },
  },
  {
    // The console's one script runs in the browser.
    files: ["src/console/static/*.js"],
    languageOptions: { globals: { document: "readonly", window: "readonly", location: "readonly", EventSource: "readonly" } },
  },
  {
    files: ["bin/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
