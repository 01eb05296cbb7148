// The deploy console's host on AWS (a management stack's): the #cloud-config user-data that makes
// it a systemd service running `fawkes console --target aws --auth alb` behind the stack's load balancer. Pure:
// plain values in, text out; the component calls it in an apply once the load balancer's ARN is known.
import { CONSOLE_PORT, consoleBundleKey } from "../model/index.ts";
import { cloudConfigOf, userDataBytes } from "./host-image.ts";
import { shellWord } from "./quote.ts";
import type { RenderedFile } from "./types.ts";

export interface ConsoleHostArgs {
  project: string;
  stack: string;
  region: string;
  /** The load balancer whose signed x-amzn-oidc-data header the console accepts. */
  albArn: string;
  /** The management stack's artifact bucket, which holds the console's bundle. */
  artifactBucket: string;
  /** The bundle's pinned sha256 (knob console.bundle): `console/<sha256>.tar.gz`. */
  bundleSha256: string;
  /** The IdP's claim that lists a person's groups. */
  groupsClaim: string;
  /** The stacks the console serves (console.manages), comma-separated. */
  manages: string;
}

/** The unprivileged user the console runs as; it reaches IMDS (its role's credentials), nothing is root's. */
export const CONSOLE_USER = "fawkes-console";
export const CONSOLE_SERVICE = "fawkes-console.service";
export const CONSOLE_SERVICE_PATH = `/etc/systemd/system/${CONSOLE_SERVICE}`;
export const CONSOLE_FETCH_PATH = "/usr/local/sbin/fawkes-console-fetch";
export const CONSOLE_START_PATH = "/usr/local/sbin/fawkes-console-start";
/** Where the bundle is unpacked: the project the console reads (and pins releases in). */
export const CONSOLE_PROJECT_DIR = "/srv/fawkes-console/project";
/** The console's state (audit log, history kept on the host): FAWKES_HOME. */
export const CONSOLE_HOME = "/var/lib/fawkes";

// Every value goes into a systemd unit line as it is: checked here against what AWS and the knob allow,
// so none needs quoting there (and a bug upstream fails the render, never the boot).
const SAFE: Record<keyof ConsoleHostArgs, RegExp> = {
  project: /^[a-z][a-z0-9-]{0,62}$/,
  stack: /^[a-z][a-z0-9-]{0,62}$/,
  region: /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$/,
  // The id is 16 hex digits on AWS; a preview's stand-in ARN carries more. Either is safe on a unit line.
  albArn: /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:loadbalancer\/app\/[A-Za-z0-9-]{1,32}\/[A-Za-z0-9-]{1,64}$/,
  artifactBucket: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
  bundleSha256: /^[0-9a-f]{64}$/,
  groupsClaim: /^[A-Za-z0-9_:./-]{1,128}$/,
  manages: /^[a-z][a-z0-9-]{0,62}(,[a-z][a-z0-9-]{0,62})*$/,
};

function checked(args: ConsoleHostArgs): ConsoleHostArgs {
  for (const [key, pattern] of Object.entries(SAFE) as Array<[keyof ConsoleHostArgs, RegExp]>) {
    if (!pattern.test(args[key])) throw new Error(`the console host's ${key} ${JSON.stringify(args[key])} does not match ${pattern}`);
  }
  return args;
}

/** The argv of the console as the service runs it: what the tests read back from the unit. */
export function consoleArgv(args: Pick<ConsoleHostArgs, "albArn" | "region" | "groupsClaim" | "manages">): string[] {
  return ["node", "bin/fawkes.mjs", "console", "--target", "aws", "--stacks", args.manages, "--auth", "alb", "--listen", `0.0.0.0:${CONSOLE_PORT}`, "--alb-arn", args.albArn, "--region", args.region, "--groups-claim", args.groupsClaim];
}

function serviceUnit(args: ConsoleHostArgs): string {
  return `[Unit]
Description=fawkes deploy console of ${args.project}/${args.stack}, behind its load balancer's OIDC sign-in
Wants=network-online.target
After=network-online.target
# Until the bundle is in the bucket the fetch fails: keep trying, never give up.
StartLimitIntervalSec=0

[Service]
User=${CONSOLE_USER}
Group=${CONSOLE_USER}
# Made empty at first boot; the fetch fills it before the console starts.
WorkingDirectory=${CONSOLE_PROJECT_DIR}
# As root (+): fetch the pinned bundle, check its sha256, unpack it for the console's user.
ExecStartPre=+${CONSOLE_FETCH_PATH}
ExecStart=${consoleArgv(args).join(" ")}
Environment=FAWKES_HOME=${CONSOLE_HOME}
Environment=HOME=${CONSOLE_HOME}
Environment=AWS_REGION=${args.region}
Environment=NODE_ENV=production
Restart=always
RestartSec=30
StateDirectory=fawkes
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ReadWritePaths=${CONSOLE_PROJECT_DIR}
CapabilityBoundingSet=

[Install]
WantedBy=multi-user.target
`;
}

function fetchScript(args: ConsoleHostArgs): string {
  const key = consoleBundleKey(args.bundleSha256);
  return `#!/bin/bash
# fawkes console host: the console's bundle (the project checkout with its node_modules), fetched
# from the artifact bucket by its pinned sha256, checked, and unpacked for the console's user. Run
# by ${CONSOLE_SERVICE} before the console starts; until the bundle is in the bucket it fails, and
# systemd tries again in 30 s. Rendered by fawkes; do not edit.
set -euo pipefail
readonly BUCKET=${shellWord(args.artifactBucket)}
readonly KEY=${shellWord(key)}
readonly SHA256=${shellWord(args.bundleSha256)}
readonly PROJECT=${shellWord(CONSOLE_PROJECT_DIR)}
readonly MARK=${shellWord(`${CONSOLE_PROJECT_DIR}.sha256`)}
export AWS_DEFAULT_REGION=${shellWord(args.region)}

say() { printf 'fawkes-console-fetch: %s\\n' "$*" >&2; }

# What the image must carry (docs/console.md): node 20 or later, the AWS CLI; the Pulumi CLI for releases.
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( major < 20 )); then
  say "the image has no node 20 or later (node: $(command -v node || echo none)); the console host's AMI must carry it"
  exit 1
fi
command -v aws >/dev/null || { say "the image has no AWS CLI (aws), which fetches the bundle"; exit 1; }
command -v pulumi >/dev/null || say "warning: no pulumi CLI on PATH: the console shows its environments, but a release (pulumi up) fails"

if [[ -f $MARK && $(<"$MARK") == "$SHA256" && -f $PROJECT/bin/fawkes.mjs ]]; then exit 0; fi
tmp=$(mktemp -d "$PROJECT.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! aws s3 cp --only-show-errors "s3://$BUCKET/$KEY" "$tmp/bundle.tar.gz"; then
  say "s3://$BUCKET/$KEY could not be fetched (is it uploaded? docs/console.md); trying again"
  exit 1
fi
got=$(sha256sum "$tmp/bundle.tar.gz" | cut -d' ' -f1)
if [[ $got != "$SHA256" ]]; then
  say "s3://$BUCKET/$KEY has sha256 $got, not the pinned $SHA256: refused"
  exit 1
fi
mkdir "$tmp/project"
tar -xzf "$tmp/bundle.tar.gz" -C "$tmp/project" --no-same-owner
if [[ ! -f $tmp/project/bin/fawkes.mjs ]]; then
  say "the bundle has no bin/fawkes.mjs at its top: it is not a fawkes project checkout"
  exit 1
fi
chown -R ${CONSOLE_USER}:${CONSOLE_USER} "$tmp/project"
rm -rf "$PROJECT.old"
if [[ -d $PROJECT ]]; then mv "$PROJECT" "$PROJECT.old"; fi
mv "$tmp/project" "$PROJECT"
rm -rf "$PROJECT.old"
printf '%s\\n' "$SHA256" >"$MARK"
say "unpacked $KEY into $PROJECT"
`;
}

const START_SCRIPT = `#!/bin/bash
# fawkes console host, once at first boot (cloud-init's runcmd): the console's user and dirs, then
# its service, which fetches the bundle and keeps the console running. Rendered by fawkes; do not edit.
set -euo pipefail
id -u ${CONSOLE_USER} >/dev/null 2>&1 || useradd --system --home-dir ${CONSOLE_HOME} --no-create-home --shell /usr/sbin/nologin ${CONSOLE_USER}
install -d -m 0755 -o root -g root ${CONSOLE_PROJECT_DIR.slice(0, CONSOLE_PROJECT_DIR.lastIndexOf("/"))}
# The service's working and writable dir must exist before its first start, empty until the fetch.
install -d -m 0755 -o ${CONSOLE_USER} -g ${CONSOLE_USER} ${CONSOLE_PROJECT_DIR}
systemctl daemon-reload
# Not waiting: the first fetch may find no bundle yet, and cloud-init's final stage should end.
systemctl enable --now --no-block ${CONSOLE_SERVICE}
`;

export interface ConsoleHostImage {
  files: RenderedFile[];
  /** The #cloud-config text people read. */
  userData: string;
  /** What cloud-init receives (the text; far under EC2's 16 KiB). */
  userDataBytes: Uint8Array;
}

/** The console host's files and user-data. */
export function renderConsoleHost(input: ConsoleHostArgs): ConsoleHostImage {
  const args = checked(input);
  const files: RenderedFile[] = [
    { path: CONSOLE_SERVICE_PATH, content: serviceUnit(args), mode: "0644", owner: "root:root" },
    { path: CONSOLE_FETCH_PATH, content: fetchScript(args), mode: "0755", owner: "root:root" },
    { path: CONSOLE_START_PATH, content: START_SCRIPT, mode: "0755", owner: "root:root" },
  ];
  const userData = cloudConfigOf(
    [
      `fawkes: deploy console host of ${args.project}/${args.stack}. Rendered by fawkes; do not edit.`,
      `Runs fawkes console --target aws --auth alb on port ${CONSOLE_PORT} as ${CONSOLE_USER}, from the bundle ${consoleBundleKey(args.bundleSha256)} in ${args.artifactBucket}.`,
    ],
    files,
    CONSOLE_START_PATH,
  );
  return { files, userData, userDataBytes: userDataBytes(userData) };
}
