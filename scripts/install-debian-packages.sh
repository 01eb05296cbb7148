#!/usr/bin/env bash
# Installs the Debian packages the tests use (scripts/debian-packages.txt), from the machine's own
# apt sources. Services these packages ship (nginx, haproxy) are not started by the install.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mapfile -t packages < <(grep -v '^\s*#' "$here/debian-packages.txt" | sed '/^\s*$/d')

if [ "$(id -u)" -ne 0 ]; then
  echo "error: installing Debian packages needs root; run: sudo $0" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "debian packages: all ${#packages[@]} installed"
  exit 0
fi

# Keep package scripts from starting daemons during the install (a no-op where one already does).
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  added_policy=1
fi
trap '[ "$added_policy" -eq 1 ] && rm -f "$policy"' EXIT

echo "debian packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
