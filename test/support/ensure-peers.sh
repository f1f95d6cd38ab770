#!/usr/bin/env bash
# Makes sure the real peers used by the tests are installed: mosquitto (broker and clients),
# socat (serial pty pairs), Debian's pymodbus for /usr/bin/python3, systemd-analyze (unit checks),
# chromium (the console's browser tests, driven by playwright-core; never a downloaded browser) and
# rabbitmq-server (a real two-node broker cluster for the uplink's failover tests).
# Silent when all are present. As root it installs what is missing; otherwise it names the fix.
set -uo pipefail

PACKAGES="mosquitto mosquitto-clients socat openssl python3-pymodbus python3-serial python3-serial-asyncio systemd chromium rabbitmq-server"
# mosquitto lives in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

missing_peers() {
  local missing=()
  local tool
  for tool in mosquitto mosquitto_pub mosquitto_sub socat openssl systemd-analyze chromium rabbitmq-server rabbitmqctl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ! /usr/bin/python3 -c 'import pymodbus, serial, serial_asyncio' >/dev/null 2>&1; then
    missing+=("python3 modules pymodbus/serial/serial_asyncio for /usr/bin/python3")
  fi
  if ((${#missing[@]} > 0)); then
    printf '%s\n' "${missing[@]}"
  fi
}

missing="$(missing_peers)"
[[ -z "$missing" ]] && exit 0

if [[ "$(id -u)" == "0" ]]; then
  echo "ensure-peers: installing test peers; missing:" >&2
  printf '  %s\n' "$missing" >&2
  # The mosquitto package may start a system broker on 1883; tests never use that port.
  apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y $PACKAGES >&2
  missing="$(missing_peers)"
  if [[ -n "$missing" ]]; then
    echo "ensure-peers: still missing after apt-get install:" >&2
    printf '  %s\n' "$missing" >&2
    exit 1
  fi
  exit 0
fi

echo "ensure-peers: test peers missing:" >&2
printf '  %s\n' "$missing" >&2
echo "install them with:" >&2
echo "sudo apt-get install -y $PACKAGES" >&2
exit 1
