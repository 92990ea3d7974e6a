"""``make run``: start a demo edge on SQLite with demo data, print how to use it.

Idempotent: a second run reuses ``var/demo`` (delete it for a fresh demo).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "var" / "demo"
EDGE_DIR = DATA / "edge"
KEY_FILE = DATA / "till_key"
HOST, PORT = "127.0.0.1", int(os.environ.get("FIDELIS_EDGE_PORT", "8701"))

CUSTOMERS = [
    {"first_name": "Ana", "last_name": "Popescu", "email": "ana@example.com", "phone": "+40721000111",
     "card_number": "2000000000015"},
    {"first_name": "Łukasz", "last_name": "Nowak", "email": "lukasz@example.com", "phone": "+48600100200",
     "card_number": "2000000000022"},
    {"first_name": "Olena", "last_name": "Shevchenko", "email": "olena@example.com", "card_number": "2000000000039"},
]


def prepare() -> str:
    """Initialise the demo edge once; return the demo till key."""
    from edge import box as boxes
    from edge import customers, tills
    from edge.errors import ApiError

    box, created = boxes.initialise(EDGE_DIR, "S001", json.loads((ROOT / "demo" / "rules.json").read_text()))
    if created or not KEY_FILE.exists():
        _, key = tills.add(box, "demo-till")
        fd = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        now = datetime.now(timezone.utc)
        for fields in CUSTOMERS:
            try:
                customers.register(box, customers.validate_registration(fields, now), now)
            except ApiError as exc:  # already there from an earlier run
                print(f"demo customer {fields['first_name']}: {exc}", file=sys.stderr)
    return KEY_FILE.read_text().strip()


def main() -> None:
    key = prepare()
    base = f"http://{HOST}:{PORT}/api/v1"
    print(f"""
Fidelis demo is starting.

  Edge till API   {base}   (store S001, data in {EDGE_DIR})
  Till key        {key}

Try a sale (25.00 for Ana's card, earns 2 points):

  curl -s -X POST {base}/sales \\
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
    -d '{{"card_number": "2000000000015", "lines": [{{"sku": "A1", "qty": 2, "unit_price": 1250}}], "payments": [{{"method": "cash", "amount": 2500}}]}}'

Press Ctrl+C to stop.
""", flush=True)
    from edge.cli import main as edge_main

    sys.exit(edge_main(["serve", "--no-sync", "--host", HOST, "--port", str(PORT), "--data-dir", str(EDGE_DIR)]))


if __name__ == "__main__":
    main()
