"""Central's ingest rate for one edge's backlog, on SQLite and PostgreSQL.

Run with ``make bench`` (or ``python bench/central_ingest.py``). Builds a 35,000-entry backlog
of one device — real signed entries: customer registrations, sales with and without points,
returns — then applies it through ``central.ingest.apply_push`` in 500-entry batches, the
same function the HTTP push endpoint calls, and reports entries/s next to the cost of one
Ed25519 verification measured in the same run.

Targets (issue 3): the backlog applied in under 10 s on SQLite; at least 3,000 entries/s on
PostgreSQL. PostgreSQL is measured when ``FIDELIS_TEST_PG_URL`` (or ``--pg``) is set.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from central import db, migrations  # noqa: E402
from central.enrolment import create_token, enroll  # noqa: E402
from central.ingest import apply_push  # noqa: E402
from central.schemas import EnrollRequest  # noqa: E402
from central.stores import create_store  # noqa: E402
from central.verify import warm_up  # noqa: E402
from shared.times import format_time  # noqa: E402
from sync.entry import GENESIS_PREV, generate_private_key, public_key_raw_b64, seal_entry  # noqa: E402
from sync.hlc import format_hlc  # noqa: E402

BATCH = 500


def backlog(count: int, customers: int = 500):
    """A device key and ``count`` chained, signed entries a busy shop would have queued."""
    key = generate_private_key()
    device = str(uuid.uuid4())
    start = datetime.now(timezone.utc) - timedelta(days=3)
    rules = json.loads((ROOT / "demo" / "rules.json").read_text())
    entries, prev, ids, sales = [], GENESIS_PREV, [], []

    def add(kind, body):
        nonlocal prev
        seq = len(entries) + 1
        at = start + timedelta(milliseconds=seq * 5)
        sealed = seal_entry(device=device, seq=seq, prev=prev, at=format_time(at),
                            hlc=format_hlc(int(at.timestamp() * 1000), 0), kind=kind, id=str(uuid.uuid4()),
                            body=body, private_key=key)
        prev = sealed.hash
        entries.append(sealed.entry)

    add("device.initialised", {"store": "S001", "public_key": public_key_raw_b64(key)})
    add("rules.installed", {"version": 0, "effective_from": None, "document": rules})
    while len(entries) < count:
        n = len(entries)
        if len(ids) < customers and n % 10 == 2:
            ids.append(str(uuid.uuid4()))
            add("customer.registered", {"customer_id": ids[-1], "card_number": f"29{len(ids):011d}",
                                        "first_name": "Bench", "last_name": str(len(ids)), "email": None,
                                        "phone": None, "birth_date": None, "tier": "Basic"})
        elif sales and n % 25 == 0:
            sale_id, customer = sales[-1]
            add("sale.returned", {"return_id": str(uuid.uuid4()), "sale_id": sale_id, "customer_id": customer,
                                  "lines": [{"sku": "A1", "qty": 1}], "amount_refunded": 1250,
                                  "points_reversed": 1, "rules_version": 0})
        else:
            customer = ids[n % len(ids)] if ids else None
            sale_id = str(uuid.uuid4())
            sales.append((sale_id, customer))
            add("sale.completed", {"sale_id": sale_id, "customer_id": customer, "till_id": None,
                                   "lines": [{"sku": "A1", "qty": 2, "unit_price": 1250, "discount": 0}],
                                   "payments": [{"method": "cash", "amount": 2500}], "total": 2500,
                                   "eligible_amount": 2500, "rules_version": 0, "tier": "Basic",
                                   "tier_after": "Basic", "points_earned": 2 if customer else 0,
                                   "points_paid": 0, "reward_points": 0})
    return key, device, entries


def verify_cost(key, entries, samples: int = 2000) -> float:
    from sync.entry import verify_entry

    public = key.public_key()
    times = []
    for entry in entries[:samples]:
        start = time.perf_counter()
        verify_entry(entry, public)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ingest(url: str, key, device: str, entries) -> float:
    """Seconds to apply the whole backlog into a fresh database at ``url``."""
    db.connect(url)
    migrations.migrate()
    now = datetime.now(timezone.utc)
    create_store("S001", "Bench", now)
    token, _ = create_token("S001", now)
    enroll(EnrollRequest(token=token, device_id=device, public_key=public_key_raw_b64(key), store="S001"), now,
           public_key_raw_b64(generate_private_key()))
    warm_up()  # the signature-checking processes start once per server, not per push
    start = time.perf_counter()
    for i in range(0, len(entries), BATCH):
        result = apply_push(device, entries[i:i + BATCH], datetime.now(timezone.utc))
        if result.count("applied") + result.count("rejected") != len(entries[i:i + BATCH]):
            raise SystemExit(f"batch {i // BATCH} not applied: {result.results[:3]}")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def measure(count: int, pg: str | None) -> dict:
    """Seconds and entries/s for SQLite (and PostgreSQL when ``pg``), with the verification cost."""
    key, device, entries = backlog(count)
    figures = {"entries": len(entries), "verify_s": verify_cost(key, entries)}
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite_s"] = ingest(f"sqlite:///{tmp}/central.db", key, device, entries)
    if pg:
        figures["pg_s"] = _ingest_pg(pg, key, device, entries)
    return figures


def _ingest_pg(url: str, key, device: str, entries) -> float:
    import psycopg2

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE SCHEMA {schema}")
    try:
        separator = "&" if "?" in url else "?"
        return ingest(f"{url}{separator}search_path={schema}", key, device, entries)
    finally:
        admin.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=35_000)
    parser.add_argument("--pg", default=os.environ.get("FIDELIS_TEST_PG_URL"), help="PostgreSQL URL to measure too")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    if args.json:
        figures = measure(args.entries, args.pg)
        print(json.dumps(figures))
        return

    key, device, entries = backlog(args.entries)
    verify = verify_cost(key, entries)
    print(f"backlog: {len(entries)} entries from one device; Ed25519 verify median {verify * 1e6:.0f} µs "
          f"(signature floor {1 / verify:,.0f} entries/s per core)")
    with tempfile.TemporaryDirectory() as tmp:
        seconds = ingest(f"sqlite:///{tmp}/central.db", key, device, entries)
    rate = len(entries) / seconds
    print(f"SQLite    : {seconds:6.2f} s  {rate:8,.0f} entries/s  ({rate * verify:.2f} of the signature floor)"
          f"  target < 10 s: {'met' if seconds < 10 else 'NOT met'}")
    if args.pg:
        seconds = _ingest_pg(args.pg, key, device, entries)
        rate = len(entries) / seconds
        print(f"PostgreSQL: {seconds:6.2f} s  {rate:8,.0f} entries/s  ({rate * verify:.2f} of the signature floor)"
              f"  target >= 3,000/s: {'met' if rate >= 3000 else 'NOT met'}")
    else:
        print("PostgreSQL: skipped (set FIDELIS_TEST_PG_URL or --pg)")


if __name__ == "__main__":
    main()
