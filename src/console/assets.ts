// The console's stylesheet and script, read once from static/ beside this file.
import { readFileSync } from "node:fs";

const file = (name: string) => readFileSync(new URL(`./static/${name}`, import.meta.url), "utf8");

export const STATIC_FILES: Readonly<Record<string, { type: string; body: string }>> = {
  "/static/console.css": { type: "text/css; charset=utf-8", body: file("console.css") },
  "/static/console.js": { type: "text/javascript; charset=utf-8", body: file("console.js") },
};
