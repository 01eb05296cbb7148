// The CloudWatch agent's configuration (AWS only): each app's log files to its log group, the
// host's own logs to its role's group, one stream per instance as `fawkes errors --target aws`
// reads them. The agent comes with the image; the AWS bootstrap starts it with this file.
import { appLogGroup, hostLogGroup, type HostPlan } from "../model/index.ts";
import { nginxLogFiles } from "./app-files.ts";
import type { RenderedFile } from "./types.ts";

/** Outside the agent's own etc/: fetch-config clears its `.d` dir, and the file exists without the agent. */
export const CLOUDWATCH_AGENT_CONFIG_PATH = "/etc/fawkes/cloudwatch-agent.json";

/**
 * A log record begins with `[` (Flask's and gunicorn's `[2026-11-23 17:39:04,311]`), a digit
 * (logging's asctime, ISO 8601, an access-log line's client address) or a level and a colon
 * (logging's default `ERROR:name:`). Traceback lines begin with none of these, so a traceback
 * stays in the event of the record that logged it. RE2 (Go): no look-around.
 */
export const RECORD_START_PATTERN = "^(\\[|[0-9]|[A-Z]+:)";

/** The host's own logs: cloud-init's output (the bootstrap's stderr), the bootstrap's log, supervisord's (Debian's path). */
export const HOST_LOG_FILES = ["/var/log/cloud-init-output.log", "/var/log/fawkes/bootstrap.log", "/var/log/supervisor/supervisord.log"] as const;

/**
 * Every log file of one app on a host: its processes' (supervisord; the multi-line ones, where
 * tracebacks are), then its nginx site's (one line per record).
 */
export function appLogFiles(plan: HostPlan, app: HostPlan["apps"][number]): Array<{ path: string; multiLine: boolean }> {
  const nginx = nginxLogFiles(plan, app);
  return [...app.processes.map((p) => ({ path: p.logFile, multiLine: true })), ...(nginx ? [nginx.accessLog, nginx.errorLog].map((path) => ({ path, multiLine: false })) : [])];
}

export interface CollectedFile {
  file_path: string;
  log_group_name: string;
  log_stream_name: string;
  multi_line_start_pattern?: string;
}

/** One entry per file, never a glob: by default the agent follows only the newest file a glob matches. */
export function collectList(plan: HostPlan): CollectedFile[] {
  const stream = "{instance_id}";
  // The host's first: an app added later appends to both this list and the role's policy.
  return [
    ...HOST_LOG_FILES.map((file) => ({ file_path: file, log_group_name: hostLogGroup(plan, plan.role), log_stream_name: stream })),
    ...plan.apps.flatMap((app) =>
      appLogFiles(plan, app).map((f) => ({
        file_path: f.path,
        log_group_name: appLogGroup(plan, app.name),
        log_stream_name: stream,
        ...(f.multiLine ? { multi_line_start_pattern: RECORD_START_PATTERN } : {}),
      })),
    ),
  ];
}

/** The log groups a host of this role writes to, each once: what its instance role may write. */
export function cloudWatchLogGroups(plan: HostPlan): string[] {
  return [...new Set(collectList(plan).map((f) => f.log_group_name))];
}

/**
 * No `timestamp_format`: one file mixes formats (Flask, gunicorn, access log), so each event keeps
 * the time the agent read it. Compact JSON: it travels in user-data (16 KiB on EC2).
 */
export function cloudWatchAgentFile(plan: HostPlan): RenderedFile {
  // root reads the apps' log dirs (0750, owned by each app's user).
  const config = { agent: { run_as_user: "root" }, logs: { logs_collected: { files: { collect_list: collectList(plan) } } } };
  return { path: CLOUDWATCH_AGENT_CONFIG_PATH, content: `${JSON.stringify(config)}\n`, mode: "0644", owner: "root:root" };
}
