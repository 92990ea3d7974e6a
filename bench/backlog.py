"""A week's backlog pushed from a real edge to a real central over loopback HTTP, end to end.

Run with ``python bench/backlog.py`` (``make bench`` runs it). Starts ``fidelis-central serve`` on
SQLite in a temp dir, provisions an edge against it, then fills the edge's change log with
``--entries`` real entries made through the edge's own app (customer registrations, sales with
and without a customer, returns; the filling runs with ``synchronous=OFF``, it is not what is
measured) and times ``edge.syncer.push``: every entry pushed in 500-entry batches, applied by
central and acknowledged (the edge records each acknowledgement durably). The pull of central's
feed that ``sync_once`` does next is timed apart. Prints one line of JSON.

Target (issue 8): 35,000 entries at ≥ 5,000 entries/s end to end, under 7 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _run(command: list[str], env: dict | None = None) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(data: Path, entries: int) -> int:
    """Make ``entries`` log entries through the edge's app; returns the log's last seq."""
    from edge import tills
    from edge.app import create_app
    from edge.changelog import head
    from edge.db import database

    app = create_app(data)
    database.execute_sql("PRAGMA synchronous=OFF")  # filling only: the push is what is timed
    _, key = tills.add(app.extensions["fidelis_edge"], "bench")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    customers, sales = [], []
    while head()[0] < entries:
        n = head()[0]
        if len(customers) < 500 and n % 10 == 0:
            reply = client.post("/api/v1/customers", json={"first_name": "Bench", "last_name": str(n)}, headers=headers)
            customers.append(reply.get_json()["id"])
        elif sales and n % 25 == 0:
            reply = client.post(f"/api/v1/sales/{sales.pop()}/returns", json={"lines": [{"sku": "A1", "qty": 1}]},
                                headers=headers)
        else:
            body = {"lines": [{"sku": "A1", "qty": 2, "unit_price": 1250}], "payments": [{"method": "cash", "amount": 2500}]}
            if customers and n % 3:
                body["customer_id"] = customers[n % len(customers)]
            reply = client.post("/api/v1/sales", json=body, headers=headers)
            if reply.status_code == 201:
                sales.append(reply.get_json()["id"])
        if reply.status_code != 201:
            raise SystemExit(f"filling failed: {reply.status_code} {reply.get_data()!r}")
    database.execute_sql("PRAGMA synchronous=FULL")
    return head()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=35_000)
    parser.add_argument("--json", action="store_true", help="accepted for bench/run.py: the output is JSON anyway")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "FIDELIS_DATABASE_URL": f"sqlite:///{work / 'central.db'}",
               "FIDELIS_CENTRAL_KEY": str(work / "central_key.pem")}
        central = str(BIN / "fidelis-central")
        _run([central, "init"], env)
        _run([central, "store", "create", "--code", "S001", "--name", "Bench"], env)
        token = _run([central, "enroll", "create", "--store", "S001"], env)
        rules = json.loads((ROOT / "demo" / "rules.json").read_text())
        for tier in rules["tiers"]:
            tier["discount_percent"] = 0  # every sale pays the same whatever the customer's tier
        (work / "rules.json").write_text(json.dumps(rules))
        _run([central, "rules", "publish", str(work / "rules.json")], env)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([central, "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(400):
                try:
                    requests.get(f"{url}/api/v1/health", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.05)
            data = work / "edge"
            _run([str(BIN / "fidelis-edge"), "provision", "--central", url, "--token", token,
                  "--data-dir", str(data)])
            last = fill(data, args.entries)
            from edge import box as boxes
            from edge.syncer import client_for, push, sync_once

            box = boxes.load(data)
            client = client_for(box, timeout=120)
            start = time.perf_counter()
            pushed, acked, _ = push(box, client)
            seconds = time.perf_counter() - start
            start = time.perf_counter()
            report = sync_once(box, client)  # then the feed: central's word on every customer touched
            pull_seconds = time.perf_counter() - start
        finally:
            server.terminate()
            server.wait(timeout=20)
    if acked != last:
        raise SystemExit(f"central acknowledged up to {acked}, the log ends at {last}")
    print(json.dumps({"entries": last, "pushed": pushed, "seconds": round(seconds, 3),
                      "entries_per_s": round(last / seconds), "pulled": report.pulled,
                      "pull_seconds": round(pull_seconds, 3)}))


if __name__ == "__main__":
    main()
