"""The exceptions page: filters, counts, CSV; finance reads it without anyone's e-mail or phone."""

from __future__ import annotations

import csv
import io
import uuid


def _refused_registration(edge) -> None:
    """A registration central refuses (a control character in the name), holding an e-mail and a phone."""
    edge.append("customer.registered", {
        "customer_id": str(uuid.uuid4()), "card_number": "2000000000999", "first_name": "Ana\x07", "last_name": "Pop",
        "email": "ana.pop@example.com", "phone": "+40712345678", "birth_date": "1990-12-31", "tier": "Basic"})
    response = edge.push()
    assert response.status_code == 200 and response.json["results"][-1]["status"] == "rejected", response.json


def test_support_sees_the_refused_entry_and_finance_sees_it_without_personal_data(central, person, edge):
    _refused_registration(edge)
    [item] = central.exceptions()
    assert "ana.pop@example.com" in item["details"]["line"]
    support_page = person("support").text(f"/exceptions/{item['id']}")
    assert "ana.pop@example.com" in support_page and "+40712345678" in support_page
    finance = person("finance")
    for page in (finance.text(f"/exceptions/{item['id']}"), finance.text("/exceptions/"),
                 finance.get("/exceptions/exceptions.csv").get_data(as_text=True)):
        assert "ana.pop@example.com" not in page and "+40712345678" not in page and "1990-12-31" not in page
    assert "(hidden)" in finance.text(f"/exceptions/{item['id']}")
    assert 'action="/exceptions/' not in finance.text(f"/exceptions/{item['id']}")  # no resolve form
    assert finance.post(f"/exceptions/{item['id']}/resolve", {"note": "x"}).status_code == 403


def test_the_queue_filters_by_kind_store_and_status_and_exports_csv(central, person, edge):
    _refused_registration(edge)
    other = central.edge("S002")
    other.sell(str(uuid.uuid4()))  # a sale for a customer central never heard of
    other.push()
    support = person("support")
    page = support.text("/exceptions/")
    assert "malformed_body: 1" in page and "unknown_customer: 1" in page
    only_s002 = support.text("/exceptions/?store=S002")
    assert "unknown_customer</td>" in only_s002 and "malformed_body</td>" not in only_s002
    assert "1–1 of 1" in support.text("/exceptions/?kind=malformed_body")
    [item] = central.exceptions("unknown_customer")
    assert support.post(f"/exceptions/{item['id']}/resolve", {"note": "re-registered"}).status_code == 303
    assert "1–1 of 1" in support.text("/exceptions/?status=resolved")
    exported = support.get("/exceptions/exceptions.csv?status=all").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    assert sorted((row["kind"], row["status"]) for row in rows) == [("malformed_body", "open"),
                                                                   ("unknown_customer", "resolved")]
    assert support.post(f"/exceptions/{item['id']}/resolve", {"note": "again"}).status_code == 409
