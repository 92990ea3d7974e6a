"""Schemathesis against both servers over real HTTP, driven by each one's own OpenAPI document.

A short pass runs with the suite (``make test``); ``make fuzz`` runs a long one with more
examples and a seed from the environment. Every check is on (tests/fuzz/schemathesis.toml
says which statuses are widened and why), with the stateful phase; the run fails on any 5xx
and on any response the document does not describe.

``FIDELIS_FUZZ_EXAMPLES`` (per operation and phase; default 25) and ``FIDELIS_FUZZ_SEED``
(default fixed) size and steer the run. A failure prints schemathesis' report with a curl
line that reproduces each problem.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
import requests

from conftest import BIN, DEMO_RULES, ROOT, EdgeProcess
from edge import box as boxes
from edge import tills
from nodes import CentralNode
from sync.entry import generate_private_key, public_key_raw_b64, write_private_key_file

EXAMPLES = int(os.environ.get("FIDELIS_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("FIDELIS_FUZZ_SEED", "20261201"))
CONFIG = ROOT / "tests" / "fuzz" / "schemathesis.toml"
PHASES = "examples,coverage,fuzzing,stateful"


def _fuzz(schema_url: str, secret: str, workdir, *extra: str, env: dict | None = None) -> None:
    """Run ``schemathesis run`` on ``schema_url``; fail with its report when it finds anything."""
    command = [
        str(BIN / "schemathesis"), "--no-color", "--config-file", str(CONFIG), "run", schema_url,
        "--header", f"Authorization: Bearer {secret}", "--checks", "all", "--phases", PHASES,
        "--seed", str(SEED), "--max-examples", str(EXAMPLES), "--workers", "1",
        "--generation-database", "none", "--continue-on-failure", "--request-timeout", "20", "--output-truncate", "false", *extra,
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=workdir, timeout=1800,
                            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false", **(env or {})})
    report = result.stdout + result.stderr
    print(report[-6000:])
    assert result.returncode == 0, report[-20000:]


@pytest.fixture
def fuzzed_edge(tmp_path):
    """A standalone edge with the demo rules, a dummy receipt printer, a till key and one customer."""
    data = tmp_path / "edge"
    boxes.initialise(data, "S001", json.loads(DEMO_RULES.read_text()))
    (data / "config.json").write_text(json.dumps({"printer": "dummy:"}))
    _, key = tills.add(boxes.load(data), "fuzz")
    process = EdgeProcess(data, threads=4)
    process.key = key
    registered = requests.post(f"{process.url}/customers", headers={"Authorization": f"Bearer {key}"},
                               json={"first_name": "Ana", "last_name": "Pop"}, timeout=10)
    assert registered.status_code == 201, registered.text
    yield process
    process.stop()


@pytest.fixture
def fuzzed_central(tmp_path):
    """Central with an API token, store S001 (through its own command line) and an enrolled device."""
    node = CentralNode(tmp_path / "central")
    node.store("S001", "Main street")
    key = generate_private_key()
    node.device_id = str(uuid.uuid4())
    node.device_key_file = tmp_path / "device_key.pem"
    write_private_key_file(node.device_key_file, key)
    enrolled = requests.post(f"{node.url}/sync/v1/enroll", timeout=10, json={
        "token": node.enrolment_token("S001"), "device_id": node.device_id,
        "public_key": public_key_raw_b64(key), "store": "S001"})
    assert enrolled.status_code == 201, enrolled.text
    yield node
    node.stop()


def test_till_api_survives_schemathesis(fuzzed_edge, tmp_path):
    # The scanner long-poll waits up to 30 s by design and is covered by tests/test_edge_devices.py.
    _fuzz(f"{fuzzed_edge.url}/openapi.json", fuzzed_edge.key, tmp_path,
          "--exclude-path", "/api/v1/scanner/next")


def test_central_api_survives_schemathesis(fuzzed_central, tmp_path):
    # The JSON API with the token; the sync API signed as the enrolled device (tests/fuzz/fuzz_hooks.py).
    hooks = {"SCHEMATHESIS_HOOKS": "fuzz_hooks", "PYTHONPATH": os.pathsep.join([str(CONFIG.parent), str(ROOT)]),
             "FIDELIS_FUZZ_DEVICE_ID": fuzzed_central.device_id,
             "FIDELIS_FUZZ_DEVICE_KEY": str(fuzzed_central.device_key_file)}
    _fuzz(f"{fuzzed_central.url}/api/v1/openapi.json", fuzzed_central.token, tmp_path, env=hooks)
