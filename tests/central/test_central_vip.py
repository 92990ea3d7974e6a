"""``POST /api/v1/customers/{id}/vip``: VIP cards issued, renewed, refused; sent to every shop
as a signed act; a sale's discount re-derived from the card central issued."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.acts import verify_act
from central import keys


def _issue(central, customer_id: str, **body):
    return central.api("POST", f"/api/v1/customers/{customer_id}/vip", body)


def _until(central, days: int) -> str:
    return str((central.clock() + timedelta(days=days)).date())


def test_a_card_is_issued_renewed_and_sent_signed_to_every_shop(central, edge):
    ana = edge.register()
    assert edge.push().status_code == 200
    made = _issue(central, ana, discount_percent=10, until=_until(central, 30))
    assert made.status_code == 201, made.json
    code = made.json["code"]
    assert code.startswith("#VIP#") and len(code) == 15
    renewed = _issue(central, ana, code=code, discount_percent=20, until=_until(central, 60))
    assert renewed.json == {"customer_id": ana, "code": code, "discount_percent": 20, "until": _until(central, 60)}

    acts = [item["body"] for item in central.edge("S002").pull().json["items"] if item["kind"] == "vip.issued"]
    assert [act["body"]["discount_percent"] for act in acts] == [10, 20]
    public = keys.load_key(central.key_file).public_key()
    for act in acts:
        verify_act(public, act)  # raises unless central signed it


@pytest.mark.parametrize(
    ("body", "path"),
    [({"discount_percent": 0, "until": "2099-01-01"}, "discount_percent"),
     ({"discount_percent": 101, "until": "2099-01-01"}, "discount_percent"),
     ({"discount_percent": 10, "until": "2099-02-30"}, "until"),
     ({"discount_percent": 10, "until": "2099-01-01", "code": "VIP0042"}, "code"),
     ({"discount_percent": 10, "until": "2099-01-01", "code": "#VIP#no spaces"}, "code"),
     ({"discount_percent": 10, "until": "2000-01-01"}, "until"),
     ({"until": "2099-01-01"}, "discount_percent")],
)
def test_a_bad_card_is_422_naming_the_field_and_writes_nothing(central, edge, body, path):
    ana = edge.register()
    assert edge.push().status_code == 200
    before = central.counts()
    refused = _issue(central, ana, **body)
    assert refused.status_code == 422
    assert path in [p["path"] for p in refused.json["error"]["details"]["problems"]]
    assert central.counts() == before


def test_unknown_customers_and_codes_held_by_others_are_refused(central, edge):
    ana, ben = edge.register(), edge.register(first_name="Ben")
    assert edge.push().status_code == 200
    assert _issue(central, "nobody", discount_percent=10, until=_until(central, 5)).status_code == 404
    assert _issue(central, ana, code="#VIP#7", discount_percent=10, until=_until(central, 5)).status_code == 201
    taken = _issue(central, ben, code="#VIP#7", discount_percent=10, until=_until(central, 5))
    assert (taken.status_code, taken.json["error"]["code"]) == (409, "vip_code_in_use")


def test_a_sale_claiming_a_discount_no_card_gives_is_a_mismatch(central, edge):
    ana = edge.register()
    assert edge.push().status_code == 200
    assert _issue(central, ana, code="#VIP#9", discount_percent=10, until=_until(central, 5)).status_code == 201
    lines = [{"sku": "A1", "qty": 1, "unit_price": 10000, "discount": 0, "tier_discount": 1000}]
    honest = edge.sale_body(ana, lines, points_earned=9)
    edge.append("sale.completed", {**honest, "vip": {"code": "#VIP#9", "discount_percent": 10}})
    forged = edge.sale_body(ana, lines, points_earned=9)
    edge.append("sale.completed", {**forged, "vip": {"code": "#VIP#404", "discount_percent": 10}})
    assert edge.push().status_code == 200
    flagged = central.exceptions("recalculation_mismatch")
    assert [item["details"]["sale_id"] for item in flagged] == [forged["sale_id"]]
