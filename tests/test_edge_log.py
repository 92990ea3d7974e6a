"""The exported change log verifies for anyone holding the public key, without our code."""

from __future__ import annotations

import base64
import hashlib
import json
import socket

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from conftest import run_cli, sale_body


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jcs(value) -> bytes:
    """RFC 8785 for integer-only JSON, written from the RFC: keys in UTF-16 order."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return b"{" + b",".join(_jcs(k) + b":" + _jcs(v) for k, v in items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_jcs(v) for v in value) + b"]"
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def verify_log(lines: list[str], public_key_b64: str) -> int:
    """Check every signature, hash link and seq; return the number of entries."""
    key = Ed25519PublicKey.from_public_bytes(_b64url(public_key_b64))
    prev, seq = "0" * 64, 0
    for line in lines:
        entry = json.loads(line)
        sig = _b64url(entry.pop("sig"))
        canonical = _jcs(entry)
        key.verify(sig, b"fidelis/log/v1\x00" + canonical)
        seq += 1
        assert entry["seq"] == seq and entry["prev"] == prev and entry["v"] == 1
        prev = hashlib.sha256(canonical).hexdigest()
    return seq


def test_exported_log_verifies_with_only_cryptography(edge_dir, app, till, customer):
    sale = till.post("/api/v1/sales", json=sale_body(customer["id"])).json
    till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}]})
    status = json.loads(run_cli("status", "--json", data_dir=edge_dir).stdout)
    lines = run_cli("log", "export", data_dir=edge_dir).stdout.splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds == ["device.initialised", "rules.installed", "till.added", "customer.registered",
                     "sale.completed", "sale.returned"]
    assert verify_log(lines, status["device_public_key"]) == 6
    assert status["pending_entries"] == 6
    assert status["log_head"]["seq"] == 6


def test_a_tampered_export_fails_verification(edge_dir, app, till, customer):
    till.post("/api/v1/sales", json=sale_body(customer["id"]))
    status = json.loads(run_cli("status", "--json", data_dir=edge_dir).stdout)
    lines = run_cli("log", "export", data_dir=edge_dir).stdout.splitlines()
    entry = json.loads(lines[-1])
    entry["body"]["points_earned"] += 100
    lines[-1] = json.dumps(entry)
    try:
        verify_log(lines, status["device_public_key"])
    except InvalidSignature:
        return
    raise AssertionError("a tampered entry verified")


def test_the_device_key_is_private_and_init_is_safe_to_repeat(edge_dir):
    key_file = edge_dir / "device_key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    # The database holds till key hashes and customers' data: private too, and its WAL with it.
    assert {path.name: path.stat().st_mode & 0o777 for path in edge_dir.glob("edge.db*")} == \
        {name: 0o600 for name in ("edge.db", "edge.db-wal", "edge.db-shm") if (edge_dir / name).exists()}
    assert (edge_dir / "edge.db").stat().st_mode & 0o777 == 0o600
    before = key_file.read_bytes()
    again = run_cli("init", "--store", "S001", data_dir=edge_dir)
    assert "already initialised" in again.stdout
    assert key_file.read_bytes() == before
    other = run_cli("init", "--store", "S002", data_dir=edge_dir, check=False)
    assert other.returncode != 0
    assert other.stderr.count("\n") == 1 and "S001" in other.stderr


def test_init_refuses_an_invalid_rules_file_listing_every_problem(tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"earn": {"rate": 0.1}, "redeem": {"max_share_percent": 150}}))
    result = run_cli("init", "--store", "S009", "--rules", rules, data_dir=tmp_path / "edge", check=False)
    assert result.returncode != 0
    assert "earn.rate" in result.stderr and "redeem.max_share_percent" in result.stderr
    assert not (tmp_path / "edge" / "edge.db").exists()


def test_commands_on_an_uninitialised_dir_fail_with_one_clear_line(tmp_path):
    for args in (["status"], ["log", "export"], ["till", "add", "--name", "t"]):
        result = run_cli(*args, data_dir=tmp_path / "nothing", check=False)
        assert result.returncode == 1
        assert result.stderr.strip().startswith("fidelis-edge: no edge in")
        assert "Traceback" not in result.stderr


def test_a_data_dir_that_cannot_be_made_is_named_in_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    result = run_cli("init", "--store", "S001", data_dir=tmp_path / "a-file" / "edge", check=False)
    assert (result.returncode, result.stderr) == (1, f"fidelis-edge: {tmp_path / 'a-file' / 'edge'}: Not a directory\n")


def test_usage_errors_are_one_line_naming_the_help(tmp_path):
    for args in (["till", "add"], ["init"], ["discover", "--timeout", "abc"], ["bogus"], ["log", "dismiss"]):
        result = run_cli(*args, data_dir=tmp_path / "edge", check=False)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("fidelis-edge: "), result.stderr
        assert result.stderr.rstrip().endswith("--help)") and result.stdout == ""


@pytest.mark.parametrize("scheme", [[], ["--tls"]], ids=["http", "https"])
def test_serve_on_a_port_already_taken_says_so_in_one_line(edge_dir, scheme):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--no-sync", *scheme, "--port", str(port), data_dir=edge_dir, check=False)
    assert result.returncode == 1
    assert result.stderr == f"fidelis-edge: cannot listen on 127.0.0.1:{port}: Address already in use\n"
