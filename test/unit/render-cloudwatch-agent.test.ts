// The CloudWatch agent's configuration in every host image: which files go to which log group,
// one stream per instance, and a record-start pattern that keeps each traceback in one event.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { parseTracebacks } from "../../src/errors/traceback.ts";
import { appLogGroup, hostLogGroup, planEnvironment } from "../../src/model/index.ts";
import { CLOUDWATCH_AGENT_CONFIG_PATH, cloudWatchLogGroups, RECORD_START_PATTERN, type HostImage } from "../../src/render/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";
import { CHAINED, DJANGO, flaskTraceback, GUNICORN, recursion, SYNTAX } from "./errors-fixtures.ts";

const ROOT = join(import.meta.dirname, "../..");
const STACKS = ["dev", "production", "staging", "qa"];

interface Entry {
  file_path: string;
  log_group_name: string;
  log_stream_name: string;
  multi_line_start_pattern?: string;
  timestamp_format?: string;
}

const images = new Map<string, HostImage>();
const hosts = STACKS.flatMap((stack) => {
  const spec = loadStack(ROOT, stack);
  const plan = planEnvironment(spec);
  const rendered = renderWithTestArtifacts(plan);
  for (const image of rendered) images.set(`${stack}/${image.role}`, image);
  return plan.hosts.map((host, i) => ({ name: `${stack}/${host.role}`, spec, host, file: rendered[i]!.files.find((f) => f.path === CLOUDWATCH_AGENT_CONFIG_PATH)! }));
});

describe("the CloudWatch agent's configuration", () => {
  it.each(hosts.map((h) => [h.name, h] as const))("%s: every process log of every app on the host to its app's group, the host's logs to its role's", (_, { spec, host, file }) => {
    expect(file).toMatchObject({ mode: "0644", owner: "root:root" });
    const config = JSON.parse(file.content);
    expect(Object.keys(config).sort()).toEqual(["agent", "logs"]);
    expect(config.agent).toEqual({ run_as_user: "root" });
    const entries: Entry[] = config.logs.logs_collected.files.collect_list;
    expect(entries).toEqual([
      ...["/var/log/cloud-init-output.log", "/var/log/fawkes/bootstrap.log", "/var/log/supervisor/supervisord.log"].map((f) => ({
        file_path: f,
        log_group_name: hostLogGroup(spec, host.role),
        log_stream_name: "{instance_id}",
      })),
      ...host.apps.flatMap((app) => [
        ...app.processes.map((p) => ({ file_path: p.logFile, log_group_name: appLogGroup(spec, app.name), log_stream_name: "{instance_id}", multi_line_start_pattern: RECORD_START_PATTERN })),
        // nginx's own logs, where it serves the app: a record per line.
        ...(host.role === "web" && app.gunicorn
          ? ["nginx-access", "nginx-error"].map((n) => ({ file_path: `/var/log/fawkes/${app.name}/${n}.log`, log_group_name: appLogGroup(spec, app.name), log_stream_name: "{instance_id}" }))
          : []),
      ]),
    ]);
    if (host.role === "web") expect(entries.some((e) => e.file_path.endsWith("/nginx-access.log"))).toBe(true);
    // The apps of this role and no other: what its instance role may write to.
    const appGroups = entries.filter((e) => e.log_group_name.includes("/apps/")).map((e) => e.log_group_name);
    expect([...new Set(appGroups)]).toEqual(host.apps.map((a) => `/${spec.project}/${spec.stack}/apps/${a.name}`));
    expect(cloudWatchLogGroups(host)).toEqual([hostLogGroup(spec, host.role), ...host.apps.map((a) => appLogGroup(spec, a.name))]);
    // Each file is named, never globbed, and lives where supervisord writes it.
    for (const e of entries) expect(e.file_path).toMatch(/^\/var\/log\/[^*?[]+\.log$/);
    for (const app of host.apps) for (const p of app.processes) expect(p.logFile).toBe(`/var/log/fawkes/${app.name}/${p.name}.log`);
    // Where the rendered programs and sites write them.
    const written = images.get(`${spec.stack}/${host.role}`)!.files.map((f) => f.content).join("\n");
    for (const e of entries.filter((x) => x.log_group_name.includes("/apps/"))) expect(written).toMatch(new RegExp(`(stdout_logfile=|_log )${e.file_path.replace(/[.]/g, "\\.")}\\b`));
    // One file mixes formats: the agent stamps events with the time it read them.
    for (const e of entries) expect(e.timestamp_format).toBeUndefined();
  });

  it("is compact JSON on one line (it travels in user-data)", () => {
    for (const { file } of hosts) {
      expect(file.content).toBe(`${JSON.stringify(JSON.parse(file.content))}\n`);
      expect(file.content.trimEnd()).not.toContain("\n");
    }
  });

  it("is read by the AWS adapter only: the bootstrap names the file and the local adapter ships nothing", () => {
    const image = renderWithTestArtifacts(planEnvironment(loadStack(ROOT, "dev")))[0]!;
    const bootstrap = image.files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content;
    expect(bootstrap).toContain(`readonly CLOUDWATCH_AGENT_CONFIG=${CLOUDWATCH_AGENT_CONFIG_PATH}`);
    expect(bootstrap).toContain('"$CLOUDWATCH_AGENT_CTL" -a fetch-config -m ec2 -c "file:$CLOUDWATCH_AGENT_CONFIG" -s');
    expect(bootstrap).toMatch(/log "warning: \$CLOUDWATCH_AGENT_CTL missing: the AMI must carry amazon-cloudwatch-agent/);
    expect(bootstrap).toContain("local_logs_ship() { :; }");
    // Before packages and apps: a bootstrap that fails later still ships its own log.
    expect(bootstrap.indexOf("  logs_ship\n")).toBeLessThan(bootstrap.indexOf("  ensure_packages\n"));
    expect(bootstrap.indexOf("  logs_ship\n")).toBeGreaterThan(bootstrap.indexOf("  select_target\n"));
  });
});

describe("the record-start pattern", () => {
  const start = new RegExp(RECORD_START_PATTERN);

  it("starts a record at each log format the apps write", () => {
    for (const line of [
      "[2026-11-23 10:15:02,118] ERROR in app: Exception on /boom/3 [GET]",
      "[2026-11-23 10:30:00 +0000] [812] [ERROR] Error handling request /orders",
      "2026-11-23 10:30:00,412 shop.worker INFO took job 7",
      "2026-11-23T10:30:00.412Z fawkes-bootstrap [packages] begin",
      '10.231.7.1 - - [23/Nov/2026:10:20:41 +0000] "GET /posts/17/ HTTP/1.0" 500 145 "-" "curl/7.88.1"',
      "ERROR:django.request:Internal Server Error: /posts/17/",
    ]) {
      expect(line).toMatch(start);
    }
  });

  it("never starts one inside a traceback", () => {
    for (const line of [
      "Traceback (most recent call last):",
      '  File "/srv/apps/shop/current/shop/app.py", line 101, in boom',
      "    raise FawkesTestError(msg)",
      "               ^^^^^^^^^^^^",
      "shop.app.FawkesTestError: request 3 failed on purpose",
      "ValueError: invalid literal for int() with base 10: 'abc'",
      "KeyError: 'fallback'",
      "posts.models.Post.DoesNotExist: Post matching query does not exist.",
      "During handling of the above exception, another exception occurred:",
      "The above exception was the direct cause of the following exception:",
      "",
    ]) {
      expect(line).not.toMatch(start);
    }
  });

  it("cuts the fixtures' logs into events that each hold whole tracebacks, grouped as the whole log is", () => {
    const log = [flaskTraceback(), DJANGO, GUNICORN, `[2026-11-23 10:31:00,000] ERROR in app: chained\n${CHAINED}`, `[2026-11-23 10:32:00,000] ERROR in app: syntax\n${SYNTAX}`, `[2026-11-23 10:33:00,000] ERROR in app: deep\n${recursion(3)}`].join("");
    const events: string[] = [];
    for (const line of log.replace(/\n$/, "").split("\n")) {
      if (events.length === 0 || start.test(line)) events.push(line);
      else events[events.length - 1] += `\n${line}`;
    }
    const whole = parseTracebacks(log);
    const split = events.flatMap((e) => parseTracebacks(e));
    expect(whole.length).toBeGreaterThanOrEqual(6);
    expect(split.every((t) => t.complete)).toBe(true);
    expect(split.map((t) => [t.type, t.message, t.lines])).toEqual(whole.map((t) => [t.type, t.message, t.lines]));
  });
});
