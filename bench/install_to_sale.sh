#!/bin/bash
# Time a technician's install as docs/technician.md tells it: from the wheel to the first sale.
#
# Builds the wheel of this tree (not timed: the technician is handed it), then times
#   1. systemd/install-edge.sh WHEEL        (user, directories, venv with every dependency, units)
#   2. the three commands it prints: fidelis-edge init (standalone; provision needs a central),
#      fidelis-edge till add, systemctl start fidelis-edge
#   3. the first sale from a till over HTTP
# in a scratch root (--root), with tests/systemd_standin.py standing in for systemctl where
# systemd is not process 1. Needs root (the install creates a user in the scratch root).
# Usage: bench/install_to_sale.sh        Goal (issue 11): under 5 minutes, 3 commands after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
python=${PYTHON:-$repo/.venv/bin/python}
work=$(mktemp -d /tmp/fidelis-install.XXXXXX)
root="$work/root"
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export STANDIN_ROOT="$root" STANDIN_PORT="$port"
systemctl_standin="$python $repo/tests/systemd_standin.py"
cleanup() { $systemctl_standin stop fidelis-edge.service >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { "$python" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" . >/dev/null
wheel=$(ls "$work"/dist/fidelis-*.whl)

t0=$(now)
systemd/install-edge.sh --root "$root" "$wheel" >"$work/install.log"
t1=$(now)
edge() { FIDELIS_DATA_DIR="$root/var/lib/fidelis/edge" "$root/opt/fidelis/current/bin/fidelis-edge" "$@"; }
edge init --store S001 >/dev/null                         # command 1
key=$(edge till add --name till-1 2>/dev/null)            # command 2
$systemctl_standin start fidelis-edge.service             # command 3
t2=$(now)
curl -sf -X POST "http://127.0.0.1:$port/api/v1/sales" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' \
    -d '{"lines": [{"sku": "A1", "qty": 1, "unit_price": 1250}], "payments": [{"method": "cash", "amount": 1250}]}' \
    >"$work/sale.json"
t3=$(now)
grep -q '"total":1250' "$work/sale.json" || { echo "the first sale failed: $(cat "$work/sale.json")" >&2; exit 1; }
echo "install from the wheel: $(elapsed "$t0" "$t1") s; three commands: $(elapsed "$t1" "$t2") s;" \
     "first sale: $(elapsed "$t2" "$t3") s; total $(elapsed "$t0" "$t3") s (goal: under 300 s)"
