"""Group commit: sales arriving together share one COMMIT, each answered only once it is durable.

Tills sell at the same moment through the real app; the box must answer each exactly as if it
had sold alone: a refused sale takes nothing of the others with it, every accepted sale is in
the change log in the order the box made it, and the log's chain holds.
"""

from __future__ import annotations

import json
import threading
import time

from edge import db as edge_db
from edge import tills
from edge.changelog import export_lines
from sync.entry import load_public_key_b64, verify_chain

SALE = {"lines": [{"sku": "A1", "qty": 1, "unit_price": 2000}], "payments": [{"method": "cash", "amount": 2000}]}


def _sell(app, key: str, body: dict, answers: list, index: int) -> None:
    client = app.test_client()
    response = client.post("/api/v1/sales", json=body, headers={"Authorization": f"Bearer {key}"})
    answers[index] = (response.status_code, response.get_json())


def _log(box) -> list[dict]:
    """The box's whole change log, its signatures and chain checked."""
    entries = [json.loads(line) for line in export_lines()]
    verify_chain(entries, load_public_key_b64(box.public_key_b64))
    return entries


def _commits(app) -> list[str]:
    """Every COMMIT the box's connections issue from now on (SQLite's own trace)."""
    seen: list[str] = []
    original = edge_db.database._connect

    def traced(*args, **kwargs):
        connection = original(*args, **kwargs)
        connection.set_trace_callback(lambda sql: seen.append(sql) if sql.startswith("COMMIT") else None)
        return connection

    edge_db.database._connect = traced
    edge_db.database.close()
    return seen


def test_sixteen_tills_selling_at_once_are_all_answered_and_logged_in_one_unbroken_chain(app):
    box = app.extensions["fidelis_edge"]
    keys = [tills.add(box, f"till-{n}")[1] for n in range(16)]
    answers: list = [None] * 64
    threads = [threading.Thread(target=_sell, args=(app, keys[n % 16], SALE, answers, n)) for n in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _ in answers] == [201] * 64, [a for a in answers if a[0] != 201][:2]
    sale_ids = {body["id"] for _, body in answers}
    assert len(sale_ids) == 64
    logged = [e for e in _log(box) if e["kind"] == "sale.completed"]
    assert sorted(e["body"]["sale_id"] for e in logged) == sorted(sale_ids)
    for sale_id in list(sale_ids)[:8]:
        again = app.test_client().get(f"/api/v1/sales/{sale_id}", headers={"Authorization": f"Bearer {keys[0]}"})
        assert again.status_code == 200 and again.get_json()["total"] == 2000


def test_a_sale_refused_inside_a_group_takes_nothing_of_the_others_with_it(app, till):
    box = app.extensions["fidelis_edge"]
    keys = [tills.add(box, f"till-{n}")[1] for n in range(3)]
    card = till.post("/api/v1/gift-cards", json={"amount": 2000}).json["code"]
    with_card = {"lines": SALE["lines"], "payments": [{"method": "gift_card", "code": card, "amount": 2000}]}
    commits = _commits(app)
    # Two tills take the same gift card at once: both pass the checks made before the
    # transaction, the second finds the card used inside it and is refused alone.
    bodies = [SALE, with_card, with_card]
    answers: list = [None] * 3
    threads = [threading.Thread(target=_sell, args=(app, keys[n], bodies[n], answers, n)) for n in range(3)]
    # Another writer holds the database (as a backup or the sync loop can): the first sale waits
    # for it, the two after it queue behind that sale and are committed together.
    with edge_db._write_lock:
        threads[0].start()
        _until(lambda: edge_db._leading)
        threads[1].start()
        _until(lambda: len(edge_db._queue) == 1)
        threads[2].start()
        _until(lambda: len(edge_db._queue) == 2)
        commits.clear()
    for thread in threads:
        thread.join(timeout=30)
    assert [status for status, _ in answers] == [201, 201, 422]
    assert answers[2][1]["error"]["code"] == "gift_card_used"
    assert len(commits) == 2  # the first sale alone, then the other two in one transaction
    logged = [e["body"]["sale_id"] for e in _log(box) if e["kind"] == "sale.completed"]
    assert logged == [answers[0][1]["id"], answers[1][1]["id"]]
    assert answers[1][1]["gift_cards"][0]["paid"] == 2000
    assert till.get(f"/api/v1/gift-cards/{card}").json["status"] == "used"


def test_a_repeated_idempotency_key_in_the_same_group_records_one_sale(app):
    box = app.extensions["fidelis_edge"]
    key = tills.add(box, "till-x")[1]
    answers: list = [None] * 4

    def sell(index: int) -> None:
        client = app.test_client()
        response = client.post("/api/v1/sales", json=SALE,
                               headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "same-basket"})
        answers[index] = (response.status_code, response.get_json(), response.headers.get("Idempotent-Replayed"))

    threads = [threading.Thread(target=sell, args=(n,)) for n in range(4)]
    with edge_db._write_lock:
        for thread in threads:
            thread.start()
        _until(lambda: len(edge_db._queue) >= 3)
    for thread in threads:
        thread.join(timeout=30)
    assert {status for status, _, _ in answers} == {201}
    assert len({body["id"] for _, body, _ in answers}) == 1
    assert sum(1 for *_, replayed in answers if replayed) == 3
    logged = [e for e in _log(box) if e["kind"] == "sale.completed"]
    assert len(logged) == 1


def _until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the sales did not queue")
        time.sleep(0.005)


def test_a_write_that_asks_for_a_grouped_write_itself_becomes_part_of_it(app):
    box = app.extensions["fidelis_edge"]
    key = tills.add(box, "till-n")[1]
    answer: list = []

    def nested() -> None:
        # The inner write runs inside the outer one's transaction instead of waiting for a
        # group that cannot commit before the outer write returns.
        with app.test_request_context():
            answer.append(edge_db.grouped(lambda: edge_db.grouped(lambda: "inner") + " in outer"))

    worker = threading.Thread(target=nested, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert answer == ["inner in outer"], "a nested write waited on its own group"
    sale = app.test_client().post("/api/v1/sales", json=SALE, headers={"Authorization": f"Bearer {key}"})
    assert sale.status_code == 201
