import { relative, resolve } from "node:path";
import { BuildNeedsRootError, LockChangedError } from "../../artifact/index.ts";
import { addApp, AppAddError } from "../../app-add/index.ts";
import { catalogueAppNames, listStacks, readProject, setReleasePin } from "../../config/index.ts";
import { UsageError, type Command } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

export const appAdd: Command = {
  name: "app add",
  summary: "Add a WSGI app to the catalogue from its source dir: detect Django/Flask, build its first release, pin it in every stack.",
  usage: "fawkes app add NAME --source DIR [--wsgi MODULE:CALLABLE] [--health PATH] [--store DIR]",
  help: `Makes DIR (inside the project, with a requirements.txt) the app NAME, in these steps:
  1. finds the WSGI entry point: a Django project (manage.py naming NAME.settings; gunicorn serves
     <project>.wsgi:application; health check /admin/login/ when the admin is routed, else /),
     a Flask app (a module assigning X = Flask(...), or defining create_app), or --wsgi;
  2. commits DIR as it is in the working tree (builds read committed source only);
  3. appends the app to the catalogue in Pulumi.yaml: a web process, the health path, every
     other key at its default (edit the entry afterwards for workers, secrets, shared dirs, ...);
  4. builds the first release (fawkes build NAME): packages from the repository's libraries, the
     app's committed wheels/ dir, Debian's Python packages in the image, or the package index of
     your pip configuration. Packages from the index are pinned by sha256 in DIR/requirements.lock,
     which is committed before the release is built;
  5. pins the release in every stack file and commits Pulumi.yaml and the stack files.
Then \`fawkes check\` passes, and \`npm start\` (fawkes local up --stack dev) serves the app at
http://NAME.dev.localhost:8080/.

Nothing is half done: Pulumi.yaml and the stack files must have no uncommitted changes before
(they are committed after); a failed build puts Pulumi.yaml back as it was and pins nothing (the
source commit stays). Needs root for the build, like fawkes build.

Flags:
  --source DIR     the app's source dir, inside the project (required)
  --wsgi M:C       the WSGI entry point, when it is not found or to choose another
  --health PATH    the health check's path (default as found above)
  --store DIR      the artifact store (default \${FAWKES_HOME:-/var/lib/fawkes}/artifacts)

Exit codes: 0 the app is in the catalogue with its release pinned in every stack; 1 it is not
(the step that failed says why, and what was left as it was); 2 usage.`,
  options: { source: { type: "string" }, wsgi: { type: "string" }, health: { type: "string" }, store: { type: "string" } },
  positionals: { min: 1, max: 1, args: [{ name: "NAME", kind: "app" }] },
  async run({ values, positionals }, io) {
    if (typeof values.source !== "string") throw new UsageError("--source DIR is required: the app's source dir inside the project");
    const root = findProjectRoot(io.cwd, values.project);
    try {
      const r = await addApp({
        root, name: positionals[0]!, source: values.source, cwd: io.cwd,
        ...(typeof values.wsgi === "string" ? { wsgi: values.wsgi } : {}),
        ...(typeof values.health === "string" ? { healthPath: values.health } : {}),
        ...(typeof values.store === "string" ? { store: resolve(io.cwd, values.store) } : {}),
        progress: (m) => io.err(`${m}\n`),
      });
      io.out(`${r.app}: ${r.detected.framework} app in ${r.source}, release ${r.build.release} pinned in ${r.pinned.length} stack(s); serve it with: npm start\n`);
      return 0;
    } catch (e) {
      if (e instanceof AppAddError || e instanceof BuildNeedsRootError || e instanceof LockChangedError) {
        io.err(`error: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
  },
};

export const pin: Command = {
  name: "pin",
  summary: "Write a release pin of APP into one stack file or all of them, changing nothing else.",
  usage: "fawkes pin APP RELEASE_ID (--stack S | --all)",
  help: `Sets config.<project>:releases.APP to RELEASE_ID in stacks/Pulumi.<S>.yaml (or in every
stack file with --all), keeping every other byte of the file. It deploys nothing: the next
fawkes local up, fawkes release or pulumi up uses the pin; fawkes release pins and rolls out in
one step. The release need not be built yet (fawkes build APP prints the id of the committed
source); fawkes check does not look for it, a rollout does.

Flags:
  --stack S   the stack file to write
  --all       every stack file of the project

Prints "pinned APP RELEASE_ID in FILE (was OLD)" per file. Exit codes: 0 written; 1 a stack file
could not be read or written (named, left as it was); 2 usage.`,
  options: { stack: { type: "string", kind: "stack" }, all: { type: "boolean" } },
  positionals: { min: 2, max: 2, args: [{ name: "APP", kind: "app" }, { name: "RELEASE_ID", kind: "release" }] },
  async run({ values, positionals }, io) {
    const [app, release] = positionals as [string, string];
    if ((typeof values.stack === "string") === (values.all === true)) throw new UsageError("give --stack S or --all");
    const root = findProjectRoot(io.cwd, values.project);
    const project = readProject(root);
    const stacks = values.all ? listStacks(project) : [values.stack as string];
    if (!catalogueAppNames(project).includes(app)) throw new UsageError(`no app "${app}" in the catalogue of ${relative(io.cwd, root) || "."}/Pulumi.yaml; add it first (fawkes app add)`);
    for (const stack of stacks) {
      const r = setReleasePin(root, stack, app, release);
      io.out(`pinned ${app} ${release} in ${relative(root, r.file)}${r.previous !== undefined ? ` (was ${r.previous})` : ""}\n`);
    }
    return 0;
  },
};
