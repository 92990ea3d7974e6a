"""Properties: central's balances equal the fold of the unique entries, whatever the delivery."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central import db, ledger
from shared.ledger import Movement, balance
from shared.times import format_time

NOW = datetime(2030, 6, 15, 12, tzinfo=timezone.utc)

_movement = st.tuples(
    st.sampled_from(["earn", "redeem", "reverse"]),
    st.integers(1, 500),
    st.integers(-40, 5),          # at, in days from NOW
    st.one_of(st.none(), st.integers(-40, 20)),   # available_at offset for earns
    st.one_of(st.none(), st.integers(-30, 60)),   # expires_at offset for earns
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_movement, max_size=12))
def test_the_cached_summary_short_cut_agrees_with_the_full_fold(central, raw):
    """``ledger.balances`` answers from the customer's summary when it can; it must always
    equal ``shared.ledger.balance``, and the summary must be rebuildable from the movements."""
    customer = str(uuid.uuid4())
    db.execute("INSERT INTO customer (id, first_name, last_name, balance_negative, device_id, created_at, updated_at) "
               "VALUES (?, 'P', 'Q', ?, 'd', 'x', 'x')", (customer, False))
    movements, rows, earns = [], [], []
    for n, (kind, points, at_days, available_days, expires_days) in enumerate(raw):
        at = NOW + timedelta(days=at_days)
        ref = f"{customer}:{n}"
        if kind == "earn":
            available = at + timedelta(days=available_days) if available_days is not None else None
            expires = (available or at) + timedelta(days=expires_days) if expires_days is not None else None
            movement = Movement("earn", points, at, ref, available, expires)
            earns.append(ref)
        else:
            lot = earns[-1] if kind == "reverse" and earns else None
            movement = Movement(kind, -points, at, ref, lot=lot)
        movements.append(movement)
        rows.append((ref, customer, movement.kind, movement.points, format_time(at),
                     format_time(movement.available_at) if movement.available_at else None,
                     format_time(movement.expires_at) if movement.expires_at else None,
                     movement.lot, None, "d", "e"))
    db.insert_rows("movement", ledger.MOVEMENT_COLUMNS, rows)
    assert ledger.rebuild_summaries() == (1 if rows else 0)
    got, folded = ledger.balances([customer], NOW)[customer], balance(movements, NOW)
    assert (got.available, got.pending) == (folded.available, folded.pending)


def _expected(entries_by_device: dict[str, list[dict]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for entries in entries_by_device.values():
        for entry in entries:
            body = entry["body"]
            if entry["kind"] == "sale.completed" and body["customer_id"]:
                totals[body["customer_id"]] += body["points_earned"] - body["points_paid"] - body["reward_points"]
            elif entry["kind"] == "sale.returned" and body["customer_id"]:
                totals[body["customer_id"]] -= body["points_reversed"]
    return dict(totals)


_step = st.tuples(st.integers(0, 2), st.integers(0, 12), st.integers(1, 12))
_sale = st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(1, 9), st.integers(0, 30), st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(devices=st.integers(2, 3), sales=st.lists(_sale, min_size=1, max_size=14), schedule=st.lists(_step, max_size=12))
def test_any_schedule_of_pushes_converges_to_the_fold_of_the_unique_entries(central, devices, sales, schedule):
    """Prefixes, repeats and gaps from 2-3 devices, in any order, end at the same balances."""
    registry = central.edge("S001")
    customers = [registry.register(first_name=f"P{n}") for n in range(4)]
    assert registry.push().status_code == 200
    edges = [central.edge(f"S00{n + 2}") for n in range(devices)]
    for device, customer, qty, spend, give_back in sales:
        edge = edges[device % devices]
        sale = edge.sell(customers[customer], [{"sku": "A1", "qty": qty, "unit_price": 1000}],
                         points_paid=min(spend, qty * 1000 // 10), points_earned=None)
        if give_back and sale["points_earned"]:
            edge.give_back(sale, points_reversed=sale["points_earned"])
    for device, start, length in schedule:  # random windows: duplicates, overlaps and gaps
        edge = edges[device % devices]
        window = edge.log[min(start, len(edge.log) - 1):][:length]
        response = edge.push(window)
        assert response.status_code in (200, 409), response.json
        if response.status_code == 409:
            assert response.json["error"]["code"] == "seq_gap"
    for edge in edges:  # finally every device catches up from its acknowledged head
        head = edge.head().json["seq"]
        for start in range(head, len(edge.log), 500):
            assert edge.push(edge.log[start:start + 500]).status_code == 200
        assert edge.head().json["seq"] == len(edge.log)
    assert ledger.rebuild_summaries() == 0  # the cached summaries are exactly the movements' sums
    expected = _expected({edge.device_id: edge.log for edge in edges})
    for customer in customers:
        view = central.customer(customer)
        assert view["points"]["available"] + view["points"]["pending"] == expected.get(customer, 0)
        assert view["balance_negative"] is (view["points"]["available"] < 0)
    ids = [edge.device_id for edge in edges]
    marks = db.marks(len(ids))
    assert db.rows(f"SELECT COUNT(*) FROM logentry WHERE device_id IN ({marks})", ids)[0][0] == \
        sum(len(edge.log) for edge in edges)
    assert db.rows(f"SELECT COUNT(*) FROM sale WHERE device_id IN ({marks})", ids)[0][0] == len(sales)
