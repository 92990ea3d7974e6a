"""The shops page: each device's last sync, backlog and clock skew; shops and tokens made safely."""

from __future__ import annotations

import re
from datetime import timedelta

from central.models import EnrolmentToken, Store


def test_a_device_reports_its_backlog_and_clock_skew_and_the_page_shows_them(central, person, edge):
    edge.push()
    ahead = central.clock() + timedelta(seconds=3)
    head = edge.request("GET", "/sync/v1/head?local_seq=9", now=ahead)
    assert head.status_code == 200, head.json
    device = central.api("GET", f"/api/v1/devices/{edge.device_id}").json
    assert (device["reported_seq"], device["acked_seq"], device["backlog"]) == (9, 2, 7)
    assert device["clock_skew_ms"] == 3000
    row = person("support").text("/shops/").split(edge.device_id, 1)[1].split("</tr>", 1)[0]
    assert re.search(r'<td class="num">2</td>\s*<td class="num">7</td>\s*<td class="num">\+3.0 s</td>', row)
    assert "just now" in row


def test_a_device_that_synced_lately_is_ok_and_one_silent_for_an_hour_is_flagged(central, person, edge):
    assert edge.pull().status_code == 200
    support = person("support")
    row = lambda: support.text("/shops/").split(edge.device_id, 1)[1].split("</tr>", 1)[0]  # noqa: E731
    assert "just now" in row() and '<span class="tag ok">ok</span>' in row()
    central.clock.advance(minutes=61)
    assert "1 h ago" in row() and "not synced for over an hour" in row()


def test_a_bad_shop_code_is_shown_next_to_its_field_and_nothing_is_written(central, person):
    answer = person("admin").post("/shops/", {"code": "S 1!", "name": "Harbour"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(r'<input id="code"[^>]*aria-invalid="true"', page)
    assert 'id="code-problem">store code must be 1-16 letters, digits or dashes' in page
    assert 'value="Harbour"' in page  # what was typed stays
    assert Store.select().count() == 0


def test_an_enrolment_token_is_shown_once_and_only_its_hash_is_kept(central, person):
    central.store("S001")
    support = person("support")
    bad = support.post("/shops/S001/enrolments", {"hours": "0"})
    assert bad.status_code == 422 and EnrolmentToken.select().count() == 0
    made = support.post("/shops/S001/enrolments", {"hours": "48"}).get_data(as_text=True)
    token = re.search(r'id="enrolment-token">(fce_[\w-]+)<', made).group(1)
    assert f"fidelis-edge provision --central http://localhost --token {token}" in made
    assert token not in support.text("/shops/")
    assert EnrolmentToken.select().count() == 1 and token not in str(EnrolmentToken.get().token_hash)
    assert support.post("/shops/S999/enrolments", {"hours": "1"}).status_code == 404
