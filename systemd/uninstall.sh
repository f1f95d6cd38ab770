#!/usr/bin/env bash
# Removes the gatehouse service: the same as `install.sh --uninstall`, with the same options
# (--purge, --root DIR, --prefix DIR). See install.sh.
set -euo pipefail
exec "$(dirname "$(readlink -f "$0")")/install.sh" --uninstall "$@"
