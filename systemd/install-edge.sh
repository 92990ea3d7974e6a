#!/bin/bash
# Install a Fidelis edge box from a wheel: the service user, its directories, the release in
# /opt/fidelis/releases/VERSION (a venv) with /opt/fidelis/current pointing at it, the units,
# the config templates and a `fidelis-edge` command for the technician; then print what to
# run next. Safe to run again. See docs/technician.md.
#
# Usage: systemd/install-edge.sh [--root DIR] WHEEL
#   --root DIR   install into DIR instead of / (a scratch root: nothing is started, users go
#                into DIR/etc/passwd, units are enabled with systemctl --root)
# Environment: PYTHON (default python3), and pip's own PIP_* variables.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=/
wheel=
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=$2; shift 2 ;;
        --root=*) root=${1#--root=}; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) wheel=$1; shift ;;
    esac
done
die() { echo "install-edge: $*" >&2; exit 1; }
[ -n "$wheel" ] && [ -f "$wheel" ] || die "give the fidelis wheel to install, e.g. fidelis-0.1.0-py3-none-any.whl"
[ "$(id -u)" = 0 ] || die "run as root (it creates a user and installs units)"
python=${PYTHON:-python3}
r=${root%/}
version=$(basename "$wheel" | cut -d- -f2)
[ -n "$version" ] || die "cannot read the version from the wheel's name: $wheel"
step() { echo "== $*"; }

step "1/6 service user fidelis (groups dialout, lp)"
install -d -m 0755 "$r/etc"
install -D -m 0644 "$here/fidelis-edge.sysusers" "$r/usr/lib/sysusers.d/fidelis-edge.conf"
if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers --root="$root" "$r/usr/lib/sysusers.d/fidelis-edge.conf"
elif [ "$root" = / ]; then
    id fidelis >/dev/null 2>&1 || useradd --system --home-dir /var/lib/fidelis --shell /usr/sbin/nologin fidelis
    usermod -aG dialout,lp fidelis
else
    die "systemd-sysusers is needed to install into --root $root"
fi
uid=$(awk -F: '$1 == "fidelis" {print $3}' "$r/etc/passwd")
gid=$(awk -F: '$1 == "fidelis" {print $4}' "$r/etc/passwd")
[ -n "$uid" ] || die "user fidelis was not created"

step "2/6 directories"
install -d -m 0700 -o "$uid" -g "$gid" "$r/var/lib/fidelis" "$r/var/lib/fidelis/edge"
install -d -m 0755 "$r/etc/fidelis" "$r/opt/fidelis/releases" "$r/etc/systemd/system" "$r/usr/local/bin"

step "3/6 release $version in /opt/fidelis/releases/$version"
release="$r/opt/fidelis/releases/$version"
# A venv records its own path, so it is built where it will run. The release the service
# runs now is never rebuilt under it: run again, this step keeps it (upgrade-edge.sh upgrades).
if [ "$(readlink "$r/opt/fidelis/current" 2>/dev/null || true)" != "releases/$version" ]; then
    rm -rf "$release"
    "$python" -m venv "$release"
    "$release/bin/pip" install --quiet --disable-pip-version-check "$wheel"
fi
if [ -f "$here/../docs/technician.md" ]; then
    install -D -m 0644 "$here/../docs/technician.md" "$release/share/doc/fidelis/technician.md"
fi
install -m 0755 "$here/upgrade-edge.sh" "$release/bin/fidelis-upgrade-edge"
ln -sfn "releases/$version" "$r/opt/fidelis/current.new"
mv -T "$r/opt/fidelis/current.new" "$r/opt/fidelis/current"  # rename(2): an atomic switch

step "4/6 units and the backup timer"
for unit in fidelis-edge.service fidelis-edge-backup.service fidelis-edge-backup.timer; do
    install -m 0644 "$here/$unit" "$r/etc/systemd/system/$unit"
done

step "5/6 config templates (kept if present)"
[ -e "$r/etc/fidelis/edge.toml" ] || install -m 0644 "$here/edge.toml" "$r/etc/fidelis/edge.toml"
[ -e "$r/etc/fidelis/edge.env" ] || install -m 0600 "$here/edge.env" "$r/etc/fidelis/edge.env"
cat > "$r/usr/local/bin/fidelis-edge" <<'WRAPPER'
#!/bin/sh
# fidelis-edge for the technician: as the service user, on the service's data directory and
# with the devices of /etc/fidelis/edge.env (installed by install-edge.sh).
export FIDELIS_DATA_DIR="${FIDELIS_DATA_DIR:-/var/lib/fidelis/edge}"
if [ -r /etc/fidelis/edge.env ]; then set -a; . /etc/fidelis/edge.env; set +a; fi
if [ "$(id -u)" = 0 ]; then exec runuser -u fidelis -- /opt/fidelis/current/bin/fidelis-edge "$@"; fi
exec /opt/fidelis/current/bin/fidelis-edge "$@"
WRAPPER
chmod 0755 "$r/usr/local/bin/fidelis-edge"

step "6/6 enable the service and the timer"
if [ "$root" = / ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable fidelis-edge.service fidelis-edge-backup.timer
    systemctl start fidelis-edge-backup.timer
    systemctl try-restart fidelis-edge.service
else
    systemctl --root="$root" enable fidelis-edge.service fidelis-edge-backup.timer >/dev/null 2>&1 \
        || echo "(systemctl could not enable the units in $root; run 'systemctl enable fidelis-edge.service fidelis-edge-backup.timer' on the box)"
fi

cat <<NEXT

Fidelis edge $version installed. Next, as root (three commands to the first sale):
  fidelis-edge provision --central https://central.example.com --token TOKEN
      (the one-time token from head office; or 'fidelis-edge init --store S001' for a standalone box)
  fidelis-edge till add --name till-1          # prints the till's key: type it into the till
  systemctl start fidelis-edge                 # the till API on port 8701
Then 'fidelis-edge doctor' checks everything, one line each.
NEXT
