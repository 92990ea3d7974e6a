"""The dashboard and the liability report of a big brand, on SQLite and PostgreSQL.

Run with ``make bench`` (or ``python bench/central_figures.py``). Loads a brand of 100,000
customers and 1,000,000 ledger movements (``bench/brand_data.py``, through ``db.insert_rows``),
builds the figures once (``central.positions.rebuild``, as the upgrade's migration does), then
times, through central's own app and test client:

- ``GET /api/v1/reports/liability`` for the last complete month, and the dashboard's figures
  (``GET /api/v1/dashboard``) for the brand and for one shop over the last 30 days and a year;
- the HTML pages a signed-in user gets (``/finance/liability``, ``/dashboard/``), charts included;
- a page after 100 customers changed (the page re-folds them itself) and after 1,000 (it
  shows the figures as last counted and says so; the background refresher's time to catch
  up is printed too).

Target (issue 9): each answers in under 500 ms. PostgreSQL is measured when
``FIDELIS_TEST_PG_URL`` (or ``--pg``) is set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from brand_data import Brand, load  # noqa: E402
from central import db, feed, migrations, positions  # noqa: E402
from central.auth import create_token, create_user  # noqa: E402
from central.keys import ensure_key  # noqa: E402

TARGET_MS = 500
RUNS = 5


def _timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def measure(url: str, brand: Brand, key_file: Path) -> list[tuple[str, float, str]]:
    """Load the brand into ``url`` and time each page; ``[(what, milliseconds, note)]``."""
    from central.app import create_app

    now = datetime.now(timezone.utc).replace(microsecond=0)
    db.connect(url)
    migrations.migrate()
    results = []
    seconds, counts = _timed(lambda: load(brand, now))
    results.append(("load", seconds, ", ".join(f"{value:,} {name}" for name, value in counts.items())))
    if db.is_postgres():
        db.execute("ANALYZE")
    seconds, customers = _timed(lambda: positions.rebuild(now))
    results.append(("figures built from scratch", seconds, f"{customers:,} customers folded"))
    app = create_app({"DATABASE_URL": url, "KEY_FILE": str(key_file), "CLOCK": lambda: now})
    client = app.test_client()
    token = create_token("bench", now)[1]
    headers = {"Authorization": f"Bearer {token}"}
    month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    pages = {
        f"liability report {month}": f"/api/v1/reports/liability?month={month}",
        "dashboard, brand, 30 days": "/api/v1/dashboard",
        "dashboard, S001, 30 days": "/api/v1/dashboard?store=S001",
        "dashboard, brand, 365 days": f"/api/v1/dashboard?from={(now - timedelta(days=364)).date()}",
    }
    browser = app.test_client()  # a signed-in head-office user, for the HTML pages
    create_user("bench@example.com", "admin", "bench password 1", now)
    form = browser.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]*)"', form).group(1)
    signed = browser.post("/", data={"email": "bench@example.com", "password": "bench password 1", "csrf_token": token})
    assert signed.status_code == 303, signed.status_code
    pages.update({
        f"page /finance/liability?month={month}": f"/finance/liability?month={month}",
        "page /dashboard/ (brand, 30 days)": "/dashboard/",
        "page /dashboard/ (brand, 365 days)": f"/dashboard/?from={(now - timedelta(days=364)).date()}",
    })
    for name, path in pages.items():
        times = []
        for _ in range(RUNS):
            elapsed, response = _timed(lambda: (browser if path.startswith(("/dashboard", "/finance")) else client)
                                       .get(path, headers=headers))
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
            times.append(elapsed)
        results.append((name, statistics.median(times), f"median of {RUNS}, slowest {max(times):.0f} ms"))
    # Changes arrive: up to settings.FIGURES_INLINE_LIMIT waiting feed items the page counts
    # itself; a longer backlog is left to the background refresher, and the page says so.
    ids = [cid for (cid,) in db.rows("SELECT id FROM customer ORDER BY id LIMIT 1100")]
    for count, what in ((100, "a page after 100 customers changed (re-folds them)"),
                        (1000, "a page after 1,000 customers changed (counts them later)")):
        changed, ids = ids[:count], ids[count:]
        with db.database.atomic():
            feed.append([(None, feed.CUSTOMER_STATE, {"customer": {"id": cid, "tier": "Basic"}}) for cid in changed],
                        now)
        elapsed, response = _timed(lambda: client.get(pages["dashboard, brand, 30 days"], headers=headers))
        assert response.status_code == 200
        results.append((what, elapsed, f"{response.json['waiting']} feed items left waiting"))
    seconds, customers = _timed(lambda: positions.refresh(now))
    results.append(("background refresh of the 1,000", seconds, f"{customers:,} customers re-folded"))
    report = client.get(pages[f"liability report {month}"], headers=headers).json
    results.append(("  reconciled", 0.0, json.dumps({k: report[k] for k in ("closing", "members_balance",
                                                                              "reconciled")})))
    db.close()
    return results


def _print(backend: str, results: list[tuple[str, float, str]]) -> None:
    print(f"{backend}:")
    for name, ms, note in results:
        if name.startswith("  "):
            print(f"  {name.strip():58s} {note}")
        elif name in ("load", "background refresh of the 1,000") or name.startswith("figures built"):
            print(f"  {name:58s} {ms / 1000:8.1f} s   {note}")
        else:
            verdict = "met" if ms < TARGET_MS else "NOT met"
            print(f"  {name:58s} {ms:8.0f} ms  {note}  (target < {TARGET_MS} ms: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--movements", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("FIDELIS_TEST_PG_URL"), help="PostgreSQL URL to measure too")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    args = parser.parse_args()
    brand = Brand(customers=args.customers, movements=args.movements)
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "central_key.pem"
        ensure_key(key_file)
        if not args.no_sqlite:
            _print("SQLite", measure(f"sqlite:///{tmp}/central.db", brand, key_file))
        if args.pg:
            import psycopg2

            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = psycopg2.connect(args.pg)
            admin.autocommit = True
            admin.cursor().execute(f"CREATE SCHEMA {schema}")
            try:
                separator = "&" if "?" in args.pg else "?"
                _print("PostgreSQL", measure(f"{args.pg}{separator}search_path={schema}", brand, key_file))
            finally:
                admin.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
                admin.close()
        else:
            print("PostgreSQL: skipped (set FIDELIS_TEST_PG_URL or --pg)")


if __name__ == "__main__":
    main()
