"""Two central processes on one PostgreSQL, raced: exactly once, no lost update, no 5xx.

Process A is gunicorn with two workers, process B is ``fidelis-central serve``; they share
nothing but the database. Pushes of one device reach both at the same moment, a push whose
reply was lost is retried on the other process, holds for the same points are asked of both
at once, and two real edges sell and spend through a round-robin balancer that drops requests,
loses replies and delivers one request to both processes at once.

PostgreSQL only (``FIDELIS_TEST_PG_URL``): SQLite has one writer and is served by one process.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from typing import Callable

import psycopg2
import pytest
import requests

from balancer import Balancer
from conftest import BIN, PG_ENV, free_port
from faultproxy import FaultProxy, random_plan
from lightedge import LightEdge
from nodes import CentralNode, EdgeNode
from sync.client import Offline, Refused, SyncClient
from test_multinode import RULES, cash_sale, points_sale, wait_for
from test_sync_faults import expected_balances

pytestmark = pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"needs PostgreSQL ({PG_ENV})")


def _gunicorn(env: dict, workdir, workers: int = 2) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with open(workdir / "gunicorn.log", "ab") as log:
        server = subprocess.Popen([str(BIN / "gunicorn"), "--workers", str(workers), "--threads", "4",
                                   "--bind", f"127.0.0.1:{port}", "central.wsgi:app"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # each worker answers once it has imported the app
        try:
            if requests.get(f"{url}/api/v1/health", timeout=5).ok:
                return server, url
        except requests.RequestException:
            time.sleep(0.1)
    server.kill()
    raise AssertionError(f"gunicorn did not start: {(workdir / 'gunicorn.log').read_text()[-2000:]}")


@pytest.fixture(scope="module")
def brand(tmp_path_factory):
    """Central on its own PostgreSQL schema, served by gunicorn (A) and by waitress (B).

    One brand for the module (starting three processes is most of the cost); each test uses
    devices and customers of its own.
    """
    base = os.environ[PG_ENV]
    schema = f"race_{uuid.uuid4().hex[:12]}"
    central = CentralNode(tmp_path_factory.mktemp("race") / "central", f"{base}?search_path={schema}")
    central.store("S001", "Main street")
    central.store("S002", "Station")
    central.publish(RULES)
    server, url = _gunicorn(central.env, central.workdir)
    yield central, [url, central.url]
    server.terminate()
    server.wait(timeout=30)
    central.stop()
    with psycopg2.connect(base) as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    connection.close()


def race(*calls):
    """Run the calls at the same moment; each one's answer or the exception it raised."""
    start = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        try:
            answers[index] = calls[index]()
        except Exception as exc:  # noqa: BLE001 — the caller judges every outcome
            answers[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def faults_first(faults: list[str], then: Callable[[str, str], str]) -> Callable[[str, str], str]:
    """A plan that gives ``faults`` in order to the first requests, then asks ``then``."""
    waiting, lock = list(faults), threading.Lock()

    def plan(method: str, path: str) -> str:
        with lock:
            if waiting:
                return waiting.pop(0)
        return then(method, path)

    return plan


def test_one_device_pushing_to_both_processes_at_once_applies_every_entry_once(brand):
    central, (a, b) = brand
    shop = LightEdge(a, central.enrolment_token("S001"), "S001")
    on_b = SyncClient(b, shop.device_id, shop.key)
    customers = [shop.register(f"29{n:011d}") for n in range(10)]
    for n in range(390):
        shop.sale(customers[n % 10], 1000 + n, earned=1 + n % 3)
    for start in (0, 100, 200):
        batch = shop.entries[start:start + 100]
        replies = race(lambda: shop.client.push(batch), lambda: on_b.push(batch))
        assert not [r for r in replies if isinstance(r, Exception)], replies  # no 5xx, no deadlock
        outcomes = defaultdict(list)
        for reply in replies:
            assert reply["head"]["seq"] == start + 100
            for result in reply["results"]:
                outcomes[result["seq"]].append(result["status"])
        assert {seq: sorted(found) for seq, found in outcomes.items()} == {
            seq: ["applied", "duplicate"] for seq in range(start + 1, start + 101)}

    # A push whose reply is lost on the way from A is retried on B: all duplicates.
    batch = shop.entries[300:]
    lossy = FaultProxy(a, plan=lambda method, path: "drop_response")
    try:
        with pytest.raises(Offline):
            SyncClient(lossy.url, shop.device_id, shop.key).push(batch)
    finally:
        lossy.stop()
    retried = on_b.push(batch)
    assert Counter(r["status"] for r in retried["results"]) == {"duplicate": 100}
    assert retried["head"]["seq"] == 400

    lines = central.api(f"/devices/{shop.device_id}/log").text.splitlines()
    assert [int(line.split('"seq":')[1].split(",")[0]) for line in lines] == list(range(1, 401))
    earned = Counter()
    for n in range(390):
        earned[customers[n % 10]] += 1 + n % 3
    for customer, points in earned.items():
        assert central.api(f"/customers/{customer}").json()["points"]["available"] == points


def test_holds_asked_of_both_processes_at_once_never_spend_a_point_twice(brand):
    central, (a, b) = brand
    first = LightEdge(a, central.enrolment_token("S001"), "S001")
    second = LightEdge(b, central.enrolment_token("S002"), "S002")
    customer = first.register("2800000000001")
    first.sale(customer, 100000, earned=100)
    first.push_all()
    at = {(shop, url): SyncClient(url, shop.device_id, shop.key) for shop in (first, second) for url in (a, b)}

    for round_ in range(6):  # 60 + 60 > 100: one of the two holds must be refused
        urls = (a, b) if round_ % 2 else (b, a)
        sales = [str(uuid.uuid4()), str(uuid.uuid4())]
        answers = race(lambda: at[first, urls[0]].authorize(customer, 60, sales[0], timeout=30),
                       lambda: at[second, urls[1]].authorize(customer, 60, sales[1], timeout=30))
        granted = [n for n, answer in enumerate(answers) if isinstance(answer, dict) and answer["authorized"]]
        refused = [answer for answer in answers if isinstance(answer, Refused)]
        assert len(granted) == 1 and len(refused) == 1, answers
        assert refused[0].code == "insufficient_points" and refused[0].details["available"] == 40
        winner = (first, second)[granted[0]]
        assert at[winner, urls[1 - granted[0]]].release(sales[granted[0]], timeout=30)["released"] is True

    # The same sale asked of both processes at once holds its points once, not twice.
    sale = str(uuid.uuid4())
    answers = race(lambda: at[first, a].authorize(customer, 60, sale, timeout=30),
                   lambda: at[first, b].authorize(customer, 60, sale, timeout=30))
    assert [answer["authorized"] for answer in answers] == [True, True], answers
    with pytest.raises(Refused) as refused:
        at[second, b].authorize(customer, 41, str(uuid.uuid4()), timeout=30)
    assert refused.value.details["available"] == 40
    # The sale settles its hold through one process while the other is asked to release it.
    first.sale(customer, 0, paid=60, sale_id=sale)
    answers = race(first.push_all, lambda: at[first, b].release(sale, timeout=30))
    assert not [answer for answer in answers if isinstance(answer, Offline)], answers
    assert central.api(f"/customers/{customer}").json()["points"]["available"] == 40
    assert at[second, a].authorize(customer, 40, str(uuid.uuid4()), timeout=30)["available"] == 0


def test_two_edges_behind_a_faulty_balancer_sell_and_spend_exactly_once(brand, tmp_path):
    central, urls = brand
    balancer = Balancer(urls)
    edges = []
    try:
        tokens = {code: central.enrolment_token(code) for code in ("S001", "S002")}
        started = race(*[lambda code=code: EdgeNode(tmp_path / code, balancer.url, tokens[code], sync_interval=0.2)
                         for code in tokens])  # side by side: each start is mostly waiting on its CLI
        edges = [edge for edge in started if isinstance(edge, EdgeNode)]
        assert len(edges) == 2, started
        shared = edges[0].post("/customers", {"first_name": "Ana", "last_name": "Both"}).json()
        assert edges[0].post("/sales", cash_sale(shared["id"], 300000)).status_code == 201
        edges[0].wait_synced()
        wait_for(lambda: edges[1].get(f"/customers/lookup?card={shared['card_number']}").ok, what="customer at B")
        wait_for(lambda: edges[1].get(f"/customers/{shared['id']}").json()["points"]["available"] == 300,
                 what="balance at B")
        # Every fault at least once (the first requests), then a seeded mix.
        balancer.plan = faults_first(["drop_request", "pass", "drop_response", "pass", "duplicate", "pass", "both",
                                      "pass", "both"],
                                     random_plan(12, {"pass": 6, "drop_request": 1, "drop_response": 1,
                                                      "duplicate": 1, "both": 2}))
        answered: list[int] = []

        def till(edge: EdgeNode, n: int) -> None:
            for i in range(6):
                answered.append(edge.post("/sales", cash_sale(shared["id"], 5000 + 10 * i + n)).status_code)
                answered.append(edge.post("/sales", points_sale(shared["id"], 15)).status_code)

        threads = [threading.Thread(target=till, args=(edge, n)) for n, edge in enumerate(edges)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert set(answered) <= {201, 422} and answered.count(201) >= 12, Counter(answered)
        balancer.plan = lambda method, path: "pass"
        exports = []
        for edge in edges:
            edge.wait_synced(timeout=60)
            exports.append(edge.export())
            device = edge.status()["device_id"]
            assert central.api(f"/devices/{device}/log").text.splitlines() == exports[-1]
        expected = expected_balances(exports[0] + exports[1])[shared["id"]]
        assert central.api(f"/customers/{shared['id']}").json()["points"]["available"] == expected
        for edge in edges:
            wait_for(lambda: edge.get(f"/customers/{shared['id']}").json()["points"]["available"] == expected,
                     what="edge converged")
        assert {fault for _, _, fault in balancer.log} >= {"drop_request", "drop_response", "duplicate", "both"}
        assert balancer.server_errors() == []
    finally:
        for edge in edges:
            edge.stop()
        balancer.stop()
