"""Sale latency and throughput of a real edge over HTTP, against the physical floor.

Run with ``make bench`` (or ``python bench/edge_sale.py``). It starts ``fidelis-edge serve``
on a loopback port with a temp data dir, then measures:

* the floor: one SQLite commit (WAL, synchronous=FULL) plus one Ed25519 signature;
* p50/p99 latency and sales/s for 1 till, 8 and 32 concurrent tills, over HTTP (closed loop:
  each till sells again as soon as it is answered);
* the edge's peak resident memory serving 32 tills;
* one customer's sale p50 with no past sales, and again after ``--history`` past sales.

``bench/run.py`` (``make bench``) puts these figures in one table with the targets of issue 8.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def floor_cost(samples: int, directory: Path) -> float:
    """Median seconds of one durable commit plus one signature."""
    db = sqlite3.connect(directory / "floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    key = Ed25519PrivateKey.generate()
    payload = b"x" * 500
    times = []
    for i in range(samples):
        start = time.perf_counter()
        sig = key.sign(payload + str(i).encode())
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (body) VALUES (?)", (sig.hex(),))
        db.execute("COMMIT")
        times.append(time.perf_counter() - start)
    db.close()
    return statistics.median(times)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def run_tills(url: str, keys: list[str], customers: list[str], sales_per_till: int) -> tuple[list[float], float]:
    """Each till posts sales back to back, cycling through the customers; returns latencies and wall time."""
    latencies: list[float] = []
    lock = threading.Lock()

    def till(key: str) -> None:
        # A till keeps one connection open, as POS software does; http.client adds the least
        # client-side overhead, so the figures are the edge's, not the HTTP library's.
        mine = []
        parsed = urlsplit(url)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        for n in range(sales_per_till):
            body = json.dumps({"customer_id": customers[n % len(customers)],
                               "lines": [{"sku": "A1", "qty": 2, "unit_price": 1250}],
                               "payments": [{"method": "cash", "amount": 2500}]})
            start = time.perf_counter()
            connection.request("POST", f"{parsed.path}/sales", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 201:
                raise SystemExit(f"sale failed: {response.status} {payload!r}")
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=till, args=(k,)) for k in keys]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set so far (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fill_history(data: Path, sales: int, fresh: int) -> tuple[str, list[str]]:
    """Before the server starts: one customer with ``sales`` past sales and ``fresh`` customers
    with none, made through the edge's own app (with ``synchronous=OFF``: the filling is not
    what is measured). Returns the loyal customer's id and the fresh ones'."""
    sys.path.insert(0, str(ROOT))
    from edge import tills
    from edge.app import create_app
    from edge.db import database

    app = create_app(data)
    database.execute_sql("PRAGMA synchronous=OFF")
    _, key = tills.add(app.extensions["fidelis_edge"], "history")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    made = [client.post("/api/v1/customers", json={"first_name": "Loyal", "last_name": str(i)},
                        headers=headers).get_json()["id"] for i in range(fresh + 1)]
    body = {"customer_id": made[0], "lines": [{"sku": "A1", "qty": 2, "unit_price": 1250}],
            "payments": [{"method": "cash", "amount": 2500}]}
    for _ in range(sales):
        reply = client.post("/api/v1/sales", json=body, headers=headers)
        if reply.status_code != 201:
            raise SystemExit(f"filling failed: {reply.status_code} {reply.get_data()!r}")
    database.execute_sql("PRAGMA synchronous=FULL")
    database.close()
    return made[0], made[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=400, help="sales for the one-till run (default 400)")
    parser.add_argument("--threads", type=int, default=8, help="edge request threads (default 8)")
    parser.add_argument("--customers", type=int, default=200, help="customers the sales cycle through (default 200)")
    parser.add_argument("--history", type=int, default=10_000,
                        help="past sales of one customer for the flat-cost figure (default 10,000)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "edge"
        edge_cmd = str(BIN / "fidelis-edge")
        # The demo rules without tier discounts: customers move up to Silver and Gold during the
        # run, and every till pays the same fixed amount whatever the customer's tier.
        rules = json.loads((ROOT / "demo" / "rules.json").read_text())
        for tier in rules["tiers"]:
            tier["discount_percent"] = 0
        (tmp_path / "rules.json").write_text(json.dumps(rules))
        subprocess.run([edge_cmd, "init", "--store", "BENCH", "--rules", str(tmp_path / "rules.json"),
                        "--data-dir", str(data)], check=True, capture_output=True)
        keys = [subprocess.run([edge_cmd, "till", "add", "--name", f"t{i}", "--data-dir", str(data)],
                               check=True, capture_output=True, text=True).stdout.strip() for i in range(32)]
        loyal, fresh = fill_history(data, args.history, 100)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([edge_cmd, "serve", "--no-sync", "--port", str(port), "--data-dir", str(data),
                                   "--threads", str(args.threads)],
                                  stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/api/v1"
        try:
            for _ in range(400):
                try:
                    requests.get(f"{url}/health", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.05)
            customers = [
                requests.post(f"{url}/customers", json={"first_name": "Bench", "last_name": f"{i}"},
                              headers={"Authorization": f"Bearer {keys[0]}"}).json()["id"]
                for i in range(args.customers)
            ]
            run_tills(url, keys[:1], customers, 30)  # warm-up
            floor = floor_cost(1000, tmp_path)
            one, one_wall = run_tills(url, keys[:1], customers, args.sales)
            eight, eight_wall = run_tills(url, keys[:8], customers, max(1, args.sales // 4))
            many, many_wall = run_tills(url, keys, customers, max(1, args.sales // 16))
            rss = peak_rss_mb(server.pid)
            # A customer with no past sale, then the loyal one, in turn on one till: the same load
            # for both, so the difference is the history's.
            turns = [who for pair in zip(fresh, [loyal] * len(fresh)) for who in pair]
            both, _ = run_tills(url, keys[:1], turns, len(turns))
            fresh, old = both[0::2], both[1::2]
        finally:
            server.terminate()
            server.wait(timeout=10)

    figures = {
        "floor_s": floor,
        "one_p50_s": statistics.median(one), "one_p99_s": percentile(one, 99), "one_rate": len(one) / one_wall,
        "eight_p50_s": statistics.median(eight), "eight_p99_s": percentile(eight, 99),
        "eight_rate": len(eight) / eight_wall,
        "many_tills": len(keys), "many_p50_s": statistics.median(many), "many_p99_s": percentile(many, 99),
        "many_rate": len(many) / many_wall, "peak_rss_mb": rss,
        "history": args.history, "fresh_p50_s": statistics.median(fresh), "old_p50_s": statistics.median(old),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"floor: SQLite commit (WAL, synchronous=FULL) + Ed25519 sign, median {floor * 1e6:8.0f} µs")
    for name, label in (("one", " 1 till "), ("eight", " 8 tills"), ("many", "32 tills")):
        print(f"{label}: p50 {figures[name + '_p50_s'] * 1e3:6.2f} ms  p99 {figures[name + '_p99_s'] * 1e3:7.2f} ms"
              f"  {figures[name + '_rate']:7.1f} sales/s")
    print(f"peak RSS serving {len(keys)} tills: {rss:.0f} MB")
    print(f"one customer: p50 {figures['fresh_p50_s'] * 1e3:.2f} ms with no past sales, "
          f"{figures['old_p50_s'] * 1e3:.2f} ms after {args.history:,}")
    print(f"(machine: {os.cpu_count()} cores, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
