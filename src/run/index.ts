// src/run: `fawkes run APP -- CMD...`, a one-off command as one of the app's processes (its user,
// environment, secrets, venv and current release, through fawkes-exec) on a host of the stack:
// locally through the host's namespaces, on AWS through Run Command. Recorded in the history.
export { appProcessArgv, chooseHost, rolesOf, RUN_FAILED, runCommandLine, RunError, type RunHost, type RunRequest, type RunTarget } from "./plan.ts";
export { localRun, localRunHosts, PTY_RELAY, type RunStdio } from "./local.ts";
export { awsRunHosts, groupNameOf } from "./aws-hosts.ts";
export { awsRun, EXECUTION_SECONDS, MAX_STDIN_BYTES, READBACK_BYTES, RUN_DOCUMENT, type AwsRunDeps, type AwsRunIo } from "./aws.ts";
export { firstPart, partScript, partsToRead, RUNS_DIR, runScript } from "./remote.ts";
export { recordedRun, runEntry, type RunOutcome } from "./record.ts";
