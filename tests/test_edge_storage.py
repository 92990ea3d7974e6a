"""A corrupt database serves read-only; a full disk answers 507, writes nothing, and recovers."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import EdgeProcess, run_cli, sale_body
from edge.db import database
from edge.models import IdempotencyRecord, LogEntry, Sale
from test_edge_durability import check_ledger_against_log


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _corrupt_sale_table(db_path: Path) -> None:
    """Overwrite the cell pointers of the ``sale`` table's root page, as a failing disk would."""
    with sqlite3.connect(db_path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sale'").fetchone()[0]
    db.close()
    with open(db_path, "r+b") as file:
        file.seek((root - 1) * page_size + 8)
        file.write(b"\xff" * 8)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_corrupt_copy_starts_read_only_refuses_every_write_and_doctor_names_the_restore(edge_dir, tmp_path):
    key = run_cli("till", "add", "--name", "till-1", data_dir=edge_dir).stdout.strip()
    edge = EdgeProcess(edge_dir)
    try:
        sold = requests.post(f"{edge.url}/sales", json=sale_body(), headers=_auth(key), timeout=10).json()["id"]
    finally:
        edge.stop()
    good = Path(run_cli("backup", data_dir=edge_dir).stdout.strip())
    box = tmp_path / "copy"
    shutil.copytree(edge_dir, box)
    _corrupt_sale_table(box / "edge.db")
    damaged = _sha256(box / "edge.db")

    edge = EdgeProcess(box)  # it starts: tills can still look customers up
    try:
        assert requests.get(f"{edge.url}/health", timeout=5).json()["status"] == "read_only"
        for path, body in (("/sales", sale_body()), ("/customers", {"first_name": "A", "last_name": "B"}),
                           (f"/sales/{sold}/returns", {"lines": [{"sku": "A1", "qty": 1}]})):
            refused = requests.post(f"{edge.url}{path}", json=body, headers=_auth(key), timeout=10)
            assert refused.status_code == 503, (path, refused.text)
            assert refused.json()["error"]["code"] == "database_corrupt"
            assert "quick_check" in refused.json()["error"]["details"]["reason"]
        status = requests.get(f"{edge.url}/status", headers=_auth(key), timeout=10).json()
        assert status["database"]["integrity"] == "corrupt" and status["database"]["read_only"] is True
        assert status["log_head"]["seq"] > 0  # what can be read is still reported
        assert run_cli("till", "add", "--name", "till-2", data_dir=box, check=False).returncode == 1
        cli_status = run_cli("status", data_dir=box).stdout
        assert "CORRUPT, serving read-only" in cli_status
        doctor = run_cli("doctor", data_dir=box, check=False)
        assert doctor.returncode == 1
        line = next(line for line in doctor.stdout.splitlines() if " database " in line)
        assert line.startswith("FAIL database   CORRUPT")
        assert f"fidelis-edge restore {box / 'backups' / good.name}" in line  # the newest good copy
        report = json.loads(run_cli("doctor", "--json", data_dir=box, check=False).stdout)
        assert report["ok"] is False and report["checks"][0]["name"] == "database" and report["checks"][0]["fix"]
    finally:
        edge.stop()
    assert _sha256(box / "edge.db") == damaged  # nothing was sold into it

    copy = box / "backups" / good.name
    run_cli("restore", str(copy), data_dir=box)
    edge = EdgeProcess(box)
    try:
        assert requests.get(f"{edge.url}/health", timeout=5).json() == {"status": "ok"}
        again = requests.post(f"{edge.url}/sales", json=sale_body(), headers=_auth(key), timeout=10)
        assert again.status_code == 201, again.text
    finally:
        edge.stop()
    check_ledger_against_log(box)


def test_a_full_database_answers_507_writes_nothing_and_recovers_in_place(till, customer):
    database.execute_sql("PRAGMA max_page_count = %d" % database.execute_sql("PRAGMA page_count").fetchone()[0])
    try:
        for attempt in range(200):
            before = (LogEntry.select().count(), Sale.select().count(), IdempotencyRecord.select().count())
            key = {"Idempotency-Key": f"full-{attempt}"}
            response = till.post("/api/v1/sales", json=sale_body(customer["id"]), headers=key)
            if response.status_code != 201:
                break
        else:
            pytest.fail("the database never filled up")
        assert response.status_code == 507, response.json
        assert response.json["error"]["code"] == "storage_full" and response.json["error"]["message"]
        assert (LogEntry.select().count(), Sale.select().count(), IdempotencyRecord.select().count()) == before
    finally:
        database.execute_sql("PRAGMA max_page_count = 1073741823")
    again = till.post("/api/v1/sales", json=sale_body(customer["id"]), headers=key)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert LogEntry.select().count() == before[0] + 1
    check_ledger_against_log(Path(database.database).parent)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs mounted for the test (needs root; skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_gives_the_till_507_and_the_box_recovers_when_space_returns(small_disk):
    data = small_disk / "edge"
    run_cli("init", "--store", "S001", data_dir=data)
    key = run_cli("till", "add", "--name", "till-1", data_dir=data).stdout.strip()
    edge = EdgeProcess(data)
    ballast = small_disk / "ballast"
    try:
        assert requests.post(f"{edge.url}/sales", json=sale_body(), headers=_auth(key), timeout=10).status_code == 201
        with open(ballast, "wb", buffering=0) as fill:  # unbuffered: close() has nothing left to flush
            try:
                while True:
                    fill.write(b"\0" * 65536)
            except OSError:
                pass
        for _ in range(2000):
            response = requests.post(f"{edge.url}/sales", json=sale_body(), headers=_auth(key), timeout=10)
            if response.status_code != 201:
                break
        assert response.status_code == 507, response.text
        assert response.json()["error"]["code"] == "storage_full"
        doctor = run_cli("doctor", data_dir=data, check=False).stdout
        assert any(line.startswith("FAIL disk") for line in doctor.splitlines())

        ballast.unlink()  # space returns: no restart, the next sale simply works
        recovered = requests.post(f"{edge.url}/sales", json=sale_body(), headers=_auth(key), timeout=10)
        assert recovered.status_code == 201, recovered.text
    finally:
        edge.stop()
    entries = check_ledger_against_log(data)
    assert sum(e["kind"] == "sale.completed" for e in entries) == Sale.select().count()


def test_the_openapi_document_tells_tills_about_storage_full_and_database_corrupt(till):
    paths = till.get("/api/v1/openapi.json").json["paths"]
    writes = [(path, ops["post"]) for path, ops in paths.items() if "post" in ops and not path.endswith("/quote")]
    assert {"/api/v1/sales", "/api/v1/customers", "/api/v1/sales/{sale_id}/returns"} <= {p for p, _ in writes}
    for path, operation in writes:
        assert "storage_full" in operation["responses"]["507"]["description"], path
        assert "database_corrupt" in operation["responses"]["503"]["description"], path
    assert "507" not in paths["/api/v1/baskets/quote"]["post"]["responses"]
