"""Where one edge sale spends its time: cProfile over sales through the real Flask app.

Run with ``python bench/profile_sale.py [--sales N] [--history N]``. It initialises an edge in
a temp dir, adds a till and customers, then profiles ``POST /sales`` through the app's WSGI
stack (no socket: the HTTP server's share is measured by ``bench/edge_sale.py``) and prints
the functions that cost the most, own time and cumulative. ``--history`` first gives the
first customer that many past sales, to show what a long history costs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--history", type=int, default=0)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    from edge.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "edge"
        edge = str(BIN / "fidelis-edge")
        rules = json.loads((ROOT / "demo" / "rules.json").read_text())
        for tier in rules["tiers"]:
            tier["discount_percent"] = 0  # every sale pays the same whatever the customer's tier
        (Path(tmp) / "rules.json").write_text(json.dumps(rules))
        subprocess.run([edge, "init", "--store", "PROF", "--rules", str(Path(tmp) / "rules.json"),
                        "--data-dir", str(data)], check=True, capture_output=True)
        key = subprocess.run([edge, "till", "add", "--name", "t0", "--data-dir", str(data)],
                             check=True, capture_output=True, text=True).stdout.strip()
        client = create_app(data).test_client()
        headers = {"Authorization": f"Bearer {key}"}
        customers = [client.post("/api/v1/customers", json={"first_name": "P", "last_name": str(i)},
                                 headers=headers).get_json()["id"] for i in range(50)]
        body = {"lines": [{"sku": "A1", "qty": 2, "unit_price": 1250}], "payments": [{"method": "cash", "amount": 2500}]}

        def sell(n: int, customer: str) -> None:
            response = client.post("/api/v1/sales", data=json.dumps({"customer_id": customer, **body}),
                                   headers={**headers, "Content-Type": "application/json"})
            if response.status_code != 201:
                raise SystemExit(f"sale failed: {response.status_code} {response.get_data()!r}")

        for n in range(args.history):
            sell(n, customers[0])
        for n in range(50):
            sell(n, customers[n % len(customers)])  # warm-up
        targets = customers[:1] if args.history else customers
        profile = cProfile.Profile()
        profile.enable()
        for n in range(args.sales):
            sell(n, targets[n % len(targets)])
        profile.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
