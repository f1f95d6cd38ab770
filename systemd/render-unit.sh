#!/usr/bin/env bash
# Prints systemd/gatehouse.service as it is installed: ExecStart runs NODE (an absolute path; systemd
# does not search PATH the way a shell does, and the native modules are built for that node) and the
# app lives in PREFIX instead of /opt/gatehouse.
# usage: render-unit.sh NODE PREFIX
set -euo pipefail

if (($# != 2)) || [[ "$1" != /* || "$2" != /* ]]; then
  echo "usage: $0 /absolute/path/to/node /absolute/prefix" >&2
  exit 2
fi
node="$1"
prefix="${2%/}"
template="$(dirname "$(readlink -f "$0")")/gatehouse.service"

# Both go into a sed replacement and an unquoted ExecStart: no spaces, no sed or systemd specials.
for path in "$node" "$prefix"; do
  if [[ ! "$path" =~ ^/[A-Za-z0-9._/+@-]+$ ]]; then
    echo "render-unit.sh: unsupported characters in path: $path" >&2
    exit 2
  fi
done
sed -e "s|^ExecStart=/usr/bin/node |ExecStart=${node} |" \
    -e "s|/opt/gatehouse|${prefix}|g" \
    "$template"
