"""The invariants ``make chaos`` checks once everything has synced (docs/operations.md).

Each check returns ``(name, ok, detail)``; ``bench/chaos.py`` prints them all and exits
non-zero if any failed. They read only the public interfaces: each edge's exported log and
its till API, central's API.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from typing import Any

Check = tuple[str, bool, str]


def fold(exports: list[list[str]]) -> tuple[dict[str, int], list[str]]:
    """Earned − spent − reversed per customer over the unique entries; ids seen twice."""
    balances: dict[str, int] = defaultdict(int)
    seen: Counter = Counter()
    for lines in exports:
        for line in lines:
            entry = json.loads(line)
            seen[entry["id"]] += 1
            body = entry["body"]
            if entry["kind"] == "sale.completed" and body.get("customer_id"):
                balances[body["customer_id"]] += (body["points_earned"] - body["points_paid"]
                                                  - body["reward_points"])
            elif entry["kind"] == "sale.returned" and body.get("customer_id"):
                balances[body["customer_id"]] -= body["points_reversed"]
    return dict(balances), [entry_id for entry_id, count in seen.items() if count > 1]


def ledger_sum(points: dict) -> int:
    """Available plus pending: the ledger's sum, whichever clock says when pending points mature.

    An edge whose clock runs ahead dates its points' ``available_at`` by that clock, so central
    counts them pending until then while the edge already counts them available.
    """
    return points["available"] + points.get("pending", 0)


def ledger_is_the_fold(central, edges, exports: list[list[str]], customers: dict[str, str]) -> Check:
    """Central holds each device's log exactly as the edge wrote it, and each balance is its fold."""
    expected, repeated = fold(exports)
    problems = [f"entry {entry_id} in two logs" for entry_id in repeated]
    for edge, lines in zip(edges, exports):
        held = central.api(f"/devices/{edge.device_id}/log").text.splitlines()
        if held != lines:
            problems.append(f"{edge.name}: central holds {len(held)} entries, the edge wrote {len(lines)}")
    for customer_id in customers:
        found = ledger_sum(central.api(f"/customers/{customer_id}").json()["points"])
        if found != expected.get(customer_id, 0):
            problems.append(f"customer {customer_id}: central {found}, fold {expected.get(customer_id, 0)}")
    entries = sum(len(lines) for lines in exports)
    return ("central's ledger = the fold of unique entries", not problems,
            "; ".join(problems[:5]) or f"{entries} entries from {len(edges)} devices, "
                                        f"{len(customers)} customers' balances equal their fold")


def edges_converged(central, edges, customers: dict[str, str], wait: float = 30) -> Check:
    """Every edge shows central's balance for every customer (looked up by card, as a till does).

    Each edge pulls on its own loop: the check looks again for up to ``wait`` seconds.
    """
    deadline = time.monotonic() + wait
    while True:
        problems = _disagreements(central, edges, customers)
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(1)
    return ("every edge converged", not problems,
            "; ".join(problems[:5]) or f"{len(edges)} edges × {len(customers)} customers agree with central")


def _disagreements(central, edges, customers: dict[str, str]) -> list[str]:
    problems = []
    for customer_id, card in customers.items():
        brand = ledger_sum(central.api(f"/customers/{customer_id}").json()["points"])
        for edge in edges:
            answer = edge.get(f"/customers/lookup?card={card}")
            shown = ledger_sum(answer.json()["points"]) if answer.ok else f"HTTP {answer.status_code}"
            if shown != brand:
                problems.append(f"{edge.name} shows {shown} for card {card}, central {brand}")
    return problems


def overdrafts_bounded(central, customers: dict[str, str], cap: int, shops: int) -> Check:
    """No customer below −(offline_cap × shops): each shop may spend at most the cap unseen."""
    bound = cap * shops
    negative = {}
    for customer_id in customers:
        available = ledger_sum(central.api(f"/customers/{customer_id}").json()["points"])
        if available < 0:
            negative[customer_id] = available
    over = {cid: value for cid, value in negative.items() if -value > bound}
    queue = central.api("/exceptions?kind=overdraft&status=all&limit=1000").json()
    flagged = {item.get("customer_id") for item in queue}
    unflagged = [cid for cid in negative if cid not in flagged]
    worst = min(negative.values(), default=0)
    ok = not over and not unflagged
    detail = (f"{len(negative)} customers overdrawn, deepest {worst} points, bound −{bound} "
              f"(offline_cap {cap} × {shops} shops), all in the exceptions queue")
    if over:
        detail = f"beyond the bound −{bound}: {over}"
    elif unflagged:
        detail = f"overdrawn but not in the exceptions queue: {unflagged[:5]}"
    return "overdrafts within the offline bound", ok, detail


def no_acknowledged_sale_lost(central, edges, acknowledged: dict[str, str]) -> Check:
    """Every sale a till got 201 for is in central's logs exactly once."""
    found: Counter = Counter()
    for edge in edges:
        for line in central.api(f"/devices/{edge.device_id}/log").text.splitlines():
            entry = json.loads(line)
            if entry["kind"] == "sale.completed":
                found[entry["body"]["sale_id"]] += 1
    missing = [sale for sale in acknowledged if found[sale] == 0]
    twice = [sale for sale in acknowledged if found[sale] > 1]
    ok = not missing and not twice
    return ("no acknowledged sale lost", ok,
            f"{len(acknowledged)} sales answered 201, {len(missing)} missing at central, {len(twice)} twice")


def tills_saw_no_server_error(answers: Counter, balancer) -> Check:
    """No till and no central process answered 5xx (a killed process is a refused connection)."""
    tills = {status: count for status, count in answers.items() if isinstance(status, int) and status >= 500}
    central = balancer.server_errors()
    return ("no 5xx anywhere", not tills and not central,
            f"tills {dict(answers)}; central 5xx: {central[:3] or 'none'}")


def everything(central, edges, exports, customers, acknowledged, answers, balancer, cap) -> list[Check]:
    return [
        ledger_is_the_fold(central, edges, exports, customers),
        edges_converged(central, edges, customers),
        overdrafts_bounded(central, customers, cap, len(edges)),
        no_acknowledged_sale_lost(central, edges, acknowledged),
        tills_saw_no_server_error(answers, balancer),
    ]


def report(checks: list[Check]) -> bool:
    for name, ok, detail in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    return all(ok for _, ok, _ in checks)


def exceptions_summary(central) -> dict[str, Any]:
    return dict(Counter(item["kind"] for item in central.api("/exceptions?status=all&limit=1000").json()))
