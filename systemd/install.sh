#!/usr/bin/env bash
# Installs gatehouse as a hardened systemd service, or removes it (--uninstall).
#
#   systemd/install.sh [--root DIR] [--prefix DIR] [--node PATH] [--no-build]
#   systemd/install.sh --uninstall [--purge] [--root DIR] [--prefix DIR]
#
#   --root DIR     install into DIR as if it were / (a staging or test root): every path below lands
#                  under DIR, the user is created in DIR/etc/passwd with systemd-sysusers --root, and
#                  the running system's systemd is left alone.
#   --prefix DIR   where the app goes (default /opt/gatehouse); a folder of its own whose name
#                  contains "gatehouse" (it is replaced on upgrade and deleted on uninstall), not
#                  under /home, /root, /tmp: the unit's ProtectHome= and PrivateTmp= hide those.
#   --node PATH    the node binary the service runs (default: `node` on PATH). Written into the unit
#                  and the gatehouse command; the native modules must be built for it.
#   --no-build     use the existing dist/ and node_modules/ of this checkout (default: npm ci and
#                  npm run build first).
#   --uninstall    stop and disable the service, remove the unit, the app and the gatehouse command.
#                  Keeps /etc/gatehouse, /var/lib/gatehouse and the gatehouse user.
#   --purge        with --uninstall: also remove those three.
#
# What goes where (under --root DIR if given):
#   /opt/gatehouse                          the compiled app and its production node_modules (root-owned)
#   /usr/local/bin/gatehouse                the gatehouse command (runs the app with the same node)
#   /etc/systemd/system/gatehouse.service   the unit, from systemd/gatehouse.service
#   /usr/local/lib/sysusers.d/gatehouse.conf  the gatehouse system user (member of dialout)
#   /etc/gatehouse/gatehouse.yaml           the config: config/example-site.yaml, never overwritten
#   /var/lib/gatehouse                      the data (SQLite), owned by gatehouse
# Running it again is an upgrade: the app and the unit are replaced, the config and the data kept,
# and a running service restarted.
set -euo pipefail

SRC="$(dirname "$(dirname "$(readlink -f "$0")")")"
UNIT_NAME=gatehouse.service
SERVICE_USER=gatehouse
BIN_PATH=/usr/local/bin/gatehouse
UNIT_PATH=/etc/systemd/system/$UNIT_NAME
SYSUSERS_PATH=/usr/local/lib/sysusers.d/gatehouse.conf
CONFIG_DIR=/etc/gatehouse
CONFIG_FILE=$CONFIG_DIR/gatehouse.yaml
DATA_DIR=/var/lib/gatehouse
# Identifies the gatehouse command written here, so that a foreign one is never overwritten or removed.
WRAPPER_MARKER="# written by gatehouse systemd/install.sh"

root=""
prefix=/opt/gatehouse
node=""
npm_path=""
build=yes
action=install
purge=no

say() { printf '%s\n' "$*"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
# The comment block at the top of this file.
help_text() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
usage() {
  help_text | sed -n '3,4p' >&2
  exit 2
}

parse_args() {
  while (($# > 0)); do
    case "$1" in
      --root) (($# >= 2)) || usage; root="$2"; shift 2 ;;
      --prefix) (($# >= 2)) || usage; prefix="$2"; shift 2 ;;
      --node) (($# >= 2)) || usage; node="$2"; shift 2 ;;
      --no-build) build=no; shift ;;
      --uninstall) action=uninstall; shift ;;
      --purge) purge=yes; shift ;;
      -h | --help) help_text; exit 0 ;;
      *) say "install.sh: unknown argument: $1" >&2; usage ;;
    esac
  done
  [[ "$purge" == no || "$action" == uninstall ]] || die "--purge only goes with --uninstall"
  if [[ -n "$root" ]]; then
    [[ "$root" == /* ]] || die "--root must be an absolute path: $root"
    root="$(realpath -m "$root")"
    [[ "$root" != / ]] || root=""
  fi
  [[ "$prefix" == /* ]] || die "--prefix must be an absolute path: $prefix"
  prefix="$(realpath -m "$prefix")"
  # The prefix is replaced on upgrade and deleted on uninstall: never a shared folder such as /usr.
  [[ "$(basename "$prefix")" == *gatehouse* ]] || die "--prefix must be a folder of its own, named *gatehouse* (e.g. /opt/gatehouse): $prefix"
  # ... nor the config, the data or another installed file, or a folder holding one or inside one.
  local managed
  for managed in "$CONFIG_DIR" "$DATA_DIR" "$BIN_PATH" "$UNIT_PATH" "$SYSUSERS_PATH"; do
    case "$prefix/" in "$managed"/*) die "--prefix $prefix would replace $managed on upgrade and delete it on uninstall; use e.g. /opt/gatehouse" ;; esac
    case "$managed/" in "$prefix"/*) die "--prefix $prefix would replace $managed on upgrade and delete it on uninstall; use e.g. /opt/gatehouse" ;; esac
  done
  check_visible_to_service "--prefix" "$prefix"
}

# ProtectHome= and PrivateTmp= in the unit hide these trees from the service.
check_visible_to_service() {
  case "$2/" in
    /home/* | /root/* | /run/user/* | /tmp/* | /var/tmp/*)
      die "$1 $2 is hidden from the service by ProtectHome=/PrivateTmp=; use a system-wide path (e.g. /opt, /usr/local, /usr)" ;;
  esac
}

is_live() { [[ -z "$root" ]]; }
# sd_booted(3): systemd is the running init.
systemd_running() { is_live && [[ -d /run/systemd/system ]]; }

find_node() {
  if [[ -z "$node" ]]; then
    node="$(command -v node)" || die "node not found on PATH; install Node.js 20 or later, or pass --node PATH"
  fi
  [[ "$node" == /* ]] || die "--node must be an absolute path: $node"
  check_visible_to_service "--node" "$node"
  [[ -x "$node" && -f "$node" ]] || die "not an executable file: $node"
  local major
  major="$("$node" -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || die "$node is Node.js $major; gatehouse needs 20 or later"
  # npm and its child processes must use the same node as the service: native modules are built for it.
  npm_path="$(dirname "$node"):$PATH"
}

build_app() {
  if [[ "$build" == yes ]]; then
    say "building in $SRC (npm ci, npm run build)"
    (cd "$SRC" && PATH="$npm_path" npm ci --no-audit --no-fund && PATH="$npm_path" npm run build)
  fi
  [[ -f "$SRC/dist/src/cli.js" ]] || die "$SRC/dist/src/cli.js is missing: build first (npm run build) or drop --no-build"
  [[ -d "$SRC/node_modules" ]] || die "$SRC/node_modules is missing: run npm ci first or drop --no-build"
}

# Builds the complete app in a staging folder next to the target, checks that its native modules
# load with $node, then swaps it in: an upgrade never leaves files of the previous version behind.
install_app() {
  local app="$root$prefix"
  local stage="$app.staging"
  say "installing the app in $app"
  rm -rf "$stage" "$app.previous"
  mkdir -p "$stage/dist"
  cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$SRC/config" "$stage/"
  cp -a "$SRC/dist/src" "$SRC/dist/drivers" "$stage/dist/"
  cp -a "$SRC/node_modules" "$stage/"
  rm -rf "$stage/node_modules/.cache"
  (cd "$stage" && PATH="$npm_path" npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
    die "npm prune --omit=dev failed in $stage"
  # Scopes whose every package was a dev dependency are left empty.
  find "$stage/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete
  (cd "$stage" && "$node" -e '
    new (require("better-sqlite3"))(":memory:").close();
    require("unix-dgram");
    require("@serialport/bindings-cpp");
  ') || die "the native modules in $stage do not load with $node: rebuild them for it (npm ci with that node first on PATH)"
  chown -R root:root "$stage"
  chmod -R u=rwX,go=rX "$stage"
  if [[ -e "$app" ]]; then mv "$app" "$app.previous"; fi
  mv "$stage" "$app"
  rm -rf "$app.previous"
}

# Checked before anything is installed.
check_command_is_ours() {
  local target="$root$BIN_PATH"
  if [[ -e "$target" || -L "$target" ]] && ! grep -qsF "$WRAPPER_MARKER" "$target"; then
    die "$target exists and was not written by this script (npm install -g?); remove it and run again"
  fi
}

install_command() {
  local target="$root$BIN_PATH"
  local tmp
  tmp="$(mktemp)"
  printf '#!/bin/sh\n%s\nexec %s %s/dist/src/cli.js "$@"\n' "$WRAPPER_MARKER" "$node" "$prefix" >"$tmp"
  install -D -m 0755 -o root -g root "$tmp" "$target"
  rm -f "$tmp"
  say "installed the gatehouse command: $target"
}

# The numeric id of NAME in the target's passwd or group file (the names mean nothing outside --root).
target_id() {
  local file="$root/etc/$1"
  awk -F: -v name="$2" '$1 == name { print $3; found = 1 } END { exit !found }' "$file" ||
    die "$2 is not in $file"
}

create_user() {
  install -D -m 0644 -o root -g root "$SRC/systemd/gatehouse.sysusers" "$root$SYSUSERS_PATH"
  if command -v systemd-sysusers >/dev/null 2>&1; then
    mkdir -p "$root/etc"
    systemd-sysusers --root="${root:-/}" "$(basename "$SYSUSERS_PATH")"
  elif is_live; then
    getent group "$SERVICE_USER" >/dev/null || groupadd --system "$SERVICE_USER"
    if ! id "$SERVICE_USER" >/dev/null 2>&1; then
      useradd --system --gid "$SERVICE_USER" --home-dir "$DATA_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "gatehouse building-control gateway" "$SERVICE_USER"
    fi
    usermod -a -G dialout "$SERVICE_USER"
  else
    die "systemd-sysusers is needed to create the user under --root (apt-get install systemd)"
  fi
  say "system user $SERVICE_USER (uid $(target_id passwd "$SERVICE_USER"), in dialout for the serial ports)"
}

install_config() {
  local gid
  gid="$(target_id group "$SERVICE_USER")"
  # The config holds password hashes and the uplink's credentials: nothing in it is world-readable.
  install -d -m 0750 -o root -g "$gid" "$root$CONFIG_DIR"
  if [[ -e "$root$CONFIG_FILE" ]]; then
    say "kept the existing config $root$CONFIG_FILE (never overwritten)"
    local fix="chgrp $SERVICE_USER $CONFIG_FILE && chmod 0640 $CONFIG_FILE"
    if [[ -n "$(find "$root$CONFIG_FILE" -perm -o=r)" ]]; then
      say "  warning: it is world-readable, and holds password hashes: $fix"
    elif [[ "$(stat -c %g "$root$CONFIG_FILE")" != "$gid" || -z "$(find "$root$CONFIG_FILE" -perm -g=r)" ]]; then
      say "  warning: the service (group $SERVICE_USER) cannot read it: $fix"
    fi
  else
    install -m 0640 -o root -g "$gid" "$SRC/config/example-site.yaml" "$root$CONFIG_FILE"
    say "installed the example config as $root$CONFIG_FILE (root:$SERVICE_USER 0640): edit it"
  fi
  if [[ ! -d "$root$DATA_DIR" ]]; then
    install -d -m 0750 -o "$(target_id passwd "$SERVICE_USER")" -g "$gid" "$root$DATA_DIR"
  fi
}

install_unit() {
  local tmp
  tmp="$(mktemp)"
  "$SRC/systemd/render-unit.sh" "$node" "$prefix" >"$tmp"
  install -D -m 0644 -o root -g root "$tmp" "$root$UNIT_PATH"
  rm -f "$tmp"
  say "installed the unit $root$UNIT_PATH (ExecStart=$node $prefix/dist/src/cli.js run --config $CONFIG_FILE)"
}

reload_systemd() {
  if systemd_running; then
    systemctl daemon-reload
    if systemctl is-active --quiet "$UNIT_NAME"; then
      systemctl restart "$UNIT_NAME"
      say "restarted the running $UNIT_NAME on the new version"
    fi
  elif is_live; then
    say "systemd is not running on this machine: skipped systemctl daemon-reload"
  else
    say "--root $root: the running system's systemd was left alone"
  fi
}

next_steps() {
  cat <<EOF

gatehouse is installed. Next:
  1. Edit $CONFIG_FILE: site, gateway_id, devices, transports, and the users. The example's users are
     only examples: replace their password_hash with your own (gatehouse passwd).
  2. Check it:            gatehouse check --config $CONFIG_FILE
  3. Start it at boot:    systemctl enable --now $UNIT_NAME
  4. Follow its logs:     journalctl -u $UNIT_NAME -f
  Reload the config without a restart:  systemctl reload $UNIT_NAME
  The data (SQLite journal and outbox) lives in $DATA_DIR, owned by $SERVICE_USER; read it with
    sudo -u $SERVICE_USER gatehouse journal --data-dir $DATA_DIR
  Upgrade: pull the new version and run this script again. Remove: $0 --uninstall [--purge]
EOF
}

do_install() {
  [[ "$(id -u)" == 0 ]] || die "run as root: it creates a system user and root-owned files"
  find_node
  check_command_is_ours
  build_app
  create_user
  install_app
  install_command
  install_config
  install_unit
  reload_systemd
  next_steps
}

do_uninstall() {
  [[ "$(id -u)" == 0 ]] || die "run as root"
  if systemd_running && [[ -e "$UNIT_PATH" ]]; then
    systemctl disable --now "$UNIT_NAME" || say "warning: could not stop or disable $UNIT_NAME"
  fi
  # Without a running systemd, `systemctl enable` links are removed by hand.
  rm -f "$root"/etc/systemd/system/*.wants/"$UNIT_NAME"
  rm -f "$root$UNIT_PATH"
  rm -rf "$root$prefix" "$root$prefix.staging" "$root$prefix.previous"
  if grep -qsF "$WRAPPER_MARKER" "$root$BIN_PATH"; then rm -f "$root$BIN_PATH"; fi
  if systemd_running; then systemctl daemon-reload; fi
  say "removed $UNIT_NAME, $root$prefix and $root$BIN_PATH"
  if [[ "$purge" == yes ]]; then
    rm -rf "$root$CONFIG_DIR" "$root$DATA_DIR" "$root$UNIT_PATH.d"
    if grep -q "^$SERVICE_USER:" "$root/etc/passwd" 2>/dev/null; then
      userdel ${root:+--root "$root"} "$SERVICE_USER"
    fi
    if grep -q "^$SERVICE_USER:" "$root/etc/group" 2>/dev/null; then
      groupdel ${root:+--root "$root"} "$SERVICE_USER"
    fi
    rm -f "$root$SYSUSERS_PATH"
    say "purged $root$CONFIG_DIR, $root$DATA_DIR and the $SERVICE_USER user"
  else
    say "kept the config $root$CONFIG_DIR, the data $root$DATA_DIR and the $SERVICE_USER user (--purge removes them)"
  fi
}

parse_args "$@"
if [[ "$action" == install ]]; then do_install; else do_uninstall; fi
