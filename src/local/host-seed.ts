// What a local host boots from, beside the user-data: the NoCloud seed, the local target's own
// cloud.cfg and pid 1 (cloud-init's single process, its stages released as Debian's units do).
import type { HostSlot } from "./layout.ts";

/** cloud-init settings of the local target only: the user-data stays byte for byte the AWS one. */
export const LOCAL_CLOUD_CFG = `# fawkes local target: a NoCloud seed, and only the modules that work (and matter) in a
# local host (its own namespaces); locale, ssh keys, growpart and resizefs have nothing to act on here.
datasource_list: [ NoCloud, None ]
cloud_init_modules: [bootcmd, write-files, set_hostname, update_hostname, update_etc_hosts, users-groups]
cloud_config_modules: [runcmd]
cloud_final_modules: [write-files-deferred, scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, final-message]
`;

/**
 * pid 1 of a local host: cloud-init's single process (`cloud-init --all-stages`, as Debian 13's
 * cloud-init-main.service starts it), each stage released in turn the way Debian's stage units do
 * it (a `start` datagram to the stage's socket, from the stage's return socket, whose answer is a
 * line of shell ending in `exit N`); then it reaps orphans until told to stop. Its boot record
 * (first line: status, start, end; then per stage: name, released, answered, exit status) is
 * written whole and renamed into place: the machine polls for it and must never read half of it.
 */
export const LOCAL_INIT = `#!/bin/bash
# fawkes local host: pid 1 in its own pid namespace.
stop() {
  kill -TERM -1 2>/dev/null
  # Up to 2 s for supervisord, nginx and the apps to stop gracefully, then the rest is killed.
  for _ in $(seq 20); do
    kill -0 -1 2>/dev/null || exit 0
    sleep 0.1
  done
  kill -KILL -1 2>/dev/null
  exit 0
}
trap stop TERM INT
mkdir -p /run/fawkes-local /run/lock
readonly LOG=/var/log/fawkes-local-boot.log SHARE=/run/cloud-init/share
start=$EPOCHREALTIME
cloud-init --all-stages </dev/null >>"$LOG" 2>&1 &
ci=$!
# Releases one stage and waits for its answer; exit status: the stage's (1 when cloud-init died first).
release() {
  local stage=$1 nc guard n
  for ((n = 0; n < 3000; n++)); do
    [[ -S $SHARE/$stage.sock ]] && break
    [[ -e /proc/$ci && $(</proc/$ci/stat) != *") Z "* ]] || break
    sleep 0.005
  done
  echo start | nc -Uu -W1 "$SHARE/$stage.sock" -s "$SHARE/$stage-return.sock" >"/run/fawkes-local/$stage.answer" 2>>"$LOG" &
  nc=$!
  wait -n "$nc" "$ci" 2>/dev/null
  if [[ -e /proc/$nc && $(</proc/$nc/stat) != *") Z "* ]]; then
    # cloud-init ended: its answer may still be on its way to nc, for at most a second.
    sleep 1 & guard=$!
    wait -n "$nc" "$guard" 2>/dev/null
    kill "$nc" "$guard" 2>/dev/null
  fi
  wait "$nc" 2>/dev/null
  [[ -s /run/fawkes-local/$stage.answer ]] || { echo "cloud-init ended before its $stage stage answered" >>"$LOG"; return 1; }
  sh "/run/fawkes-local/$stage.answer" >>"$LOG" 2>&1
}
status=0
stages=
for stage in local network config final; do
  released=$EPOCHREALTIME
  release "$stage"
  rc=$?
  ((rc == 0 || status != 0)) || status=$rc
  stages+="$stage $released $EPOCHREALTIME $rc"$'\n'
done
wait "$ci" 2>/dev/null
printf '%s %s %s\n%s' "$status" "$start" "$EPOCHREALTIME" "$stages" >/run/fawkes-local/booted.partial
mv /run/fawkes-local/booted.partial /run/fawkes-local/booted
while :; do wait -n 2>/dev/null || sleep 1; done
`;

export const INIT_PATH = "/usr/local/lib/fawkes-local/init";

export interface HostFile {
  path: string;
  content: string | Uint8Array;
  mode: number;
}

/** A local host's seed: exactly the launch template's user-data bytes, NoCloud, the local cloud.cfg and pid 1. */
export function localSeed(slot: Pick<HostSlot, "name">, userData: Uint8Array, bootId: string): HostFile[] {
  return [
    { path: "var/lib/cloud/seed/nocloud/user-data", content: userData, mode: 0o600 },
    { path: "var/lib/cloud/seed/nocloud/meta-data", content: `instance-id: ${slot.name}-${bootId}\nlocal-hostname: ${slot.name}\n`, mode: 0o600 },
    { path: "etc/cloud/cloud.cfg.d/90-fawkes-local.cfg", content: LOCAL_CLOUD_CFG, mode: 0o644 },
    { path: INIT_PATH.slice(1), content: LOCAL_INIT, mode: 0o755 },
  ];
}
