"""Zeroconf discovery, tested only inside a private network namespace: no multicast leaves.

Each test runs a script under ``unshare -n`` with ``lo`` up, multicast on and the mDNS
route on it. There a real ``fidelis-edge serve`` announces itself, ``fidelis-edge
discover`` must find it, and ``dig`` (bind9-dnsutils, an mDNS client that shares no code
with python-zeroconf) must read the same records. One test also runs avahi-daemon (with
its own D-Bus, in a private mount namespace) on a veth pair, as on a Debian box, and
``avahi-browse`` must see the edge.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN
from edge import box as boxes
from edge import tls
from edge.network_cli import start_advertising
from edge.serving import Listener

NAMESPACE_SETUP = "ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo"


def _namespaces_work() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_namespace = pytest.mark.skipif(not _namespaces_work(), reason="needs root for 'unshare -n'")


def _in_namespace(script: str, workdir: Path, setup: str = NAMESPACE_SETUP, mounts: bool = False) -> None:
    for tool, package in (("dig", "bind9-dnsutils"), ("avahi-daemon", "avahi-daemon"),
                          ("avahi-browse", "avahi-utils"), ("dbus-daemon", "dbus-daemon")):
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is missing: run 'make system-deps' (Debian package {package})")
    path = workdir / "namespace.sh"
    path.write_text(f"set -e\n{setup}\n{script}\n")
    command = ["unshare", "-n", *(["-m", "--propagation", "private"] if mounts else []), "bash", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_namespace
def test_discover_and_an_independent_mdns_client_find_a_serving_edge(edge_dir, tmp_path):
    fingerprint, _ = tls.ensure_certificate(edge_dir)
    device = boxes.load(edge_dir).device_id
    edge = BIN / "fidelis-edge"
    _in_namespace(f"""
{edge} serve --host 127.0.0.1 --port 8701 --tls --advertise --no-sync --data-dir {edge_dir} 2> {tmp_path}/serve.log &
server=$!
for i in $(seq 200); do grep -q "announced" {tmp_path}/serve.log && break; sleep 0.1; done
{edge} discover --json --timeout 2 --data-dir {edge_dir} > {tmp_path}/discover.json
dig -p 5353 @127.0.0.1 _fidelis._tcp.local PTR +time=3 +tries=2 > {tmp_path}/ptr.txt
name=$(dig -p 5353 @127.0.0.1 _fidelis._tcp.local PTR +short +time=3 +tries=2 | head -1)
dig -p 5353 @127.0.0.1 "$name" TXT +short +time=3 +tries=2 > {tmp_path}/txt.txt
kill $server; wait $server || true
""", tmp_path)
    found = json.loads((tmp_path / "discover.json").read_text())
    assert len(found) == 1, found
    edge_seen = found[0]
    assert {k: edge_seen[k] for k in ("host", "port", "store", "device", "provisioned", "fingerprint")} == {
        "host": "127.0.0.1", "port": 8701, "store": "S001", "device": device, "provisioned": False,
        "fingerprint": fingerprint}
    assert edge_seen["name"].startswith("Fidelis S001 ") and edge_seen["url"] == "https://127.0.0.1:8701/api/v1"
    ptr = (tmp_path / "ptr.txt").read_text()
    assert "_fidelis._tcp.local.\t" in ptr and "PTR\tFidelis\\032S001\\032" in ptr, ptr
    txt = (tmp_path / "txt.txt").read_text()
    for item in (f'"fingerprint={fingerprint}"', '"store=S001"', f'"device={device}"', '"provisioned=no"',
                 '"api=1"', '"scheme=https"'):
        assert item in txt, txt


# A LAN-like link inside the namespace (avahi ignores loopback): a veth pair whose both ends
# stay in it, and a private /run so avahi-daemon and its D-Bus touch nothing of the host.
AVAHI_SETUP = """
mount -t tmpfs tmpfs /run
mkdir -p /run/dbus /run/avahi-daemon
ip link set lo up
ip link add fid0 type veth peer name fid1
ip link set fid1 up
ip addr add 10.99.0.1/24 dev fid0
ip link set fid0 up multicast on
ip route add 224.0.0.0/4 dev fid0
dbus-daemon --system --fork
avahi-daemon --no-chroot --no-drop-root -D
"""


@needs_namespace
def test_the_edge_is_found_next_to_a_running_avahi_daemon(edge_dir, tmp_path):
    fingerprint, _ = tls.ensure_certificate(edge_dir)
    edge = BIN / "fidelis-edge"
    _in_namespace(f"""
{edge} serve --host 10.99.0.1 --port 8701 --no-sync --data-dir {edge_dir} 2> {tmp_path}/serve.log &
server=$!
for i in $(seq 200); do grep -q "announced" {tmp_path}/serve.log && break; sleep 0.1; done
{edge} discover --json --timeout 2 --data-dir {edge_dir} > {tmp_path}/discover.json
avahi-browse --resolve --parsable --terminate _fidelis._tcp > {tmp_path}/avahi.txt
kill $server; wait $server || true
avahi-daemon --kill || true
""", tmp_path, setup=AVAHI_SETUP, mounts=True)
    found = json.loads((tmp_path / "discover.json").read_text())
    assert [(e["host"], e["store"], e["fingerprint"]) for e in found] == [("10.99.0.1", "S001", fingerprint)]
    resolved = [line.split(";") for line in (tmp_path / "avahi.txt").read_text().splitlines() if line.startswith("=")]
    assert resolved, (tmp_path / "avahi.txt").read_text()
    assert resolved[0][7:9] == ["10.99.0.1", "8701"]  # address and port, as avahi resolved them
    assert f'"fingerprint={fingerprint}"' in resolved[0][9] and '"scheme=https"' in resolved[0][9]


@needs_namespace
def test_discover_finds_nothing_when_no_edge_serves(tmp_path):
    _in_namespace(f"{BIN / 'fidelis-edge'} discover --json --timeout 1 > {tmp_path}/found.json", tmp_path)
    assert json.loads((tmp_path / "found.json").read_text()) == []


@pytest.mark.parametrize("host, mode, announced", [
    ("127.0.0.1", "auto", False), ("127.0.0.1", "off", False), ("0.0.0.0", "off", False)])
def test_a_box_on_loopback_or_told_not_to_stays_silent(edge_dir, host, mode, announced):
    # Never announced means no zeroconf socket at all: nothing can reach the real LAN.
    box = boxes.load(edge_dir)
    advertiser = start_advertising(Listener(host, 8701, True), box, None, mode, provisioned=False)
    assert (advertiser is not None) is announced
