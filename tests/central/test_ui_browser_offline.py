"""No page of the UI asks another machine for anything, and the check would see it if one did."""

from __future__ import annotations

from webui import Browser


def test_every_page_of_an_admin_loads_from_this_machine_only(browser, served_central):
    served_central.store("S001", "Main street")
    browser.sign_in("admin@example.com")
    page = browser.page
    for path in ("/", "/rules/", "/rules/new", "/shops/", "/exceptions/", "/audit/", "/account/password"):
        answer = page.goto(path)
        assert answer.status == 200, path
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert browser.requested and browser.off_machine() == []


def test_the_check_sees_a_request_to_another_machine_and_stops_it(chromium, served_central):
    session = Browser(chromium, served_central.url)
    try:
        session.page.goto("/")
        # A CDN stylesheet, as a careless template might add; .invalid never resolves anywhere.
        session.page.set_content('<link rel="stylesheet" href="https://cdn.example.invalid/x.css"><p>hi</p>')
        session.page.wait_for_load_state()
        assert session.off_machine() == ["https://cdn.example.invalid/x.css"]
    finally:
        session.close()
