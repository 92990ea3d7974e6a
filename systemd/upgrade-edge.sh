#!/bin/bash
# Upgrade a Fidelis edge box to a new wheel, side by side, with rollback.
#
#   1. install the new release in /opt/fidelis/releases/VERSION (the box keeps selling);
#   2. stop the service and take an exact pre-upgrade copy with the running release
#      (fidelis-edge backup --pre-upgrade; the last 3 are kept);
#   3. switch /opt/fidelis/current to the new release (one rename: atomic);
#   4. start the service: systemd waits for READY=1, which comes after migrations and the
#      integrity check. Ready: done, the previous release stays for a manual rollback.
#   5. Not ready: switch back and start the previous release; if it refuses the database
#      (the new release migrated it past what the old one knows), restore the copy of step 2
#      (nothing was sold in between: the new release never became ready) and start again.
#
# Usage: systemd/upgrade-edge.sh [--root DIR] WHEEL     (exit 0 upgraded, 1 rolled back or failed)
# Environment: PYTHON (default python3), SYSTEMCTL (default systemctl; tests put a stand-in
# there), FIDELIS_DATA_DIR (default DIR/var/lib/fidelis/edge), KEEP_RELEASES (default 3).
set -euo pipefail

root=/
wheel=
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=$2; shift 2 ;;
        --root=*) root=${1#--root=}; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) wheel=$1; shift ;;
    esac
done
die() { echo "upgrade-edge: $*" >&2; exit 1; }
say() { echo "== $*"; }
[ -n "$wheel" ] && [ -f "$wheel" ] || die "give the new fidelis wheel, e.g. fidelis-0.2.0-py3-none-any.whl"
r=${root%/}
python=${PYTHON:-python3}
systemctl=${SYSTEMCTL:-systemctl}
export FIDELIS_DATA_DIR=${FIDELIS_DATA_DIR:-$r/var/lib/fidelis/edge}
version=$(basename "$wheel" | cut -d- -f2)
previous=$(readlink "$r/opt/fidelis/current" 2>/dev/null) || die "no release installed under $root (run install-edge.sh)"
[ "$previous" != "releases/$version" ] || die "release $version is already the current one"

as_service_user() {
    # Files in the data directory belong to the service user, whoever runs this script.
    if [ "$root" = / ] && [ "$(id -u)" = 0 ]; then runuser -u fidelis -- "$@"; else "$@"; fi
}
switch_to() {
    ln -sfn "$1" "$r/opt/fidelis/current.new"
    mv -T "$r/opt/fidelis/current.new" "$r/opt/fidelis/current"
}

say "install release $version beside $previous"
release="$r/opt/fidelis/releases/$version"
rm -rf "$release"
"$python" -m venv "$release"
"$release/bin/pip" install --quiet --disable-pip-version-check "$wheel"
install -m 0755 "$(cd "$(dirname "$0")" && pwd)/upgrade-edge.sh" "$release/bin/fidelis-upgrade-edge"
old_edge="$r/opt/fidelis/$previous/bin/fidelis-edge"

say "stop the service and take the pre-upgrade copy"
$systemctl stop fidelis-edge.service
if ! copy=$(as_service_user "$old_edge" backup --pre-upgrade); then
    $systemctl start fidelis-edge.service || true
    die "the pre-upgrade backup failed; nothing was changed"
fi
echo "pre-upgrade copy: $copy"

say "switch to $version and start it"
switch_to "releases/$version"
if $systemctl start fidelis-edge.service; then
    say "upgraded to $version; $previous is kept for a rollback"
    keep=${KEEP_RELEASES:-3}
    # Keep the newest releases (by install time), never the current or the previous one.
    ls -1t "$r/opt/fidelis/releases" | tail -n +"$((keep + 1))" | while read -r old; do
        [ "releases/$old" = "releases/$version" ] || [ "releases/$old" = "$previous" ] || rm -rf "${r}/opt/fidelis/releases/$old"
    done
    exit 0
fi

echo "upgrade-edge: release $version did not become ready; rolling back to $previous" >&2
$systemctl stop fidelis-edge.service || true
switch_to "$previous"
if ! $systemctl start fidelis-edge.service; then
    say "$previous refuses the database as $version left it: restore the pre-upgrade copy"
    $systemctl stop fidelis-edge.service || true
    as_service_user "$old_edge" restore "$copy" || die "restore of $copy failed; see 'fidelis-edge doctor'"
    $systemctl start fidelis-edge.service || die "$previous does not start either; see journalctl -u fidelis-edge"
fi
echo "upgrade-edge: rolled back to $previous; $version stays in $release for inspection" >&2
exit 1
