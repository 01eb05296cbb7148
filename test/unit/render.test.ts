// The files a host boots from, checked on what matters: shutdown order, timeouts, isolation,
// which role gets which file, and that secrets stay names.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { planEnvironment, type HostPlan } from "../../src/model/index.ts";
import { appEnvFile } from "../../src/render/app-files.ts";
import { renderHostImage, type HostImage } from "../../src/render/index.ts";
import { testSumsOfHost } from "../helpers/release-sums.ts";

const ROOT = join(import.meta.dirname, "../..");

function hosts(stack: string): Array<{ plan: HostPlan; image: HostImage }> {
  return planEnvironment(loadStack(ROOT, stack)).hosts.map((plan) => ({ plan, image: renderHostImage(plan, testSumsOfHost(plan)) }));
}

const all = ["dev", "production"].flatMap(hosts);
const dev = hosts("dev");
const devWeb = dev.find((h) => h.plan.role === "web")!;
const devWorker = dev.find((h) => h.plan.role === "worker")!;

function file(image: HostImage, path: string): string {
  const f = image.files.find((x) => x.path === path);
  if (!f) throw new Error(`${image.stack}/${image.role}: no file ${path}`);
  return f.content;
}

/** `key = value` (gunicorn) or `key=value` (supervisord) or `key value;` (nginx), as a number. */
function setting(text: string, pattern: RegExp): number {
  const m = pattern.exec(text);
  if (!m) throw new Error(`no match for ${pattern} in:\n${text}`);
  return Number(m[1]);
}

describe("supervisord programs", () => {
  it("gives every process of every app its own program file", () => {
    for (const { plan, image } of all) {
      const programs = image.files.filter((f) => f.path.startsWith("/etc/supervisor/conf.d/")).map((f) => f.path);
      const expected = plan.apps.flatMap((a) => a.processes.map((p) => `/etc/supervisor/conf.d/${a.name}-${p.name}.conf`));
      expect(programs.sort()).toEqual(expected.sort());
      for (const path of expected) expect(file(image, path)).toMatch(/^\[program:[a-z0-9-]+\]$/m);
    }
  });

  it("waits longer than gunicorn's graceful timeout and stops the whole process group", () => {
    for (const { plan, image } of all) {
      for (const app of plan.apps) {
        for (const p of app.processes) {
          const conf = file(image, `/etc/supervisor/conf.d/${p.program}.conf`);
          expect(conf).toMatch(/^stopsignal=TERM$/m);
          expect(conf).toMatch(/^stopasgroup=true$/m);
          expect(conf).toMatch(/^killasgroup=true$/m);
          const stopWait = setting(conf, /^stopwaitsecs=(\d+)$/m);
          if (app.gunicorn && plan.role === "web") {
            const graceful = setting(file(image, `${app.paths.config}/gunicorn.conf.py`), /^graceful_timeout = (\d+)$/m);
            expect(stopWait).toBeGreaterThan(graceful);
          }
          expect(setting(conf, /^startsecs=(\d+)$/m)).toBe(p.startSecs);
        }
      }
    }
  });

  it("runs each command as the app's user, through fawkes-exec, from the current release", () => {
    const conf = file(devWeb.image, "/etc/supervisor/conf.d/shop-web.conf");
    expect(conf).toContain("command=/usr/local/lib/fawkes/fawkes-exec shop gunicorn --config /etc/fawkes/apps/shop/gunicorn.conf.py shop.app:app\n");
    expect(conf).toMatch(/^user=shop$/m);
    expect(conf).toMatch(/^directory=\/srv\/apps\/shop\/current$/m);
    expect(conf).toMatch(/^environment=HOME="\/srv\/apps\/shop",USER="shop"$/m);
    expect(conf).toMatch(/^stdout_logfile=\/var\/log\/fawkes\/shop\/web\.log$/m);
    const mailer = file(devWorker.image, "/etc/supervisor/conf.d/shop-mailer.conf");
    expect(mailer).toContain("command=/usr/local/lib/fawkes/fawkes-exec shop /bin/sh -c 'exec python -m shop.worker'\n");
  });
});

describe("gunicorn and nginx", () => {
  it("keeps connections open longer than the load balancer does, in gunicorn and in nginx", () => {
    for (const { plan, image } of all.filter((h) => h.plan.role === "web")) {
      for (const app of plan.apps.filter((a) => a.gunicorn)) {
        const gunicorn = file(image, `${app.paths.config}/gunicorn.conf.py`);
        const nginx = file(image, `/etc/nginx/sites-enabled/${app.name}.conf`);
        expect(setting(gunicorn, /^keepalive = (\d+)$/m)).toBeGreaterThan(plan.loadBalancerIdleTimeout);
        expect(setting(nginx, /^\s*keepalive_timeout (\d+)s;$/m)).toBeGreaterThan(plan.loadBalancerIdleTimeout);
        // nginx waits for gunicorn a little longer than gunicorn's own request timeout.
        expect(setting(nginx, /^\s*proxy_read_timeout (\d+)s;$/m)).toBeGreaterThan(setting(gunicorn, /^timeout = (\d+)$/m));
      }
    }
  });

  it("preloads each app in gunicorn's master unless the catalogue turns it off", () => {
    for (const app of devWeb.plan.apps.filter((a) => a.gunicorn)) {
      expect(app.gunicorn!.preloadApp).toBe(true);
      expect(file(devWeb.image, `${app.paths.config}/gunicorn.conf.py`)).toMatch(/^preload_app = True$/m);
    }
    const off = { ...devWeb.plan, apps: devWeb.plan.apps.map((a) => (a.gunicorn ? { ...a, gunicorn: { ...a.gunicorn, preloadApp: false } } : a)) };
    expect(file(renderHostImage(off, testSumsOfHost(off)), "/etc/fawkes/apps/blog/gunicorn.conf.py")).toMatch(/^preload_app = False$/m);
  });

  it("binds gunicorn to the app's socket in the foreground, and points nginx at it", () => {
    const gunicorn = file(devWeb.image, "/etc/fawkes/apps/blog/gunicorn.conf.py");
    expect(gunicorn).toMatch(/^bind = "unix:\/run\/fawkes\/blog\/gunicorn\.sock"$/m);
    expect(gunicorn).toMatch(/^daemon = False$/m);
    expect(gunicorn).toMatch(/^worker_tmp_dir = "\/dev\/shm"$/m);
    expect(gunicorn).toMatch(/^umask = 0o000$/m);
    const nginx = file(devWeb.image, "/etc/nginx/sites-enabled/blog.conf");
    expect(nginx).toContain("server unix:/run/fawkes/blog/gunicorn.sock fail_timeout=0;");
    expect(nginx).toMatch(/^\s*listen 8002;$/m);
    expect(nginx).toMatch(/^\s*server_name blog\.dev\.fawkes\.test www\.dev\.fawkes\.test;$/m);
    expect(nginx).toMatch(/^\s*proxy_buffering on;$/m);
    for (const header of ["Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP"]) expect(nginx).toContain(`proxy_set_header ${header} `);
  });

  it("serves static from the release, media from shared storage, health through gunicorn", () => {
    const nginx = file(devWeb.image, "/etc/nginx/sites-enabled/blog.conf");
    // A link in static or media files leads only to a file of the link's owner (the app's).
    expect(nginx).toMatch(/location \/static\/ \{\n\s+alias \/srv\/apps\/blog\/current\/staticfiles\/;\n\s+disable_symlinks if_not_owner from=\/srv\/apps\/blog\/current\/staticfiles;\n\s+expires 30d;/);
    expect(nginx).toMatch(/location \/media\/ \{\n\s+alias \/srv\/apps\/blog\/shared\/media\/;\n\s+disable_symlinks if_not_owner from=\/srv\/apps\/blog\/shared\/media;/);
    expect(nginx).toMatch(/location = \/healthz\/ \{\n\s+proxy_pass http:\/\/fawkes_blog;/);
    const shop = file(devWeb.image, "/etc/nginx/sites-enabled/shop.conf");
    expect(shop).not.toContain("location /static/");
    expect(shop).not.toContain("location /media/");
  });

  it("answers the health path under the app's first name whatever Host the checker sent (the ALB sends the host's address)", () => {
    for (const [app, path, host] of [["blog", "/healthz/", "blog.dev.fawkes.test"], ["shop", "/healthz", "shop.dev.fawkes.test"]] as const) {
      const nginx = file(devWeb.image, `/etc/nginx/sites-enabled/${app}.conf`);
      const health = new RegExp(`location = ${path.replace(/\//g, "\\/")} \\{\\n([^}]*)\\}`).exec(nginx)?.[1] ?? "";
      expect(health).toContain(`proxy_set_header Host ${host};`);
      // A proxy_set_header in a location drops the server's: the others must be repeated there.
      for (const header of ["X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP"]) expect(health).toContain(`proxy_set_header ${header} `);
      // Every other request keeps the Host the client sent.
      expect(nginx).toMatch(/^ {4}proxy_set_header Host \$host;$/m);
    }
  });

  it("keeps a health checker's requests to the health path out of nginx's access log, and no one else's", () => {
    for (const [app, path] of [["blog", "/healthz/"], ["shop", "/healthz"]] as const) {
      const nginx = file(devWeb.image, `/etc/nginx/sites-enabled/${app}.conf`);
      // The checkers by their User-Agent: the ALB's and fawkes' own.
      expect(nginx).toContain(`map $http_user_agent $fawkes_${app}_loggable {\n    "~^ELB-HealthChecker/" 0;\n    "~^fawkes-health/" 0;\n    default 1;\n}\n`);
      const health = new RegExp(`location = ${path.replace(/\//g, "\\/")} \\{\\n([^}]*)\\}`).exec(nginx)?.[1] ?? "";
      expect(health).toContain(`access_log /var/log/fawkes/${app}/nginx-access.log combined if=$fawkes_${app}_loggable;`);
      expect(health).not.toContain("access_log off");
      // Every other location logs every request, as the server does.
      expect(nginx).toMatch(new RegExp(`^ {4}access_log /var/log/fawkes/${app}/nginx-access\\.log;$`, "m"));
      expect(nginx.match(/if=\$/g)).toHaveLength(1);
    }
  });

  it("keeps a health checker's requests to the health path out of gunicorn's access log with a logger class of its own", () => {
    for (const [app, path] of [["blog", "/healthz/"], ["shop", "/healthz"]] as const) {
      const gunicorn = file(devWeb.image, `/etc/fawkes/apps/${app}/gunicorn.conf.py`);
      expect(gunicorn).toMatch(/^accesslog = "-"$/m);
      expect(gunicorn).toMatch(/^logger_class = _health_checks_unlogged\(\)$/m);
      expect(gunicorn).toMatch(/^ {4}class HealthChecksUnlogged\(Logger\):$/m);
      expect(gunicorn).toContain(`\nHEALTH_CHECK_PATH = "${path}"\nHEALTH_CHECKERS = ("ELB-HealthChecker/", "fawkes-health/",)\n`);
    }
  });

  it("gives worker hosts no nginx site and no gunicorn settings", () => {
    for (const { image } of all.filter((h) => h.plan.role === "worker")) {
      expect(image.files.filter((f) => f.path.startsWith("/etc/nginx/") || f.path.endsWith("gunicorn.conf.py"))).toEqual([]);
      expect(file(image, "/usr/local/sbin/fawkes-bootstrap")).toMatch(/^readonly ROLE=worker$/m);
    }
  });
});

describe("environment and secrets", () => {
  it("writes the plain env sorted, with fawkes' own variables", () => {
    const env = file(devWeb.image, "/etc/fawkes/apps/shop/app.env");
    const assignments = env.split("\n").filter((l) => /^[A-Z]/.test(l));
    expect(assignments).toEqual(["FAWKES_APP=shop", "FAWKES_HOSTS=shop.dev.fawkes.test,shop.dev.localhost", `FAWKES_RELEASE=${devWeb.plan.apps[0]!.release}`, "FAWKES_STACK=dev", "SHOP_DATA_DIR=data"]);
  });

  it("carries secrets only as names, and never writes the secrets file from user-data", () => {
    for (const { plan, image } of all) {
      for (const app of plan.apps) {
        expect(image.files.map((f) => f.path)).not.toContain(app.paths.secretsEnv);
        for (const name of app.secrets) {
          for (const f of image.files) expect(f.content).not.toMatch(new RegExp(`^\\s*(export\\s+)?${name}=`, "m"));
          expect(file(image, "/usr/local/sbin/fawkes-bootstrap")).toMatch(new RegExp(`SECRET_NAMES=\\([^)]*\\b${name}\\b`));
        }
      }
    }
  });

  it("quotes env values so that bash reads them back unchanged", () => {
    const app = { ...devWeb.plan.apps[0]!, env: { GREETING: "it's $HOME; `x`", PLAIN: "a/b:c" } };
    const content = appEnvFile(devWeb.plan, app).content;
    expect(content).toContain(`GREETING='it'\\''s $HOME; \`x\`'\n`);
    expect(content).toContain("PLAIN=a/b:c\n");
  });
});

describe("bootstrap and exec wrapper", () => {
  it("fails loudly, records the failing step, and chooses the adapter from the platform", () => {
    const script = file(devWeb.image, "/usr/local/sbin/fawkes-bootstrap");
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
    expect(script).toMatch(/^set -euo pipefail$/m);
    expect(script).toMatch(/^trap 'fail \$\?' ERR$/m);
    expect(script).toContain('>"$STATE/bootstrap.failed"');
    expect(script).toContain('>"$STATE/bootstrap.done"');
    expect(script).toContain("platform=$(cloud_platform)");
    expect(script).toMatch(/^ {4}ec2\) TARGET=aws ;;$/m);
    expect(script).toMatch(/^ {4}nocloud\) TARGET=local ;;$/m);
    expect(script).toContain(`print(json.load(open(sys.argv[1]))["v1"][sys.argv[2]])' "$INSTANCE_DATA" "$1"`);
    // Releases are fetched by key through the same store_get as the stage-1 script's bundle.
    expect(script).toContain('"${TARGET}_store_get" "$app/$release.$ext" "$dest/$release.$ext"');
    for (const fn of ["store_get", "secrets_fetch", "shared_mount", "lock_run"]) {
      expect(script).toMatch(new RegExp(`^aws_${fn}\\(\\) \\{$`, "m"));
      expect(script).toMatch(new RegExp(`^local_${fn}\\(\\) \\{$`, "m"));
    }
  });

  it("mounts EFS on AWS with the image's own tools, over TLS, and writes it to /etc/fstab so that a reboot mounts it again", () => {
    const script = file(devWeb.image, "/usr/local/sbin/fawkes-bootstrap");
    const mount = script.slice(script.indexOf("aws_efs_tunnel() {"), script.indexOf("\n}\n", script.indexOf("aws_shared_mount() {")));
    // No EFS mount helper: Debian does not package amazon-efs-utils, so the image cannot have it.
    expect(script).not.toMatch(/mount\.efs|-t efs|accesspoint=/);
    expect(script).toContain("ADAPTER_PACKAGES=(awscli nfs-common stunnel4)");
    // stunnel: TLS 1.2 or later to the file system's own name on 2049, its certificate checked.
    for (const line of ['"client = yes"', '"connect = $name:2049"', '"sslVersionMin = TLSv1.2"', '"verifyChain = yes"', '"checkHost = $name"']) expect(mount).toContain(line);
    expect(mount).toContain('name="$fs.efs.$AWS_DEFAULT_REGION.amazonaws.com"');
    expect(mount).toContain('systemctl enable --now "stunnel@$EFS_TUNNEL.service"');
    // NFSv4.1 through the tunnel, in /etc/fstab with _netdev and the tunnel's unit first.
    expect(mount).toContain('line="127.0.0.1:/apps/$app $dir nfs4 $EFS_NFS_OPTIONS,port=$EFS_TUNNEL_PORT,_netdev,x-systemd.requires=stunnel@$EFS_TUNNEL.service 0 0"');
    expect(mount).toContain('>>/etc/fstab');
    expect(mount).toContain('mount "$dir"');
    expect(script).toContain("readonly EFS_NFS_OPTIONS=nfsvers=4.1,");
    // The app owns its own dir, never /apps; a link planted there is refused, never followed.
    expect(mount).toContain('install -d -o root -g root -m 0755 "$root/apps"');
    expect(mount).toContain('[[ -L $root/apps/$app ]] && die');
  });

  it("names the stores, the recipe's packages and each app's release, paths and hooks", () => {
    const script = file(devWeb.image, "/usr/local/sbin/fawkes-bootstrap");
    const { stores, image } = devWeb.plan;
    expect(script).toContain(`readonly ARTIFACT_BUCKET=${stores.artifactBucket}\n`);
    expect(script).toContain(`readonly PARAMETER_PREFIX=${stores.parameterPrefix}\n`);
    expect(script).toContain(`readonly LOCK_TABLE=${stores.lockTable}\n`);
    expect(script).toContain(`readonly LOCK_KEY=${stores.lockKey}\n`);
    expect(script).toContain(`readonly RECIPE_HASH=${image.recipeHash}\n`);
    expect(script).toContain(`readonly -a PACKAGES=(${image.packages.join(" ")})\n`);
    // Only release hooks run on hosts; build hooks (collectstatic) ran when the artifact was built.
    expect(script).toContain("HOOKS=('python manage.py migrate --noinput')");
    expect(script).not.toContain("collectstatic");
    expect(script).toContain(`APP=blog APP_UID=37521 APP_GID=37521 RELEASE=${devWeb.plan.apps[1]!.release}`);
    expect(script).toContain("PORT=8002 HEALTH_PATH=/healthz/ HEALTH_WAIT_SECONDS=");
    expect(file(devWorker.image, "/usr/local/sbin/fawkes-bootstrap")).toContain("PORT='' HEALTH_PATH='' HEALTH_WAIT_SECONDS=");
  });

  it("lets fawkes-exec run only the host's apps, each from its current release", () => {
    const exec = file(devWeb.image, "/usr/local/lib/fawkes/fawkes-exec");
    expect(exec).toMatch(/^ {2}shop\)\n\s+env_file=\/etc\/fawkes\/apps\/shop\/app\.env$/m);
    expect(exec).toContain("release_dir=/srv/apps/blog/current\n");
    expect(exec).toMatch(/^exec "\$@"$/m);
    expect(file(devWorker.image, "/usr/local/lib/fawkes/fawkes-exec")).not.toContain("blog");
  });
});
