"""An entry central refuses is never silent: a real central and a real edge on loopback.

The till API refuses every body central would refuse, and the change log will not sign one,
so the only way left to make such an entry is what a bug would do: write it through the
edge's own change-log code with the check bypassed.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from edge import box as boxes
from edge.changelog import UnsignableBody
from edge.db import database, write_transaction
from edge.models import LogEntry
from faultproxy import FaultProxy
from nodes import CentralNode, EdgeNode

RULES = {"earn": {"rate": "0.1"}, "tiers": [{"name": "Basic", "threshold": 0}]}


def run(edge: EdgeNode, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([edge.edge, *args, "--data-dir", str(edge.data_dir)], capture_output=True, text=True,
                          timeout=60)


def doctor_line(edge: EdgeNode, name: str) -> tuple[int, str]:
    result = run(edge, "doctor")
    lines = [line for line in result.stdout.splitlines() if line[5:].startswith(name)]
    assert len(lines) == 1, result.stdout
    return result.returncode, lines[0]


def forge(edge: EdgeNode) -> tuple[dict, dict]:
    """Sign a sale and a registration central will refuse, going round the edge's check."""
    box = boxes.load(edge.data_dir)
    try:
        good = json.loads(LogEntry.select().where(LogEntry.kind == "sale.completed").first().line)["body"]
        sale = {**good, "sale_id": str(uuid.uuid4()), "lines": [{**good["lines"][0], "sku": "A\x1b1"}]}
        customer = {"customer_id": str(uuid.uuid4()), "card_number": "2000000000008", "first_name": "Ana\x00",
                    "last_name": "Pop", "email": None, "phone": None, "birth_date": None, "tier": "Basic"}
        with pytest.raises(UnsignableBody):
            with write_transaction():
                box.changelog.append("sale.completed", sale)
        with write_transaction():
            return box.changelog._write("sale.completed", sale), box.changelog._write("customer.registered", customer)
    finally:
        database.close()


def test_an_entry_central_refuses_fails_sync_shows_in_status_and_doctor_and_waits_at_central(tmp_path):
    central = CentralNode(tmp_path / "central")
    central.store("S001", "Main street")
    central.publish(RULES)
    edge = EdgeNode(tmp_path / "S001", central.url, central.enrolment_token("S001"))
    try:
        customer = edge.post("/customers", {"first_name": "Maria", "last_name": "Ionescu"}).json()
        sold = edge.post("/sales", {"customer_id": customer["id"],
                                    "lines": [{"sku": "A1", "qty": 1, "unit_price": 5000}],
                                    "payments": [{"method": "cash", "amount": 5000}]})
        assert sold.status_code == 201, sold.text
        edge.wait_synced()
        assert doctor_line(edge, "rejected")[1].startswith("ok   rejected")
        edge.stop()
        sale, registration = forge(edge)

        synced = run(edge, "sync")
        assert synced.returncode == 1
        assert (f"central rejected 2 entries: seq {sale['seq']} sale.completed (malformed_body: lines[0]: sku must "
                f"be a string of 1-64 characters without control characters), seq {registration['seq']} "
                "customer.registered (malformed_body: first_name must be") in synced.stderr
        assert "exceptions queue" in synced.stderr
        status = edge.status()
        assert (status["rejected_entries"], status["pending_entries"]) == (2, 0)
        code, line = doctor_line(edge, "rejected")
        assert code != 0 and line.startswith("FAIL rejected") and f"seq {sale['seq']} sale.completed" in line
        assert "check central's exceptions queue" in line

        exported = {json.loads(line)["seq"]: line for line in edge.export()}
        queued = {e["seq"]: e for e in central.api("/exceptions?kind=malformed_body").json()}
        assert sorted(queued) == [sale["seq"], registration["seq"]]
        for entry in (sale, registration):
            assert queued[entry["seq"]]["entry_id"] == entry["id"]
            assert queued[entry["seq"]]["details"]["line"] == exported[entry["seq"]]
        listed = central.cli("exceptions", "list", "--kind", "malformed_body")
        assert f"seq={sale['seq']}" in listed and sale["id"] in listed and registration["id"] in listed

        edge.start()
        assert edge.get("/status").json()["rejected_entries"] == 2
        assert run(edge, "sync").returncode == 1  # still reported until someone sees to it
        assert json.loads(run(edge, "log", "rejected", "--json").stdout)["rejected"][0]["kind"] == "sale.completed"
        assert run(edge, "log", "dismiss", "--all").returncode == 0
        assert edge.get("/status").json()["rejected_entries"] == 0
        assert run(edge, "sync").returncode == 0
        assert doctor_line(edge, "rejected")[1].startswith("ok   rejected")
    finally:
        edge.stop()
        central.stop()


def test_a_rejection_whose_reply_was_lost_is_still_recorded_on_the_next_sync(tmp_path):
    central = CentralNode(tmp_path / "central")
    central.store("S001", "Main street")
    central.publish(RULES)
    proxy = FaultProxy(central.url)
    edge = EdgeNode(tmp_path / "S001", proxy.url, central.enrolment_token("S001"))
    try:
        customer = edge.post("/customers", {"first_name": "Maria", "last_name": "Ionescu"}).json()
        edge.post("/sales", {"customer_id": customer["id"], "lines": [{"sku": "A1", "qty": 1, "unit_price": 700}],
                             "payments": [{"method": "cash", "amount": 700}]})
        edge.wait_synced()
        edge.stop()
        sale, registration = forge(edge)
        faults = ["drop_response"]  # central applies the push, the edge never hears the answer
        proxy.plan = lambda method, path: faults.pop() if path.startswith("/sync/v1/push") and faults else "pass"

        lost = run(edge, "sync")
        assert lost.returncode == 1 and "cannot be reached" in lost.stderr
        assert edge.status()["rejected_entries"] == 0
        again = run(edge, "sync")
        assert again.returncode == 1
        assert f"central rejected 2 entries: seq {sale['seq']} sale.completed (malformed_body" in again.stderr
        assert edge.status()["rejected_entries"] == 2
    finally:
        edge.stop()
        proxy.stop()
        central.stop()
