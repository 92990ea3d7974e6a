"""A kind's body is one class: the edge writes what it builds, central reads the same class back."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import DEMO_RULES, sale_body
from edge import box as boxes
from edge import customers
from edge.changelog import UnsignableBody
from edge.db import write_transaction
from edge.models import LogEntry, VipCard
from shared.currency import parse_conversion
from sync import bodies, kinds
from sync.canonical import canonical_bytes
from sync.sale_bodies import GiftCardIssued, SaleCompleted, SaleReturned
from sync.wallet import WalletConverted, WalletLoaded

EUR = parse_conversion("EUR", "4.9750")[0]
LINE = {"sku": "A1", "qty": 2, "unit_price": 1250, "discount": 0, "tier_discount": 0}
VOUCHER = {"code": "V7K2M9QX4T", "amount": 250, "expires_at": "2026-12-31T10:00:00.000Z"}

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
    (bodies.Registration("c1", "2000000000008", "", "", None, None, None, None, provisional=True),
     {"customer_id": "c1", "card_number": "2000000000008", "provisional": True}),
    (bodies.Registration("c1", "2000000000008", "Ana", "Pop", "ana@example.com", None, None, "Basic", 3, (VOUCHER,)),
     {"customer_id": "c1", "card_number": "2000000000008", "first_name": "Ana", "last_name": "Pop",
      "email": "ana@example.com", "phone": None, "birth_date": None, "tier": "Basic", "rules_version": 3,
      "vouchers_issued": [VOUCHER]}),
    # An anonymous sale: no points dates, pockets, vouchers, currency or VIP card.
    (SaleCompleted("s1", None, "t1", (LINE,), ({"method": "cash", "amount": 2500},), 2500, 2500, 0, None, None, 0, 0,
                   0),
     {"sale_id": "s1", "customer_id": None, "till_id": "t1", "lines": [LINE],
      "payments": [{"method": "cash", "amount": 2500}], "total": 2500, "eligible_amount": 2500, "rules_version": 0,
      "tier": None, "tier_after": None, "points_earned": 0, "points_paid": 0, "reward_points": 0}),
    # Earned points that never expire (expires_at null, still written), paid partly from two pockets.
    (SaleCompleted("s2", "c1", None, (LINE,), ({"method": "wallet", "amount": 1500}, {"method": "cash", "amount": 1000}),
                   2500, 2500, 1, "Basic", "Silver", 2, 0, 0, "2026-12-02T00:00:00.000Z", None,
                   ({"category": "pants", "amount": 500}, {"category": None, "amount": 1000}), (VOUCHER,)),
     {"sale_id": "s2", "customer_id": "c1", "till_id": None, "lines": [LINE],
      "payments": [{"method": "wallet", "amount": 1500}, {"method": "cash", "amount": 1000}], "total": 2500,
      "eligible_amount": 2500, "rules_version": 1, "tier": "Basic", "tier_after": "Silver", "points_earned": 2,
      "points_paid": 0, "reward_points": 0, "available_at": "2026-12-02T00:00:00.000Z", "expires_at": None,
      "wallet": [{"category": "pants", "amount": 500}, {"category": None, "amount": 1000}],
      "vouchers_issued": [VOUCHER]}),
    # A sale in euros with a VIP card.
    (SaleCompleted("s3", "c1", "t1", (LINE,), ({"method": "card", "amount": 2500},), 2500, 12437, 1, None, None, 12, 0,
                   0, "2026-12-01T10:00:00.000Z", "2027-12-01T10:00:00.000Z", conversion=EUR, converted_total=12438,
                   original_eligible_amount=2500, vip_code="#VIP#0001", vip_percent=10),
     {"sale_id": "s3", "customer_id": "c1", "till_id": "t1", "lines": [LINE],
      "payments": [{"method": "card", "amount": 2500}], "total": 2500, "eligible_amount": 12437, "rules_version": 1,
      "tier": None, "tier_after": None, "points_earned": 12, "points_paid": 0, "reward_points": 0,
      "available_at": "2026-12-01T10:00:00.000Z", "expires_at": "2027-12-01T10:00:00.000Z", "currency": "EUR",
      "rate": "4.9750", "converted_total": 12438, "original_eligible_amount": 2500,
      "vip": {"code": "#VIP#0001", "discount_percent": 10}}),
    (SaleReturned("r1", "s1", None, ({"sku": "A1", "qty": 1},), 1250, 0, 1250, 0),
     {"return_id": "r1", "sale_id": "s1", "customer_id": None, "lines": [{"sku": "A1", "qty": 1}],
      "amount_refunded": 1250, "points_reversed": 0, "eligible_reversed": 1250, "rules_version": 0}),
    (SaleReturned("r2", "s2", "c1", ({"sku": "A1", "qty": 2},), 2500, 2, 2500, 1,
                  ({"category": "pants", "amount": 500},), ("V7K2M9QX4T",)),
     {"return_id": "r2", "sale_id": "s2", "customer_id": "c1", "lines": [{"sku": "A1", "qty": 2}],
      "amount_refunded": 2500, "points_reversed": 2, "eligible_reversed": 2500, "rules_version": 1,
      "wallet": [{"category": "pants", "amount": 500}], "vouchers_voided": ["V7K2M9QX4T"]}),
    (GiftCardIssued("G7K2M9QX4TWPR3HN", 5000, "2027-03-01T10:00:00.000Z", "t1"),
     {"code": "G7K2M9QX4TWPR3HN", "amount": 5000, "expires_at": "2027-03-01T10:00:00.000Z", "till_id": "t1"}),
    (WalletLoaded("l1", "c1", 4000, None, 2),
     {"load_id": "l1", "customer_id": "c1", "amount": 4000, "till_id": None, "rules_version": 2}),
    (WalletLoaded("l2", "c1", 5000, "t1", 2, "KDO", "pants"),
     {"load_id": "l2", "customer_id": "c1", "amount": 5000, "till_id": "t1", "rules_version": 2, "type": "KDO",
      "category": "pants"}),
    (WalletConverted("w1", "c1", 6, 60, 2),
     {"conversion_id": "w1", "customer_id": "c1", "points": 6, "amount": 60, "rules_version": 2}),
]


def literal(kind: str, index: int = 0) -> dict:
    """The ``index``-th body of ``kind`` in ``WRITTEN``."""
    return [written for built, written in WRITTEN if built.KIND == kind][index]


@pytest.mark.parametrize("built, literal", WRITTEN, ids=lambda v: getattr(v, "KIND", ""))
def test_a_body_built_from_its_class_signs_the_same_bytes_and_reads_back_as_itself(built, literal):
    assert canonical_bytes(built.body()) == canonical_bytes(literal)
    assert type(built).read(literal) == built
    kinds.check(built.KIND, built.body())  # what the change log runs before it signs


def test_every_kind_is_one_class_and_checked_by_it():
    for kind, cls in kinds.BODIES.items():
        assert cls.KIND == kind and kinds.KINDS[kind] == cls.read
    assert {type(built).KIND for built, _ in WRITTEN} == set(kinds.BODIES)


@pytest.mark.parametrize("kind, body, problem", [
    ("sale.completed", {**literal("sale.completed", 1), "wallet": [{"category": "pants", "amount": 500}]},
     "wallet: the pockets pay 500, the wallet payments 1500"),
    ("sale.completed", {**literal("sale.completed"), "wallet": [{"category": None, "amount": 5}]},
     "wallet: the pockets pay 5, the wallet payments 0"),
    ("sale.completed", {**literal("sale.completed", 1), "wallet": [{"amount": 1000}, {"amount": 500}]},
     "wallet[1]: a pocket is listed twice"),
    ("sale.completed", {**literal("sale.completed", 2), "vip": {"code": "#VIP#0001", "discount_percent": 0}},
     "vip.discount_percent must be an integer from 1 to 100"),
    ("sale.completed", {**literal("sale.completed", 2), "rate": 4.975}, "rate "),
    ("sale.completed", {**literal("sale.completed"), "lines": [{**LINE, "sku": "A\x1b"}]}, "lines[0]: sku must be"),
    ("sale.returned", {**literal("sale.returned", 1), "amount_refunded": 400}, "wallet: more goes back to the wallet than"),
    ("sale.returned", {**literal("sale.returned", 1), "vouchers_voided": [""]}, "vouchers_voided[0]: must be a string"),
    ("gift_card.issued", {**literal("gift_card.issued"), "amount": 0}, "amount must be an integer > 0"),
    ("wallet.loaded", {**literal("wallet.loaded", 1), "category": ""}, "category must be a string of 1-64"),
    ("wallet.converted", {**literal("wallet.converted"), "rules_version": None}, "rules_version must be an integer >= 0"),
    ("customer.registered", {**literal("customer.registered", 1), "provisional": "yes"}, "provisional must be true or false"),
])
def test_a_bad_body_is_refused_naming_its_field(kind, body, problem):
    with pytest.raises(bodies.BodyError) as refused:
        kinds.check(kind, body)
    assert str(refused.value).startswith(problem)


def test_an_earlier_edges_tender_named_wallet_is_still_a_sale():
    # Before the wallet, "wallet" was any shop's name for a tender: without pockets it pays as one.
    body = {**literal("sale.completed"), "payments": [{"method": "wallet", "amount": 2500}]}
    assert SaleCompleted.read(body).body() == body and SaleCompleted.read(body).pockets() == {}


# --- the edge's own entries read back as they were signed ---------------------------------------

RULES = {**json.loads(DEMO_RULES.read_text()),
         "wallet": {"ceiling": 15000, "offline_cap": 5000, "types": [{"name": "KDO", "amount": 5000,
                                                                      "category": "pants"}]},
         "vouchers": {"at_sale": {"tiers": [{"from": 5000, "percent": 5}], "valid_days": 30},
                      "welcome": {"amount": 500, "valid_days": 60}},
         "gift_cards": {"valid_days": 90}}


@pytest.fixture
def edge_dir(tmp_path):
    """A standalone edge whose rules have everything that shows in an entry: a wallet with a
    typed pocket, vouchers at sale and at registration, gift cards."""
    data = tmp_path / "edge"
    boxes.initialise(data, "S001", copy.deepcopy(RULES))
    return data


def test_every_entry_the_edge_writes_reads_back_to_the_bytes_it_signed(app, till, customer):
    cid = customer["id"]
    api = "/api/v1"
    assert till.post(f"{api}/customers/{cid}/wallet/loads", json={"amount": 5000, "type": "KDO"}).status_code == 201
    assert till.post(f"{api}/customers/{cid}/wallet/loads", json={"amount": 3000}).status_code == 201
    pants = [{"sku": "P1", "qty": 1, "unit_price": 6000, "category": "pants", "name": "Jeans"}]
    sold = till.post(f"{api}/sales", json=sale_body(cid, pants, [{"method": "wallet", "amount": 5000},
                                                                      {"method": "cash", "amount": 1000}]))
    assert sold.status_code == 201, sold.json
    assert sold.json["vouchers_issued"]
    returned = till.post(f"{api}/sales/{sold.json['id']}/returns", json={"lines": [{"sku": "P1", "qty": 1}]})
    assert returned.status_code == 201, returned.json
    assert till.post(f"{api}/sales", json=sale_body(None)).status_code == 201
    assert till.post(f"{api}/sales", json=sale_body(cid, [{"sku": "A1", "qty": 1, "unit_price": 10000}])).status_code == 201
    assert till.post(f"{api}/customers/{cid}/wallet/conversions", json={"points": 6}).status_code == 201
    assert till.post(f"{api}/gift-cards", json={"amount": 5000}).status_code == 201
    with app.app_context():
        VipCard.create(code="#VIP#0001", customer_id=cid, discount_percent=10, until="2099-12-31",
                       issued_at="2026-01-01T00:00:00.000Z")
    abroad = {**sale_body(cid, [{"sku": "A1", "qty": 1, "unit_price": 2000}]), "currency": "EUR", "rate": "4.9750",
              "vip_code": "#VIP#0001"}
    abroad["payments"] = [{"method": "card", "amount": 1800}]  # 89.55 in the brand currency: a voucher too
    response = till.post(f"{api}/sales", json=abroad)
    assert response.status_code == 201, response.json
    box = app.extensions["fidelis_edge"]
    with app.app_context(), write_transaction():
        customers.register_provisional(box, "2999999999990", datetime.now(timezone.utc))
    with app.app_context():
        lines = [json.loads(row.line) for row in LogEntry.select().order_by(LogEntry.seq)]
    seen = set()
    for entry in lines:
        cls = kinds.BODIES[entry["kind"]]
        read = cls.read(entry["body"])
        assert canonical_bytes(read.body()) == canonical_bytes(entry["body"]), entry["kind"]
        assert cls.read(read.body()) == read
        seen.add(entry["kind"] + ("+" + "+".join(sorted(set(entry["body"]) & {"wallet", "vouchers_issued",
                                                                             "vouchers_voided", "currency", "vip",
                                                                             "provisional", "type"}))))
    assert seen >= {"sale.completed+vouchers_issued+wallet", "sale.completed+", "sale.completed+currency+vip+vouchers_issued",
                    "sale.returned+vouchers_voided+wallet", "customer.registered+vouchers_issued",
                    "customer.registered+provisional", "wallet.loaded+type", "wallet.loaded+",
                    "wallet.converted+", "gift_card.issued+", "till.added+", "rules.installed+",
                    "device.initialised+"}


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
