"""`fidelis-edge pair`: the code comes out on the receipt printer, head office approves, the box enrols."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import BIN, DEMO_RULES
from nodes import CentralNode


@pytest.fixture
def central(tmp_path):
    node = CentralNode(tmp_path / "central")
    node.store("S001", "Main street")
    node.publish(json.loads(DEMO_RULES.read_text()))
    yield node
    node.stop()


def _pair(data_dir, central_url, printer):
    env = {**os.environ, "FIDELIS_PRINTER": f"file://{printer}", "ESCPOS_CAPABILITIES_PICKLE_DIR": str(data_dir.parent)}
    return subprocess.Popen([str(BIN / "fidelis-edge"), "pair", "--central", central_url, "--poll-interval", "0.1",
                             "--data-dir", str(data_dir), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _edge(*args):
    return subprocess.run([str(BIN / "fidelis-edge"), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_a_fresh_box_pairs_with_a_printed_code_once_head_office_approves_it(central, tmp_path):
    data, printer = tmp_path / "edge", tmp_path / "receipt.bin"
    printer.touch()
    box = _pair(data, central.url, printer)
    try:
        code = box.stdout.readline().strip()  # the code, alone on the first line of stdout
        assert len(code) == 9 and code[4] == "-", code
        assert box.poll() is None  # waiting for head office
        assert "approved for store S001" in central.cli("enroll", "approve", code, "--store", "S001")
        out, err = box.communicate(timeout=60)
    finally:
        if box.poll() is None:
            box.kill()
    assert box.returncode == 0, err
    assert code.encode() in printer.read_bytes()  # the code was on the shop's receipt printer too
    result = json.loads(out)
    assert result["store"] == "S001" and result["synced"] is True
    status = json.loads(_edge("status", "--json", "--data-dir", data).stdout)
    assert status["central"] == central.url and status["pending_entries"] == 0
    assert status["rules_version"] == 1 and status["fingerprint"]  # rules pulled; TLS made
    stores = central.api("/stores").json()
    assert [d["id"] for d in stores[0]["devices"]] == [status["device_id"]]

    again = _edge("pair", "--central", central.url, "--data-dir", data)
    assert again.returncode == 1 and "already provisioned" in again.stderr


def test_pairing_without_a_central_says_what_to_give(tmp_path):
    result = _edge("pair", "--data-dir", tmp_path / "edge")
    assert result.returncode == 1
    assert result.stderr.strip() == "fidelis-edge: no central URL: give --central URL (or central_url in the config file)"
