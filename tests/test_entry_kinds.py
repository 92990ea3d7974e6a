"""A kind's body is one class: the edge writes what it builds, central reads the same class back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.changelog import UnsignableBody
from edge.db import write_transaction
from edge.models import LogEntry
from sync import bodies, kinds
from sync.canonical import canonical_bytes

# What the edge signed before these classes existed, field for field: the bytes must not change.
WRITTEN = [
    (bodies.Registration("c1", "2000000000008", "Ana", "Pop", None, "+40721000111", None, "Basic"),
     {"customer_id": "c1", "card_number": "2000000000008", "first_name": "Ana", "last_name": "Pop", "email": None,
      "phone": "+40721000111", "birth_date": None, "tier": "Basic"}),
    (bodies.RulesInstalled(0, None, {"earn": {"rate": "0.1"}}),
     {"version": 0, "effective_from": None, "document": {"earn": {"rate": "0.1"}}}),
    (kinds.DeviceInitialised("S001", "pk"), {"store": "S001", "public_key": "pk"}),
    (kinds.DeviceProvisioned("S001", "https://central.example"), {"store": "S001", "central": "https://central.example"}),
    (kinds.TillAdded("t1", "Till 1"), {"till_id": "t1", "name": "Till 1"}),
    (kinds.TrafficVisits("S001", "2026-12-01", 9, 14, "2026-12-01T09:59:00.000Z"),
     {"store": "S001", "day": "2026-12-01", "hour": 9, "visits": 14, "counted_at": "2026-12-01T09:59:00.000Z"}),
]


@pytest.mark.parametrize("built, literal", WRITTEN, ids=lambda v: getattr(v, "KIND", ""))
def test_a_body_built_from_its_class_signs_the_same_bytes_and_reads_back_as_itself(built, literal):
    assert canonical_bytes(built.body()) == canonical_bytes(literal)
    assert type(built).read(literal) == built
    kinds.check(built.KIND, built.body())  # what the change log runs before it signs


def test_every_kind_with_a_class_is_checked_by_that_class():
    for kind, cls in kinds.BODIES.items():
        assert cls.KIND == kind and kinds.KINDS[kind] == cls.read


@given(store=st.text(min_size=1, max_size=16).filter(lambda s: bodies.usable_key(s, 16)),
       day=st.dates().map(lambda d: d.isoformat()).filter(lambda s: len(s) == 10),
       hour=st.integers(0, 23), visits=st.integers(0, 10**6))
def test_visits_read_back_as_written(store, day, hour, visits):
    written = kinds.TrafficVisits(store, day, hour, visits, None)
    assert kinds.TrafficVisits.read(written.body()) == written


def test_the_change_log_will_not_sign_a_class_built_body_central_would_refuse(app):
    box = app.extensions["fidelis_edge"]
    before = LogEntry.select().count()
    for bad in (kinds.TillAdded("t1", "till\x1b"), kinds.TrafficVisits("S001", "2026-13-01", 9, 1, None)):
        with pytest.raises(UnsignableBody, match=bad.KIND):
            with write_transaction():
                box.changelog.write(bad)
    assert LogEntry.select().count() == before
    with write_transaction():
        written = box.changelog.write(kinds.TillAdded("t1", "Till 1"))
    assert (written["kind"], written["body"]) == ("till.added", {"till_id": "t1", "name": "Till 1"})
