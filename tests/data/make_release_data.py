"""Make the databases a release leaves behind, for the upgrade tests (tests/test_upgrade.py).

Run from the repository root with the release's code first on the path (here, the source of
the release commit exported to /tmp/release, which the CLIs started by the script import too):

    git archive COMMIT | tar -x -C /tmp/release
    PYTHONPATH=/tmp/release FIDELIS_RELEASE_COMMIT=COMMIT \
        .venv/bin/python tests/data/make_release_data.py tests/data/release-0.1.0

It starts a real central (SQLite) and a real provisioned edge, sells through the till API
(customers, a sale paid partly with points, a return, an anonymous sale), syncs, stops both
cleanly, and keeps their data directories with a ``manifest.json`` of what must survive an
upgrade: counts, the edge's log head, and every customer's balance as the edge and central
show it. The keys in there are test keys made for this data and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from nodes import CentralNode, EdgeNode  # noqa: E402

ROOT = TESTS.parent


def _sale(customer: str | None, lines: list[dict], points: int = 0) -> dict:
    total = sum(line["qty"] * line["unit_price"] for line in lines)
    payments = [{"method": "cash", "amount": total - points * 10}]
    if points:
        payments.append({"method": "points", "points": points})
    body = {"lines": lines, "payments": payments}
    if customer:
        body["customer_id"] = customer
    return body


def _ok(response) -> dict:
    if response.status_code not in (200, 201):
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json()


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the main file so the one file holds everything."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def make(target: Path) -> dict:
    """Build the central and edge data in ``target`` and return the manifest."""
    work = Path(tempfile.mkdtemp(prefix="fidelis-release-"))
    central = CentralNode(work / "central")
    edge = None
    try:
        central.store("S001", "Main street")
        central.store("S002", "Station")
        central.publish(json.loads((ROOT / "demo" / "rules.json").read_text()))
        edge = EdgeNode(work / "edge", central.url, central.enrolment_token("S001"))
        ana = _ok(edge.post("/customers", {"first_name": "Ana", "last_name": "Pop", "email": "ana@example.com",
                                           "phone": "+40 721 000 111", "birth_date": "1990-04-01"}))
        ion = _ok(edge.post("/customers", {"first_name": "Ion", "last_name": "Rus", "card_number": "CARD0042"}))
        _ok(edge.post("/sales", _sale(ana["id"], [{"sku": "A1", "qty": 2, "unit_price": 12500},
                                                   {"sku": "BAG1", "qty": 1, "unit_price": 900}])))
        edge.wait_synced()
        _ok(edge.post("/sales", _sale(ana["id"], [{"sku": "B2", "qty": 1, "unit_price": 4000}], points=10)))
        returned = _ok(edge.post("/sales", _sale(ion["id"], [{"sku": "C3", "qty": 3, "unit_price": 2000}])))
        _ok(edge.post(f"/sales/{returned['id']}/returns", {"lines": [{"sku": "C3", "qty": 1}]}))
        _ok(edge.post("/sales", _sale(None, [{"sku": "D4", "qty": 1, "unit_price": 999}])))
        status = edge.wait_synced()
        balances = {c["id"]: _ok(edge.get(f"/customers/{c['id']}"))["points"] for c in (ana, ion)}
        central_balances = {c["id"]: central.api(f"/customers/{c['id']}").json()["points"] for c in (ana, ion)}
        public_key = status["device_public_key"]
    finally:
        if edge is not None:
            edge.stop()
        central.stop()
    with sqlite3.connect(work / "edge" / "edge.db") as db:
        counts = {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
                  for table in ("customer", "sale", "salereturn", "pointmovement", "logentry", "till")}
        schema = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    with sqlite3.connect(work / "central" / "central.db") as db:
        central_schema = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        central_entries = db.execute("SELECT COUNT(*) FROM logentry").fetchone()[0]
    db.close()
    shutil.rmtree(target, ignore_errors=True)
    (target / "edge").mkdir(parents=True)
    (target / "central").mkdir()
    for name in ("edge.db", "device_key.pem"):
        shutil.copy2(work / "edge" / name, target / "edge" / name)
    for name in ("central.db", "central_key.pem"):
        shutil.copy2(work / "central" / name, target / "central" / name)
    _checkpoint(target / "edge" / "edge.db")
    _checkpoint(target / "central" / "central.db")
    import edge as edge_package

    where = Path(edge_package.__file__).resolve().parents[1]
    commit = os.environ.get("FIDELIS_RELEASE_COMMIT") or subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=where).stdout.strip()
    manifest = {
        "release": version("fidelis"), "made_at_commit": commit, "edge_schema": schema,
        "central_schema": central_schema, "store": "S001", "device_id": status["device_id"],
        "device_public_key": public_key, "log_head": status["log_head"], "edge_counts": counts,
        "central_log_entries": central_entries, "edge_points": balances, "central_points": central_balances,
        "customers": {"ana": ana["id"], "ion": ion["id"]}, "central_url": central.url,
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return manifest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(json.dumps(make(Path(sys.argv[1])), indent=2))
