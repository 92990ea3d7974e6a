"""TLS on the till API: the box's own certificate, HTTPS off loopback, tills pin the fingerprint."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import BIN, free_port, run_cli, sale_body
from edge import tls
from edge.serving import plan
from tillclient import pinned_session


class HttpsEdge:
    """``fidelis-edge serve --tls`` on a loopback port; ready once a pinned client gets /health."""

    def __init__(self, data_dir: Path, fingerprint: str, *extra: str) -> None:
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}/api/v1"
        self.log = data_dir / "serve.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(BIN / "fidelis-edge"), "serve", "--no-sync", "--port", str(self.port),
                                          "--data-dir", str(data_dir), *extra],
                                         stdout=subprocess.DEVNULL, stderr=log)
        probe = pinned_session(fingerprint)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if probe.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
        raise RuntimeError("edge did not start in 20 s")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def https_edge(edge_dir):
    fingerprint = tls.fingerprint(edge_dir) or tls.ensure_certificate(edge_dir)[0]
    server = HttpsEdge(edge_dir, fingerprint, "--tls")
    yield server, fingerprint
    server.stop()


def _openssl_fingerprint(path: Path) -> str:
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1]


def test_init_makes_a_private_key_and_a_certificate_whose_fingerprint_openssl_agrees_with(tmp_path):
    data = tmp_path / "edge"
    made = json.loads(run_cli("init", "--store", "S001", "--json", data_dir=data).stdout)
    key_file, cert_file = tls.paths(data)
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert made["fingerprint"] == _openssl_fingerprint(cert_file)
    again = json.loads(run_cli("init", "--store", "S001", "--json", data_dir=data).stdout)
    assert again["fingerprint"] == made["fingerprint"]  # never re-keyed: tills have pinned it


def test_status_and_till_add_show_the_fingerprint_tills_pin(edge_dir):
    fingerprint = tls.ensure_certificate(edge_dir)[0]
    assert json.loads(run_cli("status", "--json", data_dir=edge_dir).stdout)["fingerprint"] == fingerprint
    added = run_cli("till", "add", "--name", "till-9", data_dir=edge_dir)
    assert added.stdout.strip().startswith("ftk_") and len(added.stdout.split()) == 1  # only the key
    assert fingerprint in added.stderr


def test_a_till_pinned_to_the_fingerprint_completes_a_sale_over_https(https_edge, edge_dir):
    server, fingerprint = https_edge
    key = run_cli("till", "add", "--name", "till-2", data_dir=edge_dir).stdout.strip()
    till = pinned_session(fingerprint, key)
    customer = till.post(f"{server.url}/customers", json={"first_name": "Ana", "last_name": "Pop",
                                                          "email": "ana@example.com"}, timeout=10)
    assert customer.status_code == 201, customer.text
    sale = till.post(f"{server.url}/sales", json=sale_body(customer.json()["id"]), timeout=10)
    assert sale.status_code == 201, sale.text
    assert sale.json()["points_earned"] == 2
    assert till.get(f"{server.url}/status", timeout=10).json()["fingerprint"] == fingerprint


def test_a_till_pinned_to_another_fingerprint_refuses_the_box(https_edge):
    server, fingerprint = https_edge
    wrong = ":".join(["AB"] * 32)
    with pytest.raises(requests.exceptions.SSLError, match="[Ff]ingerprint"):
        pinned_session(wrong).get(f"{server.url}/health", timeout=10)
    with pytest.raises(requests.exceptions.SSLError):  # nor does an unpinned client trust it
        requests.get(f"{server.url}/health", timeout=10)
    try:  # no till API in clear text on the HTTPS port: a 400 or a reset connection
        assert requests.get(server.url.replace("https://", "http://") + "/health", timeout=10).status_code == 400
    except requests.ConnectionError:
        pass


@pytest.mark.parametrize("host, mode, https", [
    ("0.0.0.0", "auto", True), ("192.168.1.20", "auto", True), ("127.0.0.1", "auto", False),
    ("::1", "auto", False), ("localhost", "auto", False), ("0.0.0.0", "off", False), ("127.0.0.1", "on", True)])
def test_serve_speaks_https_except_on_loopback_or_when_told(host, mode, https):
    assert plan(host, 8701, mode).https is https


def test_a_certificate_without_its_key_is_refused_with_what_to_do(edge_dir):
    key_file, _ = tls.ensure_certificate(edge_dir) and tls.paths(edge_dir)
    key_file.unlink()
    result = run_cli("serve", "--port", str(free_port()), data_dir=edge_dir, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("fidelis-edge: ") and "tls_key.pem" in result.stderr
