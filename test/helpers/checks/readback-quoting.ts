// Each quoting function of src/render/quote.ts fed values directly, its output read back by the
// tool of its language (./readback.ts runs them): bash words and comments, Python literals and
// comments, the cloud-config's header and file blocks, supervisord's three syntaxes, nginx tokens.
// A function may refuse a value (it throws, and renders nothing): then nothing is read back.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cloudConfigOf } from "../../../src/render/host-image.ts";
import { commentText, nginxToken, pythonLiteral, shellWord, supervisorArgs, supervisorEnvironment, supervisorValue } from "../../../src/render/quote.ts";
import { writtenFiles } from "../cloud-config.ts";
import type { BashRead } from "./readback-bash.ts";
import { same, type Batch } from "./readback.ts";

/** The value, or undefined when the function refuses it. */
function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** Adds one read per language over `values`; returns how many values each function refused. */
export function addQuotingReads(batch: Batch, key: string, values: readonly string[]): Record<string, number> {
  const dir = join(batch.dir, key);
  mkdirSync(dir, { recursive: true });
  const refused = { bash: 0, supervisord: 0, nginx: 0, python: 0 };
  const own = (id: string) => batch.owner.set(id, key);

  // bash: every value as a word after a comment of it, sourced; NAME=value back, nothing run.
  const words = values.map((v, i) => ({ name: `V${i}`, value: v, word: attempt(() => shellWord(v)) }));
  const kept = words.filter((w) => w.word !== undefined);
  refused.bash = words.length - kept.length;
  const envFile = join(dir, "words.env");
  writeFileSync(envFile, kept.map((w) => `# ${commentText(w.value)}\n${w.name}=${w.word}\n`).join(""));
  const bashId = `${key}/bash`;
  const want = new Map([...kept.map((w): [string, string] => [w.name, w.value]), ["rc", "0"], ["stderr", ""]]);
  const read: BashRead = {
    id: bashId,
    kind: "env",
    file: envFile,
    lists: [kept.map((w) => w.name)],
    check: (got) => [...want].filter(([k, v]) => got.get(k) !== v).map(([k, v]) => `${bashId}: ${k} reads back as ${JSON.stringify(got.get(k))}, quoted from ${JSON.stringify(v)}`),
  };
  batch.bash.push(read);
  own(bashId);

  // Python: a literal per value after a comment of it; the module's globals are exactly those.
  const literals = values.map((v, i) => ({ name: `V${i}`, value: v, literal: attempt(() => pythonLiteral(v)) })).filter((l) => l.literal !== undefined);
  refused.python = values.length - literals.length;
  const py = join(dir, "literals.py");
  writeFileSync(py, literals.map((l) => `# ${commentText(l.value)}\n${l.name} = ${l.literal}\n`).join(""));
  const pyId = `${key}/python`;
  batch.image.push({ id: pyId, task: { kind: "python", path: py }, check: (got) => same(pyId, got, Object.fromEntries(literals.map((l) => [l.name, l.value]))) });
  own(pyId);

  values.forEach((v, i) => {
    // cloud-config: the value in the header and as a file's content; PyYAML gives back that file only.
    // A lone surrogate cannot be a file's content (no UTF-8 form; the quoting refuses it upstream).
    const content = /\p{Cs}/u.test(v) ? "" : v;
    const ud = join(dir, `user-data-${i}`);
    writeFileSync(ud, cloudConfigOf([v, `after ${v}`], [{ path: "/etc/fawkes/value", content, mode: "0644", owner: "root:root" }], "/bin/true"));
    const yamlId = `${key}/yaml-${i}`;
    batch.image.push({
      id: yamlId,
      task: { kind: "yaml", path: ud },
      check: (got) => {
        const doc = got.value as Record<string, unknown>;
        const files = writtenFiles(doc ?? {}).map((f) => [f.path, f.content.toString("utf8")]);
        return [...same(`${yamlId} of ${JSON.stringify(v)}: keys`, Object.keys(doc ?? {}).sort(), ["runcmd", "write_files"]), ...same(`${yamlId} of ${JSON.stringify(v)}: files`, files, [["/etc/fawkes/value", content]])];
      },
    });
    own(yamlId);

    // supervisord: the value as a command argument, a directory and an environment value.
    const program = attempt(() => ({ command: supervisorArgs(["/bin/echo", v]), directory: supervisorValue(`/srv/${v}`), environment: supervisorEnvironment({ V: v }) }));
    if (program === undefined) refused.supervisord++;
    else {
      const conf = join(dir, `supervisord-${i}.conf`);
      const body = [`[program:p${i}]`, `command=${program.command}`, `directory=${program.directory}`, `environment=${program.environment}`, ""];
      writeFileSync(conf, ["[supervisord]", `logfile=${dir}/supervisord.log`, `pidfile=${dir}/supervisord.pid`, ...body].join("\n"));
      const id = `${key}/supervisord-${i}`;
      const loaded = { argv: ["/bin/echo", v], directory: `/srv/${v}`, user: null, environment: { V: v }, stdout_logfile: {}, startsecs: 1, stopwaitsecs: 10 };
      batch.image.push({ id, task: { kind: "supervisord", conf }, check: (got) => same(`${id} of ${JSON.stringify(v)}`, (got.programs as Record<string, Record<string, unknown>>)?.[`p${i}`] && { ...(got.programs as Record<string, Record<string, unknown>>)[`p${i}`], stdout_logfile: {} }, loaded) });
      own(id);
    }

    // nginx: the value as the `user` directive's one argument; getpwnam() names what nginx read.
    const token = attempt(() => nginxToken(v));
    if (token === undefined) refused.nginx++;
    else {
      const nd = join(dir, `nginx-${i}`);
      mkdirSync(nd, { recursive: true });
      writeFileSync(join(nd, "nginx.conf"), [`user ${token};`, `pid ${nd}/nginx.pid;`, `error_log ${nd}/error.log;`, "events {}", ""].join("\n"));
      const id = `${key}/nginx-${i}`;
      batch.nginx.push({ id, dir: nd, check: (rc, out) => (out.includes(`getpwnam("${v}") failed`) || (rc === "0" && ["root", "nobody", "www-data"].includes(v)) ? [] : [`${id}: nginx read ${JSON.stringify(v)} quoted as ${token} otherwise: ${out.trim()}`]) });
      own(id);
    }
  });
  return refused;
}
