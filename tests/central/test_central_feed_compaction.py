"""The feed's compaction (``fidelis-central jobs run``): a customer's superseded states are
dropped, and every reader, at any cursor or starting afresh, still ends with each customer's
newest state and every other item. Entries go through real signed pushes."""

from __future__ import annotations

from central import db, jobs

LINES = [{"sku": "A1", "qty": 1, "unit_price": 2500, "discount": 0}]


def _feed(edge, since: int = 0) -> list[dict]:
    """Every item of the edge's store after ``since``, page by page (pages of 7 items)."""
    items: list[dict] = []
    while True:
        page = edge.pull(since, 7)
        assert page.status_code == 200, page.json
        items += page.json["items"]
        since = page.json["cursor"]
        if not page.json["more"]:
            return items


def _states(items: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for item in items:
        if item["kind"] == "customer.state":
            found.setdefault(item["body"]["customer"]["id"], []).append(item["body"])
    return found


def test_superseded_states_are_dropped_and_every_reader_ends_with_the_newest(central):
    central.publish()
    shop, elsewhere = central.edge("S001"), central.edge("S002")
    ana, bob = shop.register(), shop.register()
    assert shop.push().status_code == 200
    reader = central.edge("S001")  # a second box of the shop, in step now, then away
    seen = _feed(reader)
    for _ in range(3):
        shop.sell(ana, LINES)
        assert shop.push().status_code == 200
    shop.sell(bob, LINES)
    assert shop.push().status_code == 200
    before = _feed(shop)
    states = _states(before)
    assert [len(states[ana]), len(states[bob])] == [4, 2]  # registered, then one a sale

    assert jobs.compact_feed(central.clock()) == 4  # all but each customer's newest

    after = _feed(shop)
    assert {cid: bodies for cid, bodies in _states(after).items()} == {ana: [states[ana][-1]], bob: [states[bob][-1]]}
    others = [item for item in before if item["kind"] != "customer.state"]
    assert [item for item in after if item["kind"] != "customer.state"] == others  # rules and the rest stay
    # The box that was away carries on from its cursor and lands on the newest states.
    resumed = _states(_feed(reader, seen[-1]["cursor"]))
    assert {cid: bodies[-1] for cid, bodies in resumed.items()} == {ana: states[ana][-1], bob: states[bob][-1]}
    assert sum(len(bodies) for bodies in resumed.values()) == 2
    assert _states(_feed(elsewhere)) == {}  # another shop still hears nothing of them
    orphans = db.rows("SELECT COUNT(*) FROM feeddelivery d WHERE NOT EXISTS "
                      "(SELECT 1 FROM feeditem f WHERE f.cursor = d.cursor)")[0][0]
    assert orphans == 0
    assert jobs.compact_feed(central.clock()) == 0  # nothing new: nothing more to drop

    # Later states are compacted from where the last run stopped.
    shop.sell(ana, LINES)
    assert shop.push().status_code == 200
    newest = _states(_feed(shop))[ana][-1]
    assert jobs.compact_feed(central.clock()) == 1
    assert _states(_feed(shop))[ana] == [newest]
    assert central.customer(ana)["points"] == {"available": newest["points"]["available"],
                                               "pending": newest["points"]["pending"]}
