"""The audit log: every change with who, when, before and after; filters, pages and CSV."""

from __future__ import annotations

import csv
import io

from central import audit, settings


def test_changes_from_the_ui_and_the_api_are_in_the_audit_log(central, person, edge):
    admin = person("admin")
    assert admin.post("/shops/", {"code": "S002", "name": "Harbour"}).status_code == 303
    assert central.api("POST", "/api/v1/stores", {"code": "S003", "name": "Station"}).status_code == 201
    assert admin.post(f"/shops/devices/{edge.device_id}/revoke").status_code == 303
    lines = audit.search({}, 50)
    by_action = {(line.action, line.target): line for line in lines}
    assert by_action[("store.create", "store:S002")].actor == "user:admin@example.com"
    assert by_action[("store.create", "store:S003")].actor == "token:tests"
    revoked = by_action[("device.revoke", f"device:{edge.device_id}")]
    assert revoked.changes() == [("revoked", False, True), ("store", None, "S001")]
    assert by_action[("user.create", "user:admin@example.com")].after == {"email": "admin@example.com",
                                                                          "role": "admin"}
    assert [line.id for line in lines] == sorted((line.id for line in lines), reverse=True)


def test_the_audit_page_filters_paginates_and_exports_csv(central, person):
    for n in range(settings.PAGE_SIZE + 5):
        audit.record("cli", "store.create", f"store:X{n}", None, {"code": f"X{n}"}, central.clock())
    auditor = person("auditor")
    first = auditor.text("/audit/?action=store.create")
    assert f"1–{settings.PAGE_SIZE} of {settings.PAGE_SIZE + 5}" in first and 'rel="next"' in first
    assert "store:X54" in first and "store:X0<" not in first
    second = auditor.text("/audit/?action=store.create&page=2")
    assert f"{settings.PAGE_SIZE + 1}–{settings.PAGE_SIZE + 5} of" in second and "store:X0<" in second
    assert "user.sign_in" not in first  # filtered out
    exported = auditor.get("/audit/audit.csv?action=store.create")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert 'filename="audit.csv"' in exported.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["id", "at", "actor", "action", "target", "before", "after"]
    assert len(rows) == settings.PAGE_SIZE + 6 and rows[1][4] == "store:X54" and rows[-1][4] == "store:X0"
    assert auditor.get("/audit/?page=0").status_code == 400


def test_a_csv_cell_that_looks_like_a_formula_is_defused(central, person):
    audit.record("cli", "store.create", "=HYPERLINK(\"http://x\")", None, None, central.clock())
    exported = person("admin").get("/audit/audit.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in exported
