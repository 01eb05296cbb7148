// The Capistrano side of the rollout comparison: Debian's capistrano deploys the blog's next
// release to one web host in Capistrano's standard layout (releases/<timestamp>, `current`,
// shared dirs linked, a git mirror in repo/), runs the migration, then `supervisorctl restart`.
//
// Where it runs: on the host itself, with SSHKit's local backend. Hosts have no SSH server (the
// recipe purges openssh-server; the design uses Session Manager), and an SSH connection per
// deploy would only add to Capistrano's time: this is the fastest Capistrano can deploy, so the
// comparison favours it. The host is booted from the stack's web user-data over the recipe's
// image plus capistrano and git, and serves behind an HAProxy of its own (the fawkes stack's
// HAProxy config, rendered for this one host): the same load reaches it the same way.
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { EnvironmentSpec } from "../src/config/index.ts";
import { envOf, putInRotation, servedBackends } from "../src/local/fleet.ts";
import { renderHaproxyConfig, renderServerAddresses, serverAddressFile } from "../src/local/haproxy-config.ts";
import { haproxyPaths, portFree, serverStats, setHostState, startOrReloadHaproxy, writeHaproxyFiles } from "../src/local/haproxy.ts";
import { httpStatus } from "../src/local/health.ts";
import { inHost } from "../src/local/host.ts";
import type { GoldenImage } from "../src/local/image.ts";
import { startLoad, type LoadOptions, type LoadReport } from "../src/local/load.ts";
import { appPaths } from "../src/model/index.ts";
import { hostProcesses } from "./config-change.ts";
import { BENCH_DIR, bootToolHost, derivedImage, putFile, toolVersion, type ToolHost } from "./in-place.ts";

/** The recipe's image plus Debian's capistrano (Ruby, SSHKit, Airbrussh) and git, its SCM. */
export function capistranoImage(spec: EnvironmentSpec): GoldenImage {
  return derivedImage(spec, ["capistrano", "git"]);
}

/** The bare repository Capistrano deploys from, in the host. */
const REPO = "/srv/cap/blog.git";
const CAP_DIR = `${BENCH_DIR}/cap`;

/**
 * A Capistrano project as a shop writes it for a Django app shipped with its venv: the stock
 * deploy flow and git SCM, the app's shared dirs linked, and three tasks of its own.
 */
export function capistranoProject(app: string, program: string, sharedDirs: readonly string[]): Record<string, string> {
  const paths = appPaths(app);
  return {
    Capfile: [
      'require "capistrano/setup"',
      'require "capistrano/deploy"',
      'require "capistrano/scm/git"',
      "install_plugin Capistrano::SCM::Git",
      'Dir.glob("lib/capistrano/tasks/*.rake").each { |r| import r }',
      "",
    ].join("\n"),
    "config/deploy.rb": [
      `set :application, "${app}"`,
      `set :repo_url, "file://${REPO}"`,
      'set :branch, "master"',
      `set :deploy_to, "${paths.root}"`,
      `set :linked_dirs, %w[${sharedDirs.join(" ")}]`,
      "set :keep_releases, 5",
      "set :format_options, color: false, truncate: false",
      "# On the host itself: no SSH (see bench/capistrano.ts).",
      "set :sshkit_backend, SSHKit::Backend::Local",
      "",
    ].join("\n"),
    "config/deploy/production.rb": 'server "localhost", roles: %w[app web db]\n',
    "lib/capistrano/tasks/app.rake": [
      `namespace :${app} do`,
      "  # The venv in the repository was built at the artifact's release path: point its scripts here.",
      "  task :venv do",
      "    on roles(:app) do",
      "      within release_path do",
      `        execute :grep, "-rlZ", "'^#!${paths.releases}/'", "venv/bin", "|", "xargs", "-0r", "sed", "-i", "'1s|^#!${paths.releases}/[^/]*/|#!#{release_path}/|'"`,
      "      end",
      "    end",
      "  end",
      "",
      "  task :migrate do",
      "    on roles(:db) do",
      `      execute :runuser, "-u", "${app}", "--", "env", "FAWKES_RELEASE_DIR=#{release_path}", "/usr/local/lib/fawkes/fawkes-exec", "${app}", "python", "manage.py", "migrate", "--noinput"`,
      "    end",
      "  end",
      "",
      "  task :restart do",
      "    on roles(:app) do",
      `      execute :supervisorctl, "restart", "${program}"`,
      "    end",
      "  end",
      "end",
      "",
      `after "deploy:updated", "${app}:venv"`,
      `after "${app}:venv", "${app}:migrate"`,
      `after "deploy:publishing", "${app}:restart"`,
      "",
    ].join("\n"),
  };
}

/** Writes the Capistrano project into the host. */
export function putCapistranoProject(host: ToolHost, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) putFile(host, `${CAP_DIR}/${path}`, content);
}

/** The artifact store as the local target mounts it in a host. */
const STORE_IN_HOST = "/var/lib/fawkes/store";

/**
 * The "repository": a commit per release of the app, each the built artifact's tree (source,
 * static files, venv, wheelhouse) as `fawkes build` made it, in a bare repository in the host.
 * Made in the host with its own git (the overlay is mounted in the host's mount namespace only).
 * `push(n)` moves its master to the n-th release, as a developer's push would.
 */
export async function artifactRepository(host: ToolHost, app: string, releases: readonly string[]): Promise<{ push(n: number): Promise<void> }> {
  const work = `${BENCH_DIR}/${app}-work`;
  const script = putFile(
    host,
    `${BENCH_DIR}/make-repository.sh`,
    [
      "set -euo pipefail",
      `rm -rf ${work} ${REPO} && mkdir -p ${work} && cd ${work}`,
      "git init -q -b master",
      `for release in ${releases.join(" ")}; do`,
      "  find . -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +",
      `  tar -xzf ${STORE_IN_HOST}/${app}/$release.tar.gz --no-same-owner`,
      '  # -f: the venv carries a .gitignore of "*" (python -m venv writes one); the tree is shipped whole.',
      "  git add -A -f .",
      '  git -c user.name="fawkes bench" -c user.email=bench@fawkes.test commit -q -m "release $release"',
      "  git rev-parse HEAD",
      "done",
      `git init -q --bare -b master ${REPO}`,
      "",
    ].join("\n"),
  );
  const made = await inHost(host.init, ["bash", script], { timeoutMs: 300_000 });
  if (made.exitCode !== 0) throw new Error(`capistrano: making the repository failed:\n${made.all}`);
  const commits = made.stdout.trim().split("\n");
  return {
    push: async (n) => {
      const r = await inHost(host.init, ["git", "-C", work, "push", "-q", "--force", REPO, `${commits[n]!}:refs/heads/master`]);
      if (r.exitCode !== 0) throw new Error(`capistrano: git push of release ${releases[n]} failed:\n${r.all}`);
    },
  };
}

/** `cap production deploy` in the host, as the shell of a deploy would run it. */
export function capDeployArgv(): string[] {
  return ["sh", "-c", `cd ${CAP_DIR} && exec env LC_ALL=C.UTF-8 cap production deploy`];
}

/** Seconds of one task's command in Airbrussh's log ("✔ 01 root@localhost 3.456s" after the task's header). */
export function taskSeconds(output: string, task: string): number | undefined {
  const at = output.indexOf(` ${task}\n`);
  if (at < 0) return undefined;
  const m = /✔ \d+ \S+ ([\d.]+)s/.exec(output.slice(at));
  return m ? Number(m[1]) : undefined;
}

/** The blog's gunicorn master in a host: the one of its processes whose parent is not one of them. */
function gunicornMaster(host: ToolHost, app: string): number | undefined {
  const procs = hostProcesses(host.merged).filter((p) => p.cmdline.includes(`/etc/fawkes/apps/${app}/gunicorn.conf.py`));
  return procs.find((p) => !procs.some((q) => q.pid === p.ppid))?.pid;
}

export interface CapistranoTarget {
  host: ToolHost;
  version: string;
  /** The HAProxy in front of it: 127.0.0.1:port, Host-header routing as the stack's. */
  port: number;
  /** Takes the host out of (false) or back into (true) its HAProxy: out while fawkes is measured. */
  inRotation(on: boolean): Promise<void>;
  /** A deploy of the next release under load, to the new release answering through HAProxy. */
  deployUnderLoad(load: (port: number) => LoadOptions): Promise<CapistranoDeploy>;
}

export interface CapistranoDeploy {
  /** `cap production deploy`, its restart task included. */
  capSeconds: number;
  restartSeconds?: number;
  migrateSeconds?: number;
  /** From its start to the new gunicorn answering through HAProxy, its server UP in every backend. */
  liveSeconds: number;
  load: LoadReport;
}

/**
 * Boots the Capistrano host from `spec`'s web user-data (it serves `releases[0]` as fawkes booted
 * it), behind an HAProxy of its own, with the repository holding both releases; deploys
 * `releases[0]` once by Capistrano (not timed: its mirror cloned, Ruby and the page cache warm),
 * then points master at `releases[1]` for the timed deploy.
 */
export async function prepareCapistrano(spec: EnvironmentSpec, image: GoldenImage, subnet: string, app: string, releases: readonly [string, string]): Promise<CapistranoTarget> {
  const env = await envOf(spec);
  const host = await bootToolHost(spec, image, subnet, "capistrano");
  const plan = env.plan.hosts.find((h) => h.role === "web")!.apps.find((a) => a.name === app)!;
  const program = plan.processes.find((p) => p.kind === "gunicorn")!.program;
  putCapistranoProject(host, capistranoProject(app, program, plan.shared));
  const repo = await artifactRepository(host, app, releases);
  await repo.push(0);
  const warm = await inHost(host.init, capDeployArgv(), { timeoutMs: 300_000 });
  if (warm.exitCode !== 0) throw new Error(`capistrano: the first deploy failed (exit ${warm.exitCode}):\n${(warm.all ?? "").split("\n").slice(-25).join("\n")}`);
  await repo.push(1);

  const dir = join(env.layout.dir, "capistrano-haproxy");
  const paths = haproxyPaths(dir);
  let port = 18_400;
  while (!(await portFree(port))) port++;
  const addresses = serverAddressFile(dir);
  writeHaproxyFiles({ [addresses]: renderServerAddresses([host.slot]) });
  await startOrReloadHaproxy(paths, renderHaproxyConfig({ plan: env.plan, slots: [host.slot], port, socket: paths.socket, addresses }));
  const front = { ...env, layout: { ...env.layout, haproxyDir: dir } };
  await putInRotation(front, host.slot.name);
  const backends = servedBackends(env.plan);
  const upEverywhere = async () => (await serverStats(paths.socket)).filter((r) => r.server === host.slot.name && backends.includes(r.backend)).every((r) => r.status === "UP");

  return {
    host,
    version: await toolVersion(host, "capistrano"),
    port,
    inRotation: async (on) => (on ? putInRotation(front, host.slot.name) : setHostState(paths.socket, backends, host.slot.name, "maint")),
    deployUnderLoad: async (load) => {
      const before = gunicornMaster(host, app);
      const traffic = startLoad(load(port));
      const t0 = performance.now();
      const r = await inHost(host.init, capDeployArgv(), { timeoutMs: 300_000 });
      const capSeconds = (performance.now() - t0) / 1000;
      const output = r.all ?? "";
      const live = async () => {
        const master = gunicornMaster(host, app);
        return master !== undefined && master !== before && (await upEverywhere()) && (await httpStatus("127.0.0.1", port, plan.health.path, plan.hostnames[0]!, 1000)).status === 200;
      };
      for (let waited = 0; r.exitCode === 0 && !(await live()); waited += 50) {
        if (waited >= 30_000) break;
        await sleep(50);
      }
      const liveSeconds = (performance.now() - t0) / 1000;
      const report = await traffic.stop();
      if (r.exitCode !== 0) throw new Error(`capistrano: the deploy failed (exit ${r.exitCode}):\n${output.split("\n").slice(-25).join("\n")}`);
      if (!(await live())) throw new Error("capistrano: 30 s after the deploy the new release does not answer through HAProxy");
      return { capSeconds, restartSeconds: taskSeconds(output, `${app}:restart`), migrateSeconds: taskSeconds(output, `${app}:migrate`), liveSeconds, load: report };
    },
  };
}
