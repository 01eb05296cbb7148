#!/usr/bin/env bash
# Installs the machine's Debian packages that fawkes needs, from the machine's own apt sources,
# saying what it installs. Lists: the files given (default: debian-packages-run.txt and
# debian-packages.txt, what the tests need). Not root: says what is missing and how to install it,
# and exits 0 (fawkes then says what it cannot do without root). Services these packages ship
# (haproxy, postgresql) are not started by the install.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lists=("$@")
[ "${#lists[@]}" -gt 0 ] || lists=("$here/debian-packages-run.txt" "$here/debian-packages.txt")
mapfile -t packages < <(cat "${lists[@]}" | grep -v '^\s*#' | sed '/^\s*$/d' | sort -u)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "debian packages: all ${#packages[@]} installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "debian packages: missing ${missing[*]}; as root: sudo apt-get install ${missing[*]} (or run this as root: $0)" >&2
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
