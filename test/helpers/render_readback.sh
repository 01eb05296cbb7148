#!/bin/bash
# Reads rendered shell files back the way bash does, for many tasks at once (one process).
# Usage: render_readback.sh TASKS >RESULTS
# TASKS holds NUL-terminated fields; each task is KIND ID FILE, then lists each ended by an empty
# field. RESULTS holds NUL-terminated triples ID KEY VALUE. Kinds:
#   syntax              bash -n FILE: rc, output
#   env NAMES           FILE sourced with set -a (as fawkes-exec does): each NAME's value, rc, stderr
#   vars GLOBALS APPVARS APPS
#                       FILE's `readonly` lines and its load_app function evaluated: each GLOBAL,
#                       then each APPVAR after load_app APP, keyed APP:NAME (NAME[] for an array)
#   exec APPS           bash FILE APP true for each APP and for an unknown one: rc:APP, unknown
set -u
tasks=$1
err=$(mktemp)
trap 'rm -f "$err"' EXIT

out() { printf '%s\0%s\0%s\0' "$1" "$2" "$3"; }

# dump ID PREFIX NAME...: scalars as PREFIX NAME, arrays (NAME[]) as NAME[#] and NAME[i].
dump() {
  local id=$1 prefix=$2 n i
  shift 2
  for n; do
    if [[ $n == *'[]' ]]; then
      n=${n%'[]'}
      eval "local -a _v=(\"\${${n}[@]}\")"
      out "$id" "$prefix$n[#]" "${#_v[@]}"
      for i in "${!_v[@]}"; do out "$id" "$prefix$n[$i]" "${_v[$i]}"; done
    else
      out "$id" "$prefix$n" "${!n-<unset>}"
    fi
  done
}

# list NAME: fields up to the next empty one, into the array NAME.
list() {
  local -n _l=$1
  local f
  _l=()
  while IFS= read -r -d '' f && [[ -n $f ]]; do _l+=("$f"); done
}

while IFS= read -r -d '' kind; do
  IFS= read -r -d '' id
  IFS= read -r -d '' file
  case $kind in
    syntax)
      bash -n "$file" >"$err" 2>&1
      out "$id" rc "$?"
      out "$id" output "$(<"$err")"
      ;;
    env)
      list names
      (
        set -a
        # shellcheck disable=SC1090
        . "$file"
        set +a
        dump "$id" "" "${names[@]}"
      ) 2>"$err"
      out "$id" rc "$?"
      out "$id" stderr "$(<"$err")"
      ;;
    vars)
      list globals
      list appvars
      list apps
      (
        set +u
        die() { printf 'die: %s\n' "$*" >&2; exit 3; }
        eval "$(grep -E '^readonly ' "$file")" || exit 4
        eval "$(sed -n '/^load_app() {$/,/^}$/p' "$file")" || exit 5
        dump "$id" "" "${globals[@]}"
        for app in "${apps[@]}"; do
          load_app "$app"
          dump "$id" "$app:" "${appvars[@]}"
        done
      ) 2>"$err"
      out "$id" rc "$?"
      out "$id" stderr "$(<"$err")"
      ;;
    exec)
      list apps
      for app in "${apps[@]}"; do
        bash "$file" "$app" true >/dev/null 2>&1
        out "$id" "rc:$app" "$?"
      done
      bash "$file" _unknown_ true 2>"$err"
      out "$id" "rc:_unknown_" "$?"
      out "$id" unknown "$(<"$err")"
      ;;
    *)
      out "$id" error "unknown task kind $kind"
      ;;
  esac
done <"$tasks"
