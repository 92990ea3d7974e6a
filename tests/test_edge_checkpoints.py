"""Balance checkpoints on the edge: the balance a till sees is the fold of the whole history,
while a sale reads only the movements since the customer's last checkpoint."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from conftest import DEMO_RULES, TillClient, sale_body
from edge import accounts, tills
from edge import box as boxes
from edge.app import create_app
from edge.db import database, write_transaction
from edge.models import CentralBalance

START = datetime(2026, 5, 4, 10, tzinfo=timezone.utc)


def edge_with_clock(tmp_path, accrual_days=0, expiry_days=None):
    """An edge whose clock the test moves, with points that mature and expire as asked."""
    rules = json.loads(DEMO_RULES.read_text())
    rules["accrual"] = {"delay_days": accrual_days}
    rules["expiry"] = {"policy": "after_days", "days": expiry_days} if expiry_days else {"policy": "never"}
    for tier in rules["tiers"]:
        tier["discount_percent"] = 0
    data = tmp_path / "edge"
    boxes.initialise(data, "S001", rules)
    clock = [START]
    app = create_app(data, {"TESTING": True, "CLOCK": lambda: clock[0]})
    _, key = tills.add(app.extensions["fidelis_edge"], "till-1")
    till = TillClient(app.test_client(), key)
    customer = till.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Pop"}).json
    return till, customer["id"], clock


def points_seen(till, customer_id):
    return till.get(f"/api/v1/customers/{customer_id}").json["points"]


def points_folded(customer_id, now):
    """What folding the customer's whole history says."""
    whole = accounts.whole_account(customer_id)
    found = whole.points(now)
    return {"available": found.available, "pending": found.pending}


def sell(till, customer_id, amount=2500, points=0):
    payments = [{"method": "cash", "amount": amount - points * 10}] if points * 10 < amount else []
    if points:
        payments.append({"method": "points", "points": points})
    response = till.post("/api/v1/sales", json=sale_body(customer_id, [{"sku": "A1", "qty": 1, "unit_price": amount}],
                                                         payments))
    assert response.status_code == 201, response.json
    return response.json


def test_sales_redemptions_and_returns_keep_the_balance_of_the_whole_history(tmp_path):
    till, customer_id, clock = edge_with_clock(tmp_path)
    sales = []
    for n in range(12):
        clock[0] += timedelta(minutes=3)
        sales.append(sell(till, customer_id, 2500 + 100 * n, points=5 if n % 4 == 3 else 0))
        assert accounts.account(customer_id).since is not None  # each sale leaves a checkpoint
        seen = points_seen(till, customer_id)
        assert {k: seen[k] for k in ("available", "pending")} == points_folded(customer_id, clock[0])
        if n % 5 == 4:
            clock[0] += timedelta(minutes=1)
            back = till.post(f"/api/v1/sales/{sales[-2]['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}]})
            assert back.status_code == 201, back.json
            assert back.json["customer"]["points"]["available"] == points_folded(customer_id, clock[0])["available"]
    earned = sum(s["points_earned"] - s["points_redeemed"] for s in sales)
    assert points_seen(till, customer_id)["available"] == earned - _reversed(customer_id) > 0


def _reversed(customer_id):
    rows = database.execute_sql("SELECT -sum(points) FROM pointmovement WHERE customer_id = ? AND kind = 'reverse'",
                                (customer_id,)).fetchone()
    return rows[0] or 0


def test_points_mature_and_expire_on_time_after_the_last_sale(tmp_path):
    """Pending points become spendable a day later and expire two days after that, with no
    further sale to refresh the checkpoint: the balance follows the clock."""
    till, customer_id, clock = edge_with_clock(tmp_path, accrual_days=1, expiry_days=2)
    earned = sell(till, customer_id)["points_earned"]
    assert earned > 0
    assert points_seen(till, customer_id)["pending"] == earned
    clock[0] += timedelta(hours=12)
    assert points_seen(till, customer_id)["pending"] == earned
    more = sell(till, customer_id, 5000)["points_earned"]
    clock[0] += timedelta(hours=13)  # the first sale's points have matured
    assert points_seen(till, customer_id) | {"offline_spendable": 0} == \
        {"available": earned, "pending": more, "offline_spendable": 0}
    clock[0] += timedelta(days=2)  # the first sale's points expired, the second's matured
    seen = points_seen(till, customer_id)
    assert (seen["available"], seen["pending"]) == (more, 0)
    assert {k: seen[k] for k in ("available", "pending")} == points_folded(customer_id, clock[0])


def test_central_word_and_a_clock_set_back_drop_the_checkpoint(tmp_path):
    """What the checkpoint folded changes under it: it is not used again."""
    till, customer_id, clock = edge_with_clock(tmp_path)
    sell(till, customer_id)
    assert accounts.account(customer_id).since is not None
    with write_transaction():
        CentralBalance.replace(customer=customer_id, available=700, pending=0, applied_seq=0,
                               balance_negative=False, lots=json.dumps([]), debt=0,
                               updated_at="2026-05-04T10:00:00.000Z").execute()
    assert accounts.account(customer_id).since is None
    assert points_seen(till, customer_id)["available"] == points_folded(customer_id, clock[0])["available"]
    sell(till, customer_id)
    assert accounts.account(customer_id).since is not None
    clock[0] -= timedelta(hours=1)  # the box's clock was set back: this sale is dated before the last
    sell(till, customer_id)
    clock[0] += timedelta(hours=2)
    seen = points_seen(till, customer_id)
    assert {k: seen[k] for k in ("available", "pending")} == points_folded(customer_id, clock[0])
