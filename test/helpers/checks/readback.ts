// Rendered files read back by their real consumers, many projects in one batch: bash (syntax, an
// env file sourced, the bootstrap's variables, fawkes-exec's dispatch) on this machine; nginx -t,
// supervisord's loader, a gunicorn conf executed and cloud-init's PyYAML in the golden image, one
// entry into it for the whole batch. Each check compares with what the plan says the file means.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { goldenImage, inImageRoot, requireImageTools } from "../image-root.ts";
import { writtenFiles } from "../cloud-config.ts";
import { writeHostTree } from "../rendered-hosts.ts";
import { BASE_ENV, TOOLS, describeRun, run } from "../tools.ts";
import { bashReads, type BashRead, type Expected } from "./readback-bash.ts";

/** One read in the golden image: its input and how its result is judged. */
export interface ImageRead {
  id: string;
  task: Record<string, string>;
  check: (got: Record<string, unknown>) => string[];
}

export interface Batch {
  dir: string;
  bash: BashRead[];
  image: ImageRead[];
  /** A dir holding an nginx.conf, and how nginx -t's exit status and output are judged. */
  nginx: Array<{ id: string; dir: string; check: (rc: string, out: string) => string[] }>;
  logDirs: Set<string>;
  users: Map<string, string>;
  /** Which project each read belongs to, and its problems found without a tool. */
  owner: Map<string, string>;
  problems: Map<string, string[]>;
}

export function newBatch(dir: string): Batch {
  mkdirSync(dir, { recursive: true });
  return { dir, bash: [], image: [], nginx: [], logDirs: new Set(), users: new Map(), owner: new Map(), problems: new Map() };
}

/** nginx -t says the syntax is ok and the test successful, with no warning. */
export const nginxAccepts =
  (id: string) =>
  (rc: string, out: string): string[] =>
    rc !== "0" || !out.includes("syntax is ok") || /\[(warn|alert|crit|emerg)\]/.test(out) ? [`${id}: nginx -t exited ${rc}: ${out.trim()}`] : [];

export const same = (what: string, got: unknown, want: unknown): string[] => (isDeepStrictEqual(got, want) ? [] : [`${what}: read back ${JSON.stringify(got)}, rendered to mean ${JSON.stringify(want)}`]);

/** Adds the reads of one rendered project, `key` naming it in the results. */
export function addProject(batch: Batch, key: string, expected: Expected): void {
  const note = (id: string) => batch.owner.set(id, key);
  for (const host of expected.hosts) {
    // A dir name without spaces: supervisord's `files =` is a space-separated list.
    const base = join(batch.dir, key.replace(/[^A-Za-z0-9._-]+/g, "-"), host.role);
    const tree = writeHostTree({ stack: expected.stack, role: host.role, files: host.files, userData: host.userData }, join(base, "root"));
    for (const r of bashReads(`${key}/${host.role}`, tree.at, host)) {
      batch.bash.push(r);
      note(r.id);
    }
    const userData = join(base, "user-data");
    writeFileSync(userData, host.userData);
    const yamlId = `${key}/${host.role}/user-data`;
    batch.image.push({
      id: yamlId,
      task: { kind: "yaml", path: userData },
      check: (got) => {
        const doc = got.value as Record<string, unknown>;
        if (typeof doc !== "object" || doc === null) return [`${yamlId}: PyYAML reads ${JSON.stringify(got)}`];
        const files = writtenFiles(doc).map((f) => ({ path: f.path, content: f.content.toString("utf8"), permissions: f.permissions, owner: f.owner, defer: f.defer }));
        const want = host.userDataFiles.map((f) => ({ path: f.path, content: f.content, permissions: f.mode, owner: f.owner, defer: true }));
        return [...same(`${yamlId} keys (PyYAML)`, Object.keys(doc).sort(), ["runcmd", "write_files"]), ...same(`${yamlId} runcmd (PyYAML)`, doc.runcmd, [[host.command]]), ...same(`${yamlId} write_files (PyYAML)`, files, want)];
      },
    });
    note(yamlId);
    if (host.programs.length > 0) {
      const conf = join(base, "supervisord.conf");
      writeFileSync(conf, ["[supervisord]", `logfile=${base}/supervisord.log`, `pidfile=${base}/supervisord.pid`, "[unix_http_server]", `file=${base}/supervisor.sock`, "[rpcinterface:supervisor]", "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "[include]", `files = ${tree.at("/etc/supervisor/conf.d")}/*.conf`, ""].join("\n"));
      const id = `${key}/${host.role}/supervisord`;
      batch.image.push({ id, task: { kind: "supervisord", conf }, check: (got) => [...same(`${id} programs`, got.programs, Object.fromEntries(host.programs.map((p) => [p.name, p.loaded]))), ...same(`${id} warnings`, got.warnings, [])] });
      note(id);
    }
    for (const g of host.pythonFiles) {
      const id = `${key}/${host.role}${g.path}`;
      batch.image.push({ id, task: { kind: "python", path: tree.at(g.path) }, check: (got) => same(id, got, g.globals) });
      note(id);
    }
    if (host.sites.length > 0) {
      const dir = join(base, "nginx");
      mkdirSync(dir, { recursive: true });
      const sites = host.sites.map((s) => `    include ${tree.at(s)};`);
      writeFileSync(join(dir, "nginx.conf"), [`pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log;`, "events {}", "http {", "    include /etc/nginx/mime.types;", ...sites, "}", ""].join("\n"));
      const id = `${key}/${host.role}/nginx`;
      batch.nginx.push({ id, dir, check: nginxAccepts(id) });
      note(id);
    }
    for (const d of host.logDirs) batch.logDirs.add(d);
    for (const [user, line] of host.users) if (!batch.users.has(user)) batch.users.set(user, line);
  }
}

/** What the sandbox runs in the image: log dirs and app users as a booted host has them, nginx -t per project, then Python once. */
const INSIDE = `set -u
d=$1
mount -t tmpfs -o mode=0755 fawkes-fuzz-log /var/log || exit 90
xargs -0 -r mkdir -p <"$d/logdirs"
cat "$d/passwd" >>/etc/passwd
cat "$d/group" >>/etc/group
while IFS= read -r -d '' n; do
  /usr/sbin/nginx -t -c "$n/nginx.conf" -p "$n/" -e "$n/error.log" >"$n/out" 2>&1
  echo $? >"$n/rc"
done <"$d/nginx-dirs"
exec /usr/bin/python3 -I "$d/render_readback.py" "$d/tasks.json" "$d/results.json"
`;

export function addProblems(batch: Batch, id: string, found: string[]): void {
  if (found.length === 0) return;
  const key = batch.owner.get(id) ?? id;
  batch.problems.set(key, [...(batch.problems.get(key) ?? []), ...found]);
}

/** Runs every read of the batch; returns the problems by project key (none: every file means what it should). */
export async function runBatch(batch: Batch): Promise<Map<string, string[]>> {
  const script = join(import.meta.dirname, "../render_readback.sh");
  const tasks = join(batch.dir, "bash-tasks");
  writeFileSync(tasks, batch.bash.map((r) => [r.kind, r.id, r.file, ...r.lists.flatMap((l) => [...l, ""])].map((f) => `${f}\0`).join("")).join(""));
  const bash = await run(["/bin/bash", script, tasks], { timeoutMs: 120_000, env: BASE_ENV });
  if (bash.exitCode !== 0) throw new Error(`the bash read-back failed: ${describeRun(bash)}`);
  const got = new Map<string, Map<string, string>>();
  const fields = bash.stdout.split("\0");
  for (let i = 0; i + 2 < fields.length; i += 3) {
    const [id, k, v] = [fields[i]!, fields[i + 1]!, fields[i + 2]!];
    if (!got.has(id)) got.set(id, new Map());
    got.get(id)!.set(k, v);
  }
  for (const r of batch.bash) addProblems(batch, r.id, r.check(got.get(r.id) ?? new Map()));

  const image = await goldenImage();
  requireImageTools(image, TOOLS.nginx, TOOLS.python3, TOOLS.supervisord);
  const d = batch.dir;
  copyFileSync(join(import.meta.dirname, "../render_readback.py"), join(d, "render_readback.py"));
  writeFileSync(join(d, "inside.sh"), INSIDE);
  writeFileSync(join(d, "logdirs"), [...batch.logDirs].map((l) => `${l}\0`).join(""));
  writeFileSync(join(d, "passwd"), [...batch.users.values()].map((l) => `${l}\n`).join(""));
  writeFileSync(join(d, "group"), [...batch.users.values()].map((l) => `${l.split(":")[0]}:x:${l.split(":")[3]}:\n`).join(""));
  writeFileSync(join(d, "nginx-dirs"), batch.nginx.map((n) => `${n.dir}\0`).join(""));
  writeFileSync(join(d, "tasks.json"), JSON.stringify(batch.image.map((t) => ({ id: t.id, ...t.task }))));
  const r = await run(inImageRoot(image, join(d, "image-root"), [d], ["/bin/bash", join(d, "inside.sh"), d]), { timeoutMs: 300_000, env: BASE_ENV });
  if (r.exitCode !== 0 || !existsSync(join(d, "results.json"))) throw new Error(`the read-back in the golden image failed: ${describeRun(r)}`);
  const results = JSON.parse(readFileSync(join(d, "results.json"), "utf8")) as Record<string, Record<string, unknown>>;
  for (const t of batch.image) {
    const res = results[t.id];
    addProblems(batch, t.id, res === undefined ? [`${t.id}: no result`] : "error" in res ? [`${t.id}: ${String(res.error)}`] : t.check(res));
  }
  for (const n of batch.nginx) {
    const rc = readFileSync(join(n.dir, "rc"), "utf8").trim();
    const out = readFileSync(join(n.dir, "out"), "utf8");
    addProblems(batch, n.id, n.check(rc, out));
  }
  return batch.problems;
}
