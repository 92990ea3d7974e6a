"""Real processes over real HTTP: concurrent tills, and kill -9 under load."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from conftest import DEMO_RULES, EdgeProcess, run_cli, sale_body
from edge import box as boxes
from edge.models import LogEntry, PointMovement, Sale
from sync.entry import load_public_key_b64, verify_chain


@pytest.fixture
def edge_dir(tmp_path):
    """An edge on the demo rules without tier discounts: the one customer these tills sell to
    reaches Silver part-way, and every till keeps paying the same fixed total."""
    rules = json.loads(DEMO_RULES.read_text())
    for tier in rules["tiers"]:
        tier["discount_percent"] = 0
    data = tmp_path / "edge"
    boxes.initialise(data, "S001", rules)
    return data


def _register(url: str, key: str) -> str:
    response = requests.post(f"{url}/customers", json={"first_name": "Load", "last_name": "Test"},
                             headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def check_ledger_against_log(data_dir) -> list[dict]:
    """Every sale has its movements and exactly one log entry, and the log verifies."""
    box = boxes.load(data_dir)
    entries = [json.loads(row.line) for row in LogEntry.select().order_by(LogEntry.seq)]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    verify_chain(entries, load_public_key_b64(box.public_key_b64))
    logged = Counter(e["body"]["sale_id"] for e in entries if e["kind"] == "sale.completed")
    sales = {s.id: s for s in Sale.select()}
    assert set(logged) == set(sales) and all(n == 1 for n in logged.values())
    for entry in entries:
        if entry["kind"] != "sale.completed":
            continue
        movements = PointMovement.select().where(PointMovement.sale == entry["body"]["sale_id"])
        assert sum(m.points for m in movements) == entry["body"]["points_earned"]
    integrity = boxes.database.execute_sql("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"
    return entries


def test_eight_concurrent_tills_commit_200_sales_each_once(edge_dir):
    keys = [run_cli("till", "add", "--name", f"till-{i}", data_dir=edge_dir).stdout.strip() for i in range(8)]
    edge = EdgeProcess(edge_dir, threads=8)
    try:
        customer = _register(edge.url, keys[0])
        statuses: list[int] = []

        def till(key: str) -> None:
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {key}"
                for n in range(25):
                    response = session.post(f"{edge.url}/sales", json=sale_body(customer if n % 2 else None),
                                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=30)
                    statuses.append(response.status_code)

        threads = [threading.Thread(target=till, args=(key,)) for key in keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        edge.stop()
    assert statuses == [201] * 200
    entries = check_ledger_against_log(edge_dir)
    assert Sale.select().count() == 200
    assert sum(e["kind"] == "sale.completed" for e in entries) == 200


def test_kill_9_under_load_loses_no_acknowledged_sale(edge_dir):
    key = run_cli("till", "add", "--name", "till-1", data_dir=edge_dir).stdout.strip()
    acknowledged: set[str] = set()
    rng = random.Random(7)
    customer = None
    for round_ in range(3):
        edge = EdgeProcess(edge_dir, threads=4)
        customer = customer or _register(edge.url, key)
        stop = threading.Event()

        def till() -> None:
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {key}"
                while not stop.is_set():
                    try:
                        response = session.post(f"{edge.url}/sales", json=sale_body(customer), timeout=5)
                    except requests.RequestException:
                        return  # the server died mid-request: this sale may or may not exist
                    if response.status_code == 201:
                        acknowledged.add(response.json()["id"])

        threads = [threading.Thread(target=till) for _ in range(4)]
        sold_before = len(acknowledged)
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30  # sales under way on a slow machine too, then a random moment
        while len(acknowledged) < sold_before + 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.8))
        edge.kill()  # SIGKILL: no cleanup, no flush
        stop.set()
        for t in threads:
            t.join()
    assert len(acknowledged) > 20
    check_ledger_against_log(edge_dir)
    committed = {s.id for s in Sale.select()}
    assert acknowledged <= committed
