"""``fidelis-edge backup`` and ``restore``: real copies of a serving box, checked and put back."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DEMO_RULES, EdgeProcess, run_cli, sale_body
from edge import backups
from nodes import CentralNode, EdgeNode


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sales_in(path: Path) -> set[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT id FROM sale")}


def _sell(url: str, key: str) -> str:
    response = requests.post(f"{url}/sales", json=sale_body(), headers={"Authorization": f"Bearer {key}"},
                             timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_backup_taken_while_tills_sell_is_consistent_private_and_checksummed(edge_dir):
    key = run_cli("till", "add", "--name", "till-1", data_dir=edge_dir).stdout.strip()
    edge = EdgeProcess(edge_dir)
    sold: list[str] = []
    stop = threading.Event()

    def till() -> None:
        while not stop.is_set():
            sold.append(_sell(edge.url, key))

    seller = threading.Thread(target=till)
    try:
        _sell(edge.url, key)
        seller.start()
        result = run_cli("backup", "--json", data_dir=edge_dir)
        stop.set()
        seller.join()
    finally:
        stop.set()
        edge.stop()
    made = json.loads(result.stdout)
    copy = Path(made["path"])
    assert copy.parent == edge_dir / "backups" and copy.name.endswith("-daily.db")
    assert os.stat(copy).st_mode & 0o777 == 0o600
    checksum = copy.with_name(copy.name + ".sha256")
    assert os.stat(checksum).st_mode & 0o777 == 0o600
    assert checksum.read_text() == f"{_sha256(copy)}  {copy.name}\n" and made["sha256"] == _sha256(copy)
    assert not copy.with_name(copy.name + "-wal").exists()  # self-contained: one file
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        entries = [json.loads(line) for (line,) in db.execute("SELECT line FROM logentry ORDER BY seq")]
        sales = {row[0] for row in db.execute("SELECT id FROM sale")}
    # A snapshot: a whole prefix of the log, and every sale in it is in the copy with its entry.
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert sales == {e["body"]["sale_id"] for e in entries if e["kind"] == "sale.completed"}
    assert sales <= set(sold) | _sales_in(edge_dir / "edge.db")


def test_backup_restore_round_trip_on_a_standalone_box(edge_dir):
    key = run_cli("till", "add", "--name", "till-1", data_dir=edge_dir).stdout.strip()
    edge = EdgeProcess(edge_dir)
    try:
        kept = _sell(edge.url, key)
        copy = Path(run_cli("backup", data_dir=edge_dir).stdout.strip())
        later = _sell(edge.url, key)
        refused = run_cli("restore", str(copy), data_dir=edge_dir, check=False)
    finally:
        edge.stop()
    assert refused.returncode == 1 and "stop it first" in refused.stderr

    restored = run_cli("restore", str(copy), data_dir=edge_dir)
    assert "restored" in restored.stdout and "1 more log entries" in restored.stderr
    assert _sales_in(edge_dir / "edge.db") == _sales_in(copy) and kept in _sales_in(copy)
    aside = sorted(edge_dir.glob("edge.db.replaced-*[0-9]Z"))
    assert len(aside) == 1 and later in _sales_in(aside[0])  # nothing given up is deleted

    edge = EdgeProcess(edge_dir)
    try:
        after = _sell(edge.url, key)
    finally:
        edge.stop()
    lines = run_cli("log", "export", data_dir=edge_dir).stdout.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    sold = [e["body"]["sale_id"] for e in entries if e["kind"] == "sale.completed"]
    assert sold == [kept, after]


def test_restore_refuses_a_damaged_copy_or_one_from_another_box(edge_dir, tmp_path):
    copy = Path(run_cli("backup", data_dir=edge_dir).stdout.strip())
    before = _sha256(edge_dir / "edge.db")
    damaged = tmp_path / copy.name
    damaged.write_bytes(copy.read_bytes()[:-1] + b"\x01")
    damaged.with_name(damaged.name + ".sha256").write_text(copy.with_name(copy.name + ".sha256").read_text())
    result = run_cli("restore", str(damaged), data_dir=edge_dir, check=False)
    assert result.returncode == 1 and "does not match its recorded SHA-256" in result.stderr

    other = tmp_path / "other"
    run_cli("init", "--store", "S002", data_dir=other)
    foreign = Path(run_cli("backup", data_dir=other).stdout.strip())
    result = run_cli("restore", str(foreign), data_dir=edge_dir, check=False)
    assert result.returncode == 1 and "made by another device" in result.stderr
    # A database whose log is still empty (a box whose first provision failed) names no key:
    # its device id says whose it is.
    empty = tmp_path / "empty"
    assert run_cli("provision", "--central", "http://127.0.0.1:9", "--token", "t", data_dir=empty,
                   check=False).returncode == 1
    result = run_cli("restore", str(empty / "edge.db"), data_dir=edge_dir, check=False)
    assert result.returncode == 1 and "made by another device" in result.stderr
    assert _sha256(edge_dir / "edge.db") == before


def test_a_new_disk_with_the_key_put_back_restores_the_boxs_own_copy(edge_dir, tmp_path):
    copy = Path(run_cli("backup", "--dir", str(tmp_path / "usb"), data_dir=edge_dir).stdout.strip())
    for part in edge_dir.glob("edge.db*"):  # the disk is replaced; the key was kept apart
        part.unlink()
    run_cli("init", "--store", "S001", data_dir=edge_dir)  # a fresh database with a new device id
    restored = run_cli("restore", str(copy), data_dir=edge_dir)
    assert "restored" in restored.stdout


def test_the_database_a_restore_set_aside_can_be_restored_with_its_wal(edge_dir):
    key = run_cli("till", "add", "--name", "till-1", data_dir=edge_dir).stdout.strip()
    copy = Path(run_cli("backup", data_dir=edge_dir).stdout.strip())
    edge = EdgeProcess(edge_dir)
    try:
        later = [_sell(edge.url, key) for _ in range(3)]
    finally:
        edge.kill()  # no checkpoint: the three sales live in the -wal beside the database
    head = len(run_cli("log", "export", data_dir=edge_dir).stdout.splitlines())
    run_cli("restore", str(copy), data_dir=edge_dir)
    [aside] = sorted(edge_dir.glob("edge.db.replaced-*[0-9]Z"))
    assert aside.with_name(aside.name + "-wal").exists()
    back = run_cli("restore", str(aside), data_dir=edge_dir)
    assert f"log head seq {head}" in back.stdout
    assert set(later) <= _sales_in(edge_dir / "edge.db")


def test_restore_refuses_a_copy_older_than_central_acknowledged_unless_forced(tmp_path):
    central = CentralNode(tmp_path / "central")
    edge = None
    try:
        central.store("S001", "Main street")
        central.publish(json.loads(DEMO_RULES.read_text()))
        edge = EdgeNode(tmp_path / "edge", central.url, central.enrolment_token("S001"))
        assert edge.post("/sales", sale_body()).status_code == 201
        copy = Path(_run_edge(edge, "backup"))
        assert edge.post("/sales", sale_body()).status_code == 201
        acked = edge.wait_synced()["log_head"]["seq"]
        edge.stop()
        before = _sha256(edge.data_dir / "edge.db")

        refused = run_cli("restore", str(copy), data_dir=edge.data_dir, check=False)
        assert refused.returncode == 1
        assert f"central has acknowledged {acked}" in refused.stderr and "central (http" in refused.stderr
        central.kill()  # offline: the box's own record of the acknowledgement still refuses it
        refused = run_cli("restore", str(copy), data_dir=edge.data_dir, check=False)
        assert refused.returncode == 1 and "this box's record" in refused.stderr
        assert _sha256(edge.data_dir / "edge.db") == before

        forced = run_cli("restore", str(copy), "--force", data_dir=edge.data_dir)
        assert "forced" in forced.stderr
        central.start()
        synced = edge.sync()
        assert synced.returncode == 1 and "restored from an old backup" in synced.stderr
    finally:
        if edge is not None:
            edge.stop()
        central.stop()


def test_a_copy_from_before_provisioning_is_refused_on_the_provisioned_box(edge_dir, tmp_path):
    copy = Path(run_cli("backup", data_dir=edge_dir).stdout.strip())  # standalone, as installed
    central = CentralNode(tmp_path / "central")
    try:
        central.store("S001", "Main street")
        central.publish(json.loads(DEMO_RULES.read_text()))
        run_cli("provision", "--central", central.url, "--token", central.enrolment_token("S001"), data_dir=edge_dir)
        before = _sha256(edge_dir / "edge.db")
        refused = run_cli("restore", str(copy), data_dir=edge_dir, check=False)
        assert refused.returncode == 1 and "made before this box was provisioned" in refused.stderr
        assert _sha256(edge_dir / "edge.db") == before
        assert run_cli("sync", data_dir=edge_dir).returncode == 0  # still enrolled, still in step
        # A damaged log (the usual reason to restore) does not hide the enrolment the settings hold.
        with sqlite3.connect(edge_dir / "edge.db") as live:
            live.execute("DROP TABLE logentry")
        live.close()
        refused = run_cli("restore", str(copy), data_dir=edge_dir, check=False)
        assert refused.returncode == 1 and "made before this box was provisioned" in refused.stderr
    finally:
        central.stop()


def _run_edge(edge: EdgeNode, *args: str) -> str:
    return run_cli(*args, data_dir=edge.data_dir).stdout.strip()


def test_daily_backups_over_forty_days_keep_seven_daily_four_weekly_and_three_pre_upgrade(edge_dir):
    start = datetime(2026, 1, 1, 2, 30, tzinfo=timezone.utc)
    for day in range(40):
        backups.take(edge_dir, backups.DAILY, now=start + timedelta(days=day))
    for n in range(5):
        backups.take(edge_dir, backups.PRE_UPGRADE, now=start + timedelta(days=10 * n, hours=3))
    left = backups.listing(edge_dir / "backups")
    daily = [b.taken_at.date().isoformat() for b in left if b.kind == backups.DAILY]
    # The last 7 days (Jan 34..40 = Feb 3..9), plus the newest copy of each of the 4 last weeks.
    assert daily == ["2026-01-25", "2026-02-01", "2026-02-03", "2026-02-04", "2026-02-05", "2026-02-06",
                     "2026-02-07", "2026-02-08", "2026-02-09"]
    assert [b.taken_at.day for b in left if b.kind == backups.PRE_UPGRADE] == [21, 31, 10]
    files = sorted(p.name for p in (edge_dir / "backups").iterdir())
    assert files == sorted([b.path.name for b in left] + [b.path.name + ".sha256" for b in left])


_times = st.lists(st.tuples(st.integers(0, 24 * 120), st.sampled_from(backups.KINDS)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(_times)
def test_retention_keeps_the_newest_copy_of_each_recent_day_and_week_and_the_last_pre_upgrade(spec):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    found = [backups.Backup(Path(f"/b/{i}"), start + timedelta(hours=h), kind) for i, (h, kind) in enumerate(spec)]
    keep = backups.retained(found)
    daily = sorted((b for b in found if b.kind == backups.DAILY), key=lambda b: (b.taken_at, b.path.name))
    pre = sorted((b for b in found if b.kind == backups.PRE_UPGRADE), key=lambda b: (b.taken_at, b.path.name))
    assert len([p for p in keep if p in {b.path for b in daily}]) <= backups.KEEP_DAILY + backups.KEEP_WEEKLY
    assert {b.path for b in pre[-backups.KEEP_PRE_UPGRADE:]} <= keep
    assert not {b.path for b in pre[:-backups.KEEP_PRE_UPGRADE]} & keep
    if daily:
        assert daily[-1].path in keep
    days = sorted({b.taken_at.date() for b in daily}, reverse=True)[:backups.KEEP_DAILY]
    for day in days:
        newest = [b for b in daily if b.taken_at.date() == day][-1]
        assert newest.path in keep
