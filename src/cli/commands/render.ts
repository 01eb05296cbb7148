import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { defaultStore, localStore, releaseSumsIn } from "../../artifact/index.ts";
import { ConfigError, loadStack } from "../../config/index.ts";
import { planEnvironment } from "../../model/index.ts";
import { renderEnvironment } from "../../render/index.ts";
import { UsageError, type Command } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

export const render: Command = {
  name: "render",
  summary: "Write the host images of a stack: per role, the #cloud-config user-data, the bundle it fetches and every file.",
  usage: "fawkes render --stack S [--out DIR] [--json]",
  help: `Flags:
  --stack S   the stack to render (required)
  --out DIR   where to write (default out/render); DIR/<stack>/<role>/ gets
              user-data (the text), user-data.bin (the bytes hosts get, gzipped over 16 KiB),
              bundle.tar.gz (what the artifact store holds under the key the user-data
              names, checked by its sha256), host.json (the manifest) and
              files/<absolute path> for every file, the bundle's and the user-data's
  --json      print what was written as JSON

Each release's sha256 is read from this machine's artifact store (fawkes build puts it
there) and pinned in the host's bundle, as local up pins it: a release not built here
is an error naming the build command.

Exit codes: 0 written; 1 configuration problems; 2 usage error.`,
  options: { stack: { type: "string", kind: "stack" }, out: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    if (typeof values.stack !== "string") throw new UsageError("--stack S is required");
    const root = findProjectRoot(io.cwd, values.project);
    const spec = loadStack(root, values.stack);
    const { sums, missing } = await releaseSumsIn(localStore(defaultStore()), spec.knobs.releases);
    if (missing.length > 0) {
      throw new ConfigError(missing.map((m) => ({ file: `stack ${spec.stack}`, path: `releases.${m.app}`, message: `release ${m.release} of ${m.app} ${m.why}: its sha256 is pinned in the host's bundle`, hint: `build it with fawkes build ${m.app}` })));
    }
    const images = renderEnvironment(planEnvironment(spec), sums);
    const outRoot = resolve(io.cwd, typeof values.out === "string" ? values.out : join(root, "out/render"));
    const written: Array<{ role: string; dir: string; files: number; userDataBytes: number; bundle: { key: string; sha256: string; bytes: number } }> = [];
    for (const img of images) {
      const dir = join(outRoot, values.stack, img.role);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, "files"), { recursive: true });
      writeFileSync(join(dir, "user-data"), img.userData);
      writeFileSync(join(dir, "user-data.bin"), img.userDataBytes);
      writeFileSync(join(dir, "bundle.tar.gz"), img.bundle.bytes);
      writeFileSync(join(dir, "host.json"), `${JSON.stringify(img.manifest, null, 2)}\n`);
      for (const f of img.files) {
        const target = join(dir, "files", f.path);
        mkdirSync(join(target, ".."), { recursive: true });
        writeFileSync(target, f.content, { mode: parseInt(f.mode, 8) });
      }
      written.push({ role: img.role, dir: relative(io.cwd, dir).startsWith("..") ? dir : relative(io.cwd, dir) || ".", files: img.files.length, userDataBytes: img.userDataBytes.length, bundle: { key: img.bundle.key, sha256: img.bundle.sha256, bytes: img.bundle.bytes.length } });
    }
    if (values.json) io.out(`${JSON.stringify({ stack: values.stack, images: written }, null, 2)}\n`);
    else for (const w of written) io.out(`${values.stack}/${w.role}: ${w.files} files, user-data ${w.userDataBytes} bytes, bundle ${w.bundle.key} ${w.bundle.bytes} bytes -> ${w.dir}\n`);
    return 0;
  },
};
