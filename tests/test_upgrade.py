"""Upgrades: the databases release 0.1.0 left behind open with today's code, without loss.

The files in ``tests/data/release-0.1.0`` were made by that release (see its README); every
test works on a copy. Migrations run forward only, each in one transaction, after a
pre-upgrade backup; a database newer than the code is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import BIN, EdgeProcess, ROOT, free_port, run_cli
from edge import box as boxes
from edge import migrations
from edge.backups import listing
from sync.entry import load_public_key_b64, verify_chain

RELEASE = ROOT / "tests" / "data" / "release-0.1.0"
MANIFEST = json.loads((RELEASE / "manifest.json").read_text())


@pytest.fixture
def kept(tmp_path) -> Path:
    """A copy of the release's files, keys at mode 0600 as the box had them."""
    copy = tmp_path / "release"
    shutil.copytree(RELEASE, copy)
    os.chmod(copy / "edge" / "device_key.pem", 0o600)
    os.chmod(copy / "central" / "central_key.pem", 0o600)
    return copy


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _counts(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in MANIFEST["edge_counts"]}


def test_the_kept_edge_database_opens_with_todays_code_without_loss(kept):
    data = kept / "edge"
    status = json.loads(run_cli("status", "--json", data_dir=data).stdout)
    assert status["log_head"] == MANIFEST["log_head"] and status["pending_entries"] == 0
    assert status["device_id"] == MANIFEST["device_id"] and status["store"] == MANIFEST["store"]
    with sqlite3.connect(data / "edge.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert _counts(data / "edge.db") == MANIFEST["edge_counts"]
    entries = [json.loads(line) for line in run_cli("log", "export", data_dir=data).stdout.splitlines()]
    verify_chain(entries, load_public_key_b64(MANIFEST["device_public_key"]))
    pre = [b for b in listing(data / "backups") if b.kind == "pre-upgrade"]
    # Once a later release adds a migration, opening the kept file upgrades it after a copy.
    assert len(pre) == (1 if MANIFEST["edge_schema"] < len(migrations.MIGRATIONS) else 0)


def test_the_kept_central_database_upgrades_and_the_kept_edge_syncs_and_sells_with_it(kept):
    env = {**os.environ, "FIDELIS_DATABASE_URL": f"sqlite:///{kept / 'central' / 'central.db'}",
           "FIDELIS_CENTRAL_KEY": str(kept / "central" / "central_key.pem")}

    def central_cli(*args: str) -> str:
        result = subprocess.run([str(BIN / "fidelis-central"), *args], capture_output=True, text=True, env=env,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "schema" in central_cli("init")
    stores = json.loads(central_cli("store", "list", "--json"))
    devices = {d["id"]: d for s in (stores["stores"] if isinstance(stores, dict) else stores) for d in s["devices"]}
    assert devices[MANIFEST["device_id"]]["acked_seq"] == MANIFEST["log_head"]["seq"]
    log = central_cli("device", "log", "--id", MANIFEST["device_id"]).splitlines()
    verify_chain([json.loads(line) for line in log], load_public_key_b64(MANIFEST["device_public_key"]))

    port = free_port()
    with open(kept / "central.log", "ab") as out:
        central = subprocess.Popen([str(BIN / "fidelis-central"), "serve", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=out)
    edge = None
    try:
        _wait(f"http://127.0.0.1:{port}/api/v1/health", central)
        # The kept edge knew central at the port it had when the data was made.
        with sqlite3.connect(kept / "edge" / "edge.db") as db:
            db.execute("UPDATE setting SET value = ? WHERE key = 'central_url'", (f"http://127.0.0.1:{port}",))
        db.close()
        key = run_cli("till", "add", "--name", "till-after-upgrade", data_dir=kept / "edge").stdout.strip()
        edge = EdgeProcess(kept / "edge")
        auth = {"Authorization": f"Bearer {key}"}
        for name, customer in MANIFEST["customers"].items():
            seen = requests.get(f"{edge.url}/customers/{customer}", headers=auth, timeout=10).json()
            assert seen["points"] == MANIFEST["edge_points"][customer], name
        ana = MANIFEST["customers"]["ana"]
        sale = requests.post(f"{edge.url}/sales", headers=auth, timeout=10, json={
            "customer_id": ana, "lines": [{"sku": "E5", "qty": 1, "unit_price": 10000}],
            "payments": [{"method": "cash", "amount": 10000}]})
        assert sale.status_code == 201, sale.text
        synced = json.loads(run_cli("sync", "--json", data_dir=kept / "edge").stdout)
        assert synced["acked_seq"] == synced["log_seq"] == MANIFEST["log_head"]["seq"] + 2
        token = central_cli("token", "create", "--name", "upgrade-test").strip()
        brand = requests.get(f"http://127.0.0.1:{port}/api/v1/customers/{ana}",
                             headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        earned = sale.json()["points_earned"]
        assert brand["points"]["available"] == MANIFEST["central_points"][ana]["available"] + earned
    finally:
        if edge is not None:
            edge.stop()
        central.terminate()
        central.wait(timeout=10)


def _wait(url: str, process: subprocess.Popen) -> None:
    for _ in range(200):
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        assert process.poll() is None, "central exited"
        time.sleep(0.1)
    raise AssertionError("central did not start")


def test_a_database_newer_than_the_software_is_refused_and_left_untouched(kept):
    data = kept / "edge"
    with sqlite3.connect(data / "edge.db") as db:
        db.execute(f"PRAGMA user_version = {len(migrations.MIGRATIONS) + 1}")
    db.close()
    before = _sha256(data / "edge.db")
    for command in (("serve", "--no-sync", "--port", str(free_port())), ("status",), ("till", "add", "--name", "x")):
        result = run_cli(*command, data_dir=data, check=False)
        assert result.returncode == 1, command
        assert "is newer than this software" in result.stderr and "Traceback" not in result.stderr
    assert _sha256(data / "edge.db") == before

    central_url = f"sqlite:///{kept / 'central' / 'central.db'}"
    with sqlite3.connect(kept / "central" / "central.db") as db:
        db.execute("INSERT INTO schema_version (version, applied_at) VALUES (99, '2030-01-01T00:00:00.000Z')")
    db.close()
    for command in (("init",), ("serve", "--port", str(free_port()))):
        result = subprocess.run([str(BIN / "fidelis-central"), *command, "--database", central_url, "--key-file",
                                 str(kept / "central" / "central_key.pem")], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 1 and "newer than this software" in result.stderr, result.stderr


def test_a_migration_runs_after_a_pre_upgrade_backup_and_in_one_transaction(kept):
    data = kept / "edge"
    with sqlite3.connect(data / "edge.db") as db:  # the kept release is behind today's schema
        behind = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    assert behind < len(migrations.MIGRATIONS)
    run_cli("status", data_dir=data)
    copies = [b for b in listing(data / "backups") if b.kind == "pre-upgrade"]
    assert len(copies) == 1
    with sqlite3.connect(copies[0].path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == behind
    with sqlite3.connect(data / "edge.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert _counts(data / "edge.db") == MANIFEST["edge_counts"]
    run_cli("status", data_dir=data)  # up to date now: no second copy
    assert len([b for b in listing(data / "backups") if b.kind == "pre-upgrade"]) == 1

    def failing(db) -> None:
        db.execute_sql("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("migration failed half-way")

    migrations.MIGRATIONS.append(failing)
    try:
        with pytest.raises(RuntimeError, match="half-way"):
            boxes.load(data)
    finally:
        migrations.MIGRATIONS.remove(failing)
        boxes.database.close()
    with sqlite3.connect(data / "edge.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None
