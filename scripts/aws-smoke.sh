#!/usr/bin/env bash
# The AWS path end to end in a real account, as docs/aws.md ("First contact") describes it: the
# artifact store alone, the pinned releases built and pushed, the secrets, `fawkes check --target
# aws`, `pulumi up`, a release, a rollback, `qa up` and `qa down` of a branch, and the teardown.
# It prints each thing it checked and stops at the first failure. It costs money while it runs
# (an ALB, NAT gateway, RDS, EFS, EC2 hosts). Never run by the test suite: it needs an account.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/aws-smoke.sh [--stack S] [--app APP] [--ref REF] [--next-ref REF] [--branch B] [--keep]

Run from the project root, as root (fawkes build uses debootstrap), with AWS credentials of the
stack's account, the Pulumi CLI logged in to a backend, and steps 1-4 of docs/aws.md "First
contact" done for the stack (accountId, certificate or none, OIDC provider, a pinned AMI).

  --stack S        the stack brought up, released, rolled back and destroyed (default staging)
  --app APP        the app released and rolled back (default blog)
  --ref REF        the commit the stack's pins were made from: every app is built there (default HEAD~1)
  --next-ref REF   a commit where APP differs: its release is rolled out, then rolled back (default HEAD)
  --branch B       a git branch for qa up and qa down (default the current branch)
  --keep           leave the stack up at the end (no teardown)

Exit status: 0 every step passed; 1 the first step that failed is named above the exit.
EOF
}

STACK=staging
APP=blog
REF=HEAD~1
NEXT_REF=HEAD
BRANCH=""
KEEP=false
while [ $# -gt 0 ]; do
  case "$1" in
    --stack) STACK=${2:?--stack needs a value}; shift 2 ;;
    --app) APP=${2:?--app needs a value}; shift 2 ;;
    --ref) REF=${2:?--ref needs a value}; shift 2 ;;
    --next-ref) NEXT_REF=${2:?--next-ref needs a value}; shift 2 ;;
    --branch) BRANCH=${2:?--branch needs a value}; shift 2 ;;
    --keep) KEEP=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$BRANCH" ] || BRANCH=$(git rev-parse --abbrev-ref HEAD)

STEP=""
step() {
  STEP=$1
  printf '\n== %s\n' "$STEP"
}
ok() { printf 'ok   %s\n' "$*"; }
fail() {
  printf 'FAIL %s: %s\n' "$STEP" "$*" >&2
  exit 1
}
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -n "$STEP" ]; then printf 'stopped at: %s (exit %s)\n' "$STEP" "$status" >&2; fi
}
trap on_exit EXIT

fawkes() { npx --no-install fawkes "$@"; }
# fawkes' own library (ESM TypeScript through tsx), for what no command prints: CODE ARG...
lib() { node --import tsx --input-type=module -e "$1" "${@:2}"; }
# One value out of JSON on stdin: the expression is JavaScript over `j`, the parsed document.
json() { node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const j = JSON.parse(s); const v = eval("(" + process.argv[1] + ")"); process.stdout.write(typeof v === "string" ? v : JSON.stringify(v)); });' "$1"; }
# Every URL of the stack's `urls` output answers 2xx or 3xx through its load balancer.
urls_answer() {
  local stack=$1 dns urls url host code
  dns=$(pulumi stack output loadBalancerDnsName --stack "$stack")
  urls=$(pulumi stack output urls --json --stack "$stack" | json 'Object.values(j).join("\n")')
  [ -n "$urls" ] || fail "stack $stack has no urls output"
  while IFS= read -r url; do
    host=${url#*://}
    host=${host%%/*}
    # The names need no DNS record: curl reaches the load balancer under the app's host name.
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 --connect-to "$host:443:$dns:443" --connect-to "$host:80:$dns:80" "$url") || fail "$url did not answer"
    case "$code" in
      2?? | 3??) ok "$url answers $code" ;;
      *) fail "$url answers $code" ;;
    esac
  done <<<"$urls"
}
last_history() { fawkes history --stack "$STACK" --app "$APP" --limit 1 --json | json "j[0].kind + ' ' + j[0].result + ' ' + j[0].to"; }

step "tools and credentials"
for tool in aws pulumi node npx git curl; do command -v "$tool" >/dev/null || fail "$tool is not on PATH"; done
ok "aws, pulumi, node, git, curl on PATH"
who=$(aws sts get-caller-identity --query Arn --output text) || fail "aws sts get-caller-identity failed: no credentials"
ok "credentials: $who"
pulumi whoami >/dev/null || fail "pulumi whoami failed: pulumi login first"
ok "pulumi backend: $(pulumi whoami --verbose 2>/dev/null | sed -n 's/^Backend URL: //p')"
fawkes check --stack "$STACK" >/dev/null || fail "fawkes check --stack $STACK: the configuration has problems"
ok "fawkes check --stack $STACK: the configuration loads, plans and renders"

step "the artifact store alone (targeted pulumi up)"
pulumi stack select --create "$STACK" >/dev/null
targets=()
while IFS= read -r urn; do targets+=(--target "$urn"); done < <(
  lib 'const { readProject } = await import("./src/config/index.ts"); const { artifactStoreUrns } = await import("./src/qa/urns.ts"); for (const u of artifactStoreUrns(readProject(".").name, process.argv[1]).targets) console.log(u);' "$STACK"
)
[ "${#targets[@]}" -gt 0 ] || fail "no artifact store URNs"
pulumi up --stack "$STACK" --yes --non-interactive "${targets[@]}" || fail "the targeted pulumi up failed"
ok "artifact bucket of $STACK exists"

step "build and push every app at $REF"
fawkes build --all --ref "$REF" --push --stack "$STACK" || fail "fawkes build --all --ref $REF --push failed"
ok "every app built at $REF and in the bucket"

step "secrets in SSM"
missing=$(fawkes secret list --stack "$STACK" --target aws --json | json 'j.secrets.filter((s) => s.declared && !s.set).map((s) => s.app + " " + s.name).join("\n")')
while IFS=' ' read -r app name; do
  [ -n "$app" ] || continue
  fawkes secret set "$app" "$name" --stack "$STACK" --target aws --generate >/dev/null || fail "could not set $name of $app"
  ok "secret $app $name generated (set your own with fawkes secret set)"
done <<<"$missing"
ok "every declared secret of $STACK is set"

step "fawkes check --target aws before the first up"
fawkes check --target aws --stack "$STACK" || fail "the account is not ready for $STACK (each problem above with its fix; the pins must be the releases of --ref $REF)"

step "pulumi up"
pulumi up --stack "$STACK" --yes --non-interactive || fail "pulumi up failed"
ok "pulumi up of $STACK"
urls_answer "$STACK"

step "release $APP at $NEXT_REF"
next=$(fawkes build "$APP" --ref "$NEXT_REF" --push --stack "$STACK" --json | json 'j.results[0].release') || fail "fawkes build $APP --ref $NEXT_REF failed"
current=$(fawkes history --stack "$STACK" --app "$APP" --json | json 'j.length ? j[j.length - 1].to : ""')
[ "$next" != "$current" ] || fail "$APP at $NEXT_REF is the release already pinned ($next): choose a --next-ref where $APP differs"
fawkes release "$APP" "$next" --stack "$STACK" --target aws || fail "fawkes release $APP $next failed"
[ "$(last_history)" = "release succeeded $next" ] || fail "history says: $(last_history)"
ok "release $APP $next succeeded (history)"
urls_answer "$STACK"

step "rollback $APP"
fawkes rollback "$APP" --stack "$STACK" --target aws || fail "fawkes rollback $APP failed"
case "$(last_history)" in
  "rollback succeeded "*) ok "$(last_history) (history)" ;;
  *) fail "history says: $(last_history)" ;;
esac
urls_answer "$STACK"

step "qa up --branch $BRANCH"
qa=$(fawkes qa up --branch "$BRANCH" --json | json 'j.stack') || fail "fawkes qa up --branch $BRANCH failed"
ok "QA stack $qa up"
urls_answer "$qa"
fawkes qa list --json | json 'j.map((r) => r.stack).join("\n")' | grep -qx "$qa" || fail "qa list does not show $qa"
ok "qa list shows $qa"

step "qa down --branch $BRANCH"
fawkes qa down --branch "$BRANCH" || fail "fawkes qa down --branch $BRANCH failed"
if fawkes qa list --json | json 'j.map((r) => r.stack).join("\n")' | grep -qx "$qa"; then fail "qa list still shows $qa"; fi
ok "QA stack $qa destroyed and removed"

if [ "$KEEP" = true ]; then
  step "teardown skipped (--keep)"
  ok "$STACK is still up: pulumi destroy --stack $STACK when done"
  exit 0
fi

step "teardown of $STACK"
bucket=$(lib 'const { loadStack } = await import("./src/config/index.ts"); const { planEnvironment } = await import("./src/model/index.ts"); console.log(planEnvironment(loadStack(".", process.argv[1])).hosts[0]?.stores.artifactBucket ?? "");' "$STACK")
if [ -n "$bucket" ]; then
  # A versioned bucket is deleted only empty: every version and delete marker first, 1000 at a time.
  while :; do
    batch=$(aws s3api list-object-versions --bucket "$bucket" --max-items 1000 --output json | json '{ Objects: [...(j.Versions || []), ...(j.DeleteMarkers || [])].map((v) => ({ Key: v.Key, VersionId: v.VersionId })), Quiet: true }')
    [ "$(printf '%s' "$batch" | json 'j.Objects.length')" -gt 0 ] || break
    aws s3api delete-objects --bucket "$bucket" --delete "$batch" >/dev/null || fail "could not empty s3://$bucket"
  done
  ok "s3://$bucket emptied"
fi
pulumi destroy --stack "$STACK" --yes --non-interactive || fail "pulumi destroy failed (recovery points in the backup vault, RDS deletion protection: see docs/aws.md)"
ok "$STACK destroyed"
STEP=""
printf '\nevery step passed\n'
