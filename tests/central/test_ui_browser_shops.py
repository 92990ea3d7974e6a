"""Shops and devices in real Chromium: an enrolment token shown once, a device revoked."""

from __future__ import annotations

import uuid

import requests

from sync.entry import generate_private_key, public_key_raw_b64


def _enrol_a_device(node, store: str) -> str:
    device_id = str(uuid.uuid4())
    answer = requests.post(f"{node.url}/sync/v1/enroll", timeout=10, json={
        "token": node.enrolment_token(store), "device_id": device_id,
        "public_key": public_key_raw_b64(generate_private_key()), "store": store})
    assert answer.status_code == 201, answer.text
    return device_id


def test_support_makes_an_enrolment_token_and_an_edge_can_use_it(browser, served_central):
    served_central.store("S001", "Main street")
    browser.sign_in("support@example.com")
    page = browser.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Shops and devices").click()
    page.get_by_label("Token valid for (hours)").fill("48")
    page.get_by_role("button", name="Make an enrolment token for S001").click()
    token = page.locator("#enrolment-token").inner_text().strip()
    assert token.startswith("fce_")
    command = page.locator("#provision-command").inner_text()
    assert command == f"fidelis-edge provision --central {served_central.url} --token {token}"
    answer = requests.post(f"{served_central.url}/sync/v1/enroll", timeout=10, json={
        "token": token, "device_id": str(uuid.uuid4()), "public_key": public_key_raw_b64(generate_private_key()),
        "store": "S001"})
    assert answer.status_code == 201, answer.text
    page.goto("/shops/")
    assert token not in page.content()  # shown once
    assert page.locator("table code").count() == 1  # the device it enrolled is listed


def test_an_admin_revokes_a_device_and_central_refuses_it(browser, served_central):
    served_central.store("S001", "Main street")
    device_id = _enrol_a_device(served_central, "S001")
    browser.sign_in("admin@example.com")
    page = browser.page
    page.goto("/shops/")
    row = page.locator("tr", has_text=device_id)
    assert row.get_by_text("never").is_visible()
    row.get_by_role("button", name=f"Revoke device {device_id}").click()
    assert page.get_by_role("status").inner_text().startswith(f"Device {device_id} of shop S001 revoked")
    assert page.locator("tr", has_text=device_id).get_by_text("revoked").is_visible()
    assert served_central.api(f"/devices/{device_id}").json()["revoked"] is True
    audit = page.goto("/audit/?action=device.revoke")
    assert audit.status == 200 and "user:admin@example.com" in page.content()
