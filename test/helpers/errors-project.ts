// A fawkes project of its own for the error digest's end-to-end test: this repository's committed
// files as a git repository, plus a commit whose shop has an endpoint that raises (the sample apps
// in examples/ stay as they are: their release ids are pinned in the stacks). The shop is built
// at that commit and the blog at the first; a stack of the caller's pins both.
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchProject } from "./scratch-project.ts";

export interface ErrorsProject {
  root: string;
  ids: { shop: string; blog: string };
  /** Runs the fawkes CLI in the project, in this process. */
  fawkes(...argv: string[]): Promise<{ code: number; out: string; err: string }>;
  /** Writes stacks/Pulumi.<stack>.yaml: `web` web hosts, no worker, both releases pinned, the daily mail to MAIL_TO. */
  writeStack(stack: string, web: number): void;
  remove(): void;
}


/** Who the stack's daily traceback mail goes to (knob errorMail). */
export const MAIL_TO = "ops@errors.fawkes.test";

/** The exception's type as Python prints it: module `shop.app`, class FawkesTestError. */
export const BOOM_TYPE = "shop.app.FawkesTestError";

export const BOOM_ENDPOINT = `

class FawkesTestError(Exception):
    """Raised on purpose by /boom/<n>: the error digest's end-to-end test provokes it."""


@app.get("/boom/<int:n>")
def boom(n: int):
    raise FawkesTestError(f"request {n} failed on purpose")
`;

export async function makeErrorsProject(): Promise<ErrorsProject> {
  const { root, git, fawkes, buildAt, remove: removeRoot } = await scratchProject("errors");
  try {
    const v1 = await git("rev-parse", "HEAD");
    appendFileSync(join(root, "examples/flask-shop/shop/app.py"), BOOM_ENDPOINT);
    await git("commit", "-q", "-am", "shop: an endpoint that raises");
    const boom = await git("rev-parse", "HEAD");
    const ids = { shop: await buildAt("shop", boom), blog: await buildAt("blog", v1) };
    const writeStack = (stack: string, web: number) =>
      writeFileSync(
        join(root, "stacks", `Pulumi.${stack}.yaml`),
        `# ${stack}: the error digest's end-to-end stack. Only knobs.
config:
  aws:region: eu-west-1
  fawkes:domain: ${stack}.fawkes.test
  fawkes:fleet:
    web: { min: ${web}, max: ${web * 2}, desired: ${web} }
    worker: { min: 0, max: 1, desired: 0 }
  fawkes:releases:
    shop: ${ids.shop}
    blog: ${ids.blog}
  fawkes:errorMail:
    to: [${MAIL_TO}]
`,
      );
    return { root, ids, fawkes, writeStack, remove: removeRoot };
  } catch (e) {
    removeRoot();
    throw e;
  }
}
