#!/usr/bin/env bash
# Install apfctl on a factory host (docs/operations.md, "Installing on a factory host"), as root:
#   a system user, a virtual environment with apfctl and its server, the config, state and log
#   folders, the cron file or the systemd units, with their paths set to the ones chosen here.
#
#   scripts/install-host.sh [WHEEL_OR_SOURCE]     # default: this checkout
#
# Every path can be changed through the environment (the defaults are those of the shipped files):
#   APFCTL_PREFIX=/opt/apfctl  APFCTL_ETC=/etc/apfctl  APFCTL_STATE=/var/lib/apfctl
#   APFCTL_LOGS=/var/log/apfctl  APFCTL_USER=apfctl  SYSTEMD_DIR=/etc/systemd/system
#   CRON_DIR=/etc/cron.d  APFCTL_SCHEDULER=systemd|cron|none  APFCTL_CREATE_USER=yes|no
# Needs python3 (3.11 or newer) and its venv module (Debian: apt-get install python3-venv).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
source_spec="${1:-$here}"
prefix="${APFCTL_PREFIX:-/opt/apfctl}"
etc="${APFCTL_ETC:-/etc/apfctl}"
state="${APFCTL_STATE:-/var/lib/apfctl}"
logs="${APFCTL_LOGS:-/var/log/apfctl}"
user="${APFCTL_USER:-apfctl}"
systemd_dir="${SYSTEMD_DIR:-/etc/systemd/system}"
cron_dir="${CRON_DIR:-/etc/cron.d}"
scheduler="${APFCTL_SCHEDULER:-systemd}"
create_user="${APFCTL_CREATE_USER:-yes}"
python="${PYTHON:-python3}"

fail() { echo "install-host: $*" >&2; exit 2; }

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || fail "$python is older than 3.11"
"$python" -c 'import ensurepip, venv' 2>/dev/null \
  || fail "$python has no venv module: apt-get install python3-venv"

if [ "$create_user" = yes ] && ! id -u "$user" >/dev/null 2>&1; then
  useradd --system --home-dir "$state" --shell /usr/sbin/nologin --user-group "$user"
fi

# the virtual environment: apfctl (its HTTP server, Starlette and uvicorn, is part of the core)
"$python" -m venv "$prefix"
"$prefix/bin/pip" install -q --upgrade pip
"$prefix/bin/pip" install -q "$source_spec"      # a wheel file or a source folder
"$prefix/bin/apfctl" --version >/dev/null

# the docs the units point to
mkdir -p "$prefix/share/doc/apfctl"
if [ -d "$here/docs" ]; then cp "$here"/docs/*.md "$prefix/share/doc/apfctl/"; fi
cp "$here/README.md" "$prefix/share/doc/apfctl/" 2>/dev/null || true

# folders: config (root-owned, readable), state and logs (the factory user's)
install -d -m 0755 "$etc"
install -d -m 0750 -o "$user" -g "$(id -gn "$user")" "$state" "$logs"
if [ ! -e "$etc/apfctl.conf" ]; then
  cat > "$etc/apfctl.conf" <<CONF
# apfctl factory configuration (docs/operations.md). Check it with: apfctl config check
[Factory]
factoryId = $(hostname -s)-apfctl
factoryAdminEmail = root@localhost
baseLogDir = $logs/pilots
baseLogDirUrl = http://$(hostname -f 2>/dev/null || hostname):25880
queueConf = $etc/queues.conf
CONF
  : > "$etc/queues.conf"
  install -d -m 0750 -o "$user" -g "$(id -gn "$user")" "$logs/pilots"
fi

# the shipped cron file and units, with the paths chosen above
rewrite() {
  sed -e "s|/opt/apfctl|$prefix|g" -e "s|/etc/apfctl|$etc|g" -e "s|/var/lib/apfctl|$state|g" \
      -e "s|/var/log/apfctl|$logs|g" -e "s|^User=apfctl|User=$user|" \
      -e "s|^Group=apfctl|Group=$(id -gn "$user")|" -e "s|  apfctl  |  $user  |" "$1"
}
case "$scheduler" in
  systemd)
    install -d "$systemd_dir"
    for unit in "$here"/contrib/systemd/apfctl-*; do
      rewrite "$unit" > "$systemd_dir/$(basename "$unit")"
    done
    # reload the running systemd only for its own folder (not for units installed elsewhere, e.g. by a test)
    if [ "$systemd_dir" = /etc/systemd/system ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
    echo "installed; start with: systemctl enable --now apfctl-cycle.timer apfctl-clean.timer" \
         "apfctl-auth-renew.timer apfctl-serve.service"
    ;;
  cron)
    install -d "$cron_dir"
    rewrite "$here/contrib/cron/apfctl" > "$cron_dir/apfctl"
    chmod 0644 "$cron_dir/apfctl"
    echo "installed; cron runs $cron_dir/apfctl"
    ;;
  none) echo "installed in $prefix (no scheduler)" ;;
  *) fail "APFCTL_SCHEDULER must be systemd, cron or none, not $scheduler" ;;
esac
