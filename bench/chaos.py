"""``make chaos``: one central (two processes on PostgreSQL) and four edges under random faults.

Run: ``make chaos`` (or ``python bench/chaos.py``). ``FIDELIS_CHAOS_SEED`` (or ``--seed``) picks
the faults, ``CHAOS_SECONDS`` (or ``--seconds``, default 180) how long they last;
``FIDELIS_TEST_PG_URL`` the PostgreSQL server (a schema of its own, dropped afterwards).

Central runs as two ``fidelis-central serve`` processes behind the fault proxy used as a
round-robin balancer (``tests/balancer.py``), which also drops requests, loses replies,
repeats them on the other process or delivers them to both at once. Four real edges sell,
register customers, spend points (online through central's holds, offline within the cap) and
take returns, one till thread each. Meanwhile, at random: an edge or a central process is
SIGKILLed and restarted, central restarts whole, the network to central is cut, the fourth
edge's clock jumps (libfaketime). Then the faults stop, everything syncs, and the invariants
of ``bench/chaos_checks.py`` are checked and printed; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import psycopg2  # noqa: E402
import requests  # noqa: E402

import chaos_checks  # noqa: E402
from balancer import Balancer  # noqa: E402
from conftest import BIN, free_port  # noqa: E402
from nodes import CentralNode, EdgeNode, ShiftedClock, _log_file, _wait_healthy  # noqa: E402

CAP = 80
RULES = {
    "earn": {"rate": "0.1"},
    "redeem": {"point_value": 1, "max_share_percent": 100, "min_balance": 0, "offline_cap": CAP},
    "tiers": [{"name": "Basic", "threshold": 0}],
}
SHOPS = ("S001", "S002", "S003", "S004")
BACKGROUND = {"pass": 40, "drop_request": 1, "drop_response": 1, "duplicate": 1, "both": 1, "delay": 1}


class CentralAdmin(CentralNode):
    """Central's database, key, API token and CLI; its serving processes are ``CentralProcess``es."""

    def start(self) -> None:
        self.proc = None  # the two processes below serve it: each is killed and started on its own


class CentralProcess:
    """One ``fidelis-central serve`` of the shared database, on its own port."""

    def __init__(self, central: CentralNode, name: str) -> None:
        self.env, self.name = central.env, name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = central.workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with _log_file(self.log) as log:
            self.proc = subprocess.Popen([str(BIN / "fidelis-central"), "serve", "--port", str(self.port)],
                                         stdout=subprocess.DEVNULL, stderr=log, env=self.env)
        _wait_patiently(f"{self.url}/api/v1/health", self.proc, self.name, self.log)

    def kill(self, graceful: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate() if graceful else self.proc.kill()
            self.proc.wait(timeout=30)


class PatientEdge(EdgeNode):
    """An edge node that waits longer for its process to answer (a loaded machine starts slowly)."""

    def start(self, sync: bool = True) -> None:
        try:
            super().start(sync)
        except (RuntimeError, requests.RequestException):
            if self.proc is None or self.proc.poll() is not None or not _healthy_within(f"{self.url}/health", 120):
                raise


def _wait_patiently(url: str, proc: subprocess.Popen, what: str, log: Path) -> None:
    try:
        _wait_healthy(url, proc, what, log)
    except (RuntimeError, requests.RequestException):
        if proc.poll() is not None or not _healthy_within(url, 120):
            raise


class Shop:
    """An edge, its till thread's state and the lock that keeps the till off while it restarts."""

    def __init__(self, node: EdgeNode, name: str) -> None:
        self.node, self.name = node, name
        self.device_id = node.status()["device_id"]
        self.up = threading.Event()
        self.up.set()

    def api(self, method: str, path: str, body: dict | None = None, key: str | None = None):
        headers = {"Authorization": f"Bearer {self.node.key}"}
        if key:
            headers["Idempotency-Key"] = key
        return requests.request(method, f"{self.node.url}{path}", json=body, headers=headers, timeout=10)

    get = EdgeNode.get  # the checks read through the node's own helpers

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def key(self) -> str:
        return self.node.key


class Run:
    def __init__(self, seed: int, seconds: float, pg_url: str, workdir: Path) -> None:
        self.rng = random.Random(seed)
        self.seed, self.seconds, self.workdir = seed, seconds, workdir
        self.schema = f"chaos_{uuid.uuid4().hex[:10]}"
        self.pg_url = pg_url
        self.processes: list[CentralProcess] = []
        self.shops: list[Shop] = []
        self.balancer: Balancer | None = None
        self.customers: dict[str, str] = {}  # id -> card
        self.acknowledged: dict[str, str] = {}  # sale id -> shop
        self.answers: Counter = Counter()
        self.faults: Counter = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def start(self) -> None:
        """Central's two processes, the balancer and the edges; ``close`` undoes what got started."""
        separator = "&" if "?" in self.pg_url else "?"
        self.central = CentralAdmin(self.workdir / "central", f"{self.pg_url}{separator}search_path={self.schema}")
        for code in SHOPS:
            self.central.store(code, f"Shop {code}")
        self.central.publish(RULES)
        for n in (1, 2):
            self.processes.append(CentralProcess(self.central, f"central-{n}"))
            self.processes[-1].start()
        self.central.url = self.processes[0].url  # the checks read central's API through process 1
        self.balancer = Balancer([process.url for process in self.processes])
        self.clock = ShiftedClock(self.workdir)
        for n, code in enumerate(SHOPS):
            env = self.clock.env if n == len(SHOPS) - 1 else None
            node = PatientEdge(self.workdir / code, self.balancer.url, self.central.enrolment_token(code),
                            sync_interval=0.5, env=env)
            self.shops.append(Shop(node, code))

    # --- the tills ---------------------------------------------------------------------------

    def _sale(self, shop: Shop, body: dict) -> dict | None:
        """A sale sent until the till hears an answer (same Idempotency-Key each time)."""
        key = str(uuid.uuid4())
        for _ in range(30):
            shop.up.wait(timeout=30)
            try:
                answer = shop.api("POST", "/sales", body, key)
            except requests.RequestException:
                time.sleep(0.3)
                continue
            with self.lock:
                self.answers[answer.status_code] += 1
                if answer.status_code == 201:
                    self.acknowledged[answer.json()["id"]] = shop.name
            return answer.json() if answer.status_code == 201 else None
        return None

    def _register(self, shop: Shop) -> None:
        try:
            answer = shop.api("POST", "/customers", {"first_name": "Chaos", "last_name": shop.name})
        except requests.RequestException:
            return
        with self.lock:
            self.answers[answer.status_code] += 1
            if answer.status_code == 201:
                self.customers[answer.json()["id"]] = answer.json()["card_number"]

    def till(self, shop: Shop, rng: random.Random) -> None:
        mine: list[str] = []
        sold: list[str] = []
        while not self.stop.is_set():
            time.sleep(rng.uniform(0.1, 0.4))
            roll = rng.random()
            if roll < 0.05 or not mine:
                before = set(self.customers)
                self._register(shop)
                mine.extend(set(self.customers) - before)
                continue
            with self.lock:
                everyone = list(self.customers)
            customer = rng.choice(mine) if rng.random() < 0.6 else rng.choice(everyone)
            if roll < 0.55:
                amount = rng.randint(5, 400) * 100
                sale = self._sale(shop, {"customer_id": customer, "lines": [{"sku": "A1", "qty": 1,
                                                                             "unit_price": amount}],
                                         "payments": [{"method": "cash", "amount": amount}]})
                if sale:
                    sold.append(sale["id"])
            elif roll < 0.9:
                points = rng.randint(5, 60)
                self._sale(shop, {"customer_id": customer, "lines": [{"sku": "B1", "qty": 1, "unit_price": points}],
                                  "payments": [{"method": "points", "points": points}]})
            elif sold:
                try:
                    answer = shop.api("POST", f"/sales/{sold.pop(rng.randrange(len(sold)))}/returns",
                                      {"lines": [{"sku": "A1", "qty": 1}]})
                    with self.lock:
                        self.answers[answer.status_code] += 1
                except requests.RequestException:
                    pass

    # --- the faults ---------------------------------------------------------------------------

    def _fault(self) -> str:
        rng = self.rng
        kind = rng.choices(["kill_edge", "kill_central", "restart_central", "cut", "skew"], [3, 3, 1, 2, 1])[0]
        if kind == "kill_edge":
            shop = rng.choice(self.shops)
            shop.up.clear()
            shop.node.proc.kill()
            shop.node.proc.wait(timeout=30)
            time.sleep(rng.uniform(0.5, 3))
            restart(shop.node.start, lambda: shop.node.proc, f"{shop.node.url}/health")
            shop.up.set()
            kind = f"kill_edge {shop.name}"
        elif kind == "kill_central":
            process = rng.choice(self.processes)
            process.kill()
            time.sleep(rng.uniform(0.5, 3))
            restart(process.start, lambda: process.proc, f"{process.url}/api/v1/health")
            kind = f"kill_central {process.name}"
        elif kind == "restart_central":
            for process in self.processes:
                process.kill(graceful=True)
            time.sleep(rng.uniform(0.5, 2))
            for process in self.processes:
                restart(process.start, lambda: process.proc, f"{process.url}/api/v1/health")
        elif kind == "cut":
            self.balancer.plan = lambda method, path: "drop_request"
            time.sleep(rng.uniform(2, 8))
            self.balancer.plan = self._background
        else:
            offset = rng.choice([-1, 1]) * rng.randint(20, 240)
            self.clock.shift(f"{offset:+d}s")
            kind = f"skew {SHOPS[-1]} {offset:+d}s"
        return kind

    def run(self) -> bool:
        print(f"chaos: seed {self.seed}, {self.seconds:.0f} s, 2 central processes on PostgreSQL, "
              f"{len(self.shops)} edges, work dir {self.workdir}", flush=True)
        first = self.shops[0]
        for _ in range(4):  # customers every shop knows before the faults start
            self._register(first)
        for customer in list(self.customers):
            self._sale(first, {"customer_id": customer, "lines": [{"sku": "A1", "qty": 1, "unit_price": 300000}],
                               "payments": [{"method": "cash", "amount": 300000}]})
        self._background = chaos_plan(self.rng.randrange(2**32))
        self.balancer.plan = self._background
        tills = [threading.Thread(target=self.till, args=(shop, random.Random(self.rng.random())), daemon=True)
                 for shop in self.shops]
        for thread in tills:
            thread.start()
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            time.sleep(self.rng.uniform(1, 4))
            fault = self._fault()
            self.faults[fault.split()[0]] += 1
            print(f"  {time.monotonic() - deadline + self.seconds:6.1f} s  {fault}", flush=True)
        self.stop.set()
        for thread in tills:
            thread.join(timeout=120)
        return self.settle()

    def settle(self) -> bool:
        self.balancer.plan = lambda method, path: "pass"
        for shop in self.shops:
            shop.node.wait_synced(timeout=300)
            result = shop.node.sync()
            if result.returncode != 0:
                print(f"  {shop.name}: fidelis-edge sync exited {result.returncode}: {result.stderr.strip()}")
        time.sleep(3)  # two more rounds of each edge's pull loop
        exports = [shop.node.export() for shop in self.shops]
        checks = chaos_checks.everything(self.central, self.shops, exports, self.customers, self.acknowledged,
                                         self.answers, self.balancer, CAP)
        print(f"faults injected: {dict(self.faults)}; proxy faults: "
              f"{dict(Counter(fault for _, _, fault in self.balancer.log))}")
        print(f"exceptions at central: {chaos_checks.exceptions_summary(self.central)}")
        print(f"invariants (seed {self.seed}):")
        return chaos_checks.report(checks)

    def close(self) -> None:
        self.stop.set()
        for shop in self.shops:
            shop.node.stop()
        for process in self.processes:
            process.kill(graceful=True)
        if self.balancer:
            self.balancer.stop()
        with psycopg2.connect(self.pg_url) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        connection.close()


def restart(start, proc, health: str, attempts: int = 3) -> None:
    """Start a process again; on a loaded machine a start may outlast the harness's 20 s wait."""
    for attempt in range(attempts):
        try:
            start()
            return
        except (RuntimeError, requests.RequestException):
            running = proc()
            if running is not None and running.poll() is None:
                if _healthy_within(health, 120):
                    return
                running.kill()
                running.wait(timeout=30)
            if attempt == attempts - 1:
                raise


def _healthy_within(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).ok:
                return True
        except requests.RequestException:
            time.sleep(0.5)
    return False


def chaos_plan(seed: int):
    rng = random.Random(seed)
    names, weights = zip(*BACKGROUND.items())
    lock = threading.Lock()

    def plan(method: str, path: str) -> str:
        with lock:
            return rng.choices(names, weights)[0]

    return plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    seed = os.environ.get("FIDELIS_CHAOS_SEED") or random.randrange(10**6)
    parser.add_argument("--seed", type=int, default=int(seed))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("CHAOS_SECONDS") or 180))
    parser.add_argument("--pg", default=os.environ.get("FIDELIS_TEST_PG_URL"))
    args = parser.parse_args()
    if not args.pg:
        print("chaos: set FIDELIS_TEST_PG_URL (a PostgreSQL server central may create a schema in)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(143))  # stop what was started, then go
    workdir = Path(tempfile.mkdtemp(prefix=f"fidelis-chaos-{args.seed}-"))
    run = Run(args.seed, args.seconds, args.pg, workdir)
    started = time.monotonic()
    try:
        run.start()
        ok = run.run()
    finally:
        run.close()
    print(f"chaos seed {args.seed}: {'PASSED' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s, "
          f"{len(run.acknowledged)} sales acknowledged")
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs kept in {workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
