"""Edge → central over HTTPS: central's certificate is verified (a CA file for a private CA),
and one pooled session carries the sync loop's and the tills' calls."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from conftest import BIN
from edge import box as boxes
from edge import syncer
from nodes import CentralNode
from tlsrelay import TlsRelay, make_ca_and_server_cert


@pytest.fixture
def https_central(tmp_path):
    central = CentralNode(tmp_path / "central")
    central.store("S001", "Main street")
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    relay = TlsRelay(central.port, cert, key)
    yield central, relay, ca
    relay.stop()
    central.stop()


def _edge(*args, env=None):
    return subprocess.run([str(BIN / "fidelis-edge"), *map(str, args)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_provision_over_https_trusts_only_the_brand_ca_it_is_given(https_central, tmp_path):
    central, relay, ca = https_central
    data = tmp_path / "edge"
    token = central.enrolment_token("S001")
    refused = _edge("provision", "--central", relay.url, "--token", token, "--data-dir", data)
    assert refused.returncode == 1
    assert refused.stderr.startswith("fidelis-edge: ") and "certificate" in refused.stderr
    assert "--ca-file" in refused.stderr  # says what to do

    done = _edge("provision", "--central", relay.url, "--token", token, "--ca-file", ca, "--data-dir", data, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["synced"] is True
    # Later commands take the CA from the configuration (file or environment).
    synced = _edge("sync", "--data-dir", data, env={"FIDELIS_CENTRAL_CA_FILE": str(ca)})
    assert synced.returncode == 0, synced.stderr
    assert _edge("sync", "--data-dir", data).returncode == 1  # and without it, central is not trusted


def test_sync_and_authorizations_share_one_pooled_connection(https_central, tmp_path):
    central, relay, ca = https_central
    data = tmp_path / "edge"
    token = central.enrolment_token("S001")
    assert _edge("provision", "--central", relay.url, "--token", token, "--ca-file", ca,
                 "--data-dir", data).returncode == 0
    before = relay.connections
    syncer.use_ca_file(str(ca))
    try:
        box = boxes.load(data)
        for _ in range(3):
            syncer.sync_once(box, syncer.client_for(box))
        for _ in range(3):  # a till asking central to hold points (central does not know this customer)
            assert syncer.authorize(box, str(uuid.uuid4()), 5, str(uuid.uuid4())) is None
    finally:
        syncer.use_ca_file(None)
    assert relay.connections - before == 1  # a new session per call would open 6 connections
