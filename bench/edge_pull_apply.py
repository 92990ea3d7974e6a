"""An edge applying pull pages of customers' states, as a spare box or a catch-up does.

A pull applies a page of feed items in one write transaction (``edge.syncer``), and a till's
sale waits for that transaction; a new shop's first pages are mostly ``customer.state``
items of customers it has not seen. This builds a standalone edge in a temporary directory and
applies pages of new customers' states (three lots and an e-mail each) through
``edge.feedapply.apply_item``, the pull's own code, and prints the median per page and per
state. Run: ``.venv/bin/python bench/edge_pull_apply.py [--pages N] [--page-size N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge import box as boxes  # noqa: E402
from edge import feedapply  # noqa: E402
from edge.app import create_app  # noqa: E402
from edge.db import database, write_transaction  # noqa: E402
from edge.syncer import PULL_PAGE  # noqa: E402
from sync.entry import generate_private_key  # noqa: E402

AT, EXPIRES = "2026-11-02T10:00:00.000Z", "2027-11-02T10:00:00.000Z"


def customer_state(device_id: str, number: int) -> dict:
    """A ``customer.state`` item as central sends it for a customer new to this shop."""
    lots = [{"ref": f"lot-{uuid.uuid4()}", "points": 100, "available_at": AT, "expires_at": EXPIRES}
            for _ in range(3)]
    return {"kind": "customer.state", "body": {
        "customer": {"id": str(uuid.uuid4()), "card_number": f"27{number:011d}", "first_name": "Ana",
                     "last_name": "Pop", "email": f"ana{number}@example.com", "phone": None, "birth_date": None,
                     "tier": "Basic"},
        "points": {"available": 300, "pending": 0}, "lots": lots, "debt": 0, "qualifying_spend": 5000,
        "balance_negative": False, "applied": {device_id: 0}, "tier_locked": False,
        "wallet": {"balance": 0, "pockets": []}}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=PULL_PAGE)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="fidelis-apply-")) / "edge"
    boxes.initialise(data, "S001", json.loads((ROOT / "demo" / "rules.json").read_text()))
    box = create_app(data, {"TESTING": True}).extensions["fidelis_edge"]
    central_key = generate_private_key().public_key()
    made, seconds = 0, []
    for page in range(args.pages + 3):  # the first three warm up
        items = [customer_state(box.device_id, made + k) for k in range(args.page_size)]
        made += args.page_size
        started = time.perf_counter()
        with write_transaction():
            for item in items:
                feedapply.apply_item(box, item, central_key)
        if page >= 3:
            seconds.append(time.perf_counter() - started)
    held = database.execute_sql("SELECT COUNT(*) FROM customer WHERE provisional = ?", (False,)).fetchone()[0]
    if held != made:
        raise SystemExit(f"the edge holds {held} customers, {made} were sent")
    page_s = statistics.median(seconds)
    figures = {"page_size": args.page_size, "pages": args.pages, "page_p50_s": page_s,
               "state_p50_s": page_s / args.page_size, "customers": held}
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"a pull page of {args.page_size} new customers' states, applied at the edge: median "
              f"{page_s * 1e3:.1f} ms ({page_s / args.page_size * 1e3:.2f} ms a state) over {args.pages} pages; "
              f"{held:,} customers held")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
