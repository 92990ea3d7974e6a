"""``make bench``: every figure of issue 8 in one table, beside the physical floor of this run.

Runs ``bench/edge_sale.py``, ``bench/backlog.py`` and ``bench/central_ingest.py`` (each with
``--json``), then prints one table. The floor is one raw durable signed commit (an Ed25519
signature and a SQLite ``BEGIN IMMEDIATE``/``INSERT``/``COMMIT`` in WAL with
``synchronous=FULL``) measured in the same run, so the ratios hold on a loaded machine where
absolute figures do not. A time is divided by the floor; a rate is turned into the time per
sale or entry first (``1 / rate``), so every ratio reads "so many raw commits' worth".
PostgreSQL is measured when ``FIDELIS_TEST_PG_URL`` (or ``--pg``) is set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _figures(script: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, str(HERE / script), "--json", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{script}: {json.dumps(figures)}", file=sys.stderr, flush=True)  # kept if a later step fails
    return figures


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def rows(edge: dict, backlog: dict, central: dict) -> list[tuple[str, str, str, str, str]]:
    """``(figure, measured, × floor, target, met)`` for each figure."""
    floor = edge["floor_s"]

    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:.2f} ms"

    def times(seconds: float) -> str:
        return f"{seconds / floor:.1f}×"

    flat = edge["old_p50_s"] / edge["fresh_p50_s"] - 1
    entries = backlog["entries"]
    found = [
        ("raw durable signed commit (the floor)", f"{floor * 1e6:.0f} µs", "1.0×", "—", ""),
        ("edge sale p50, 1 till, HTTP, durable, signed", ms(edge["one_p50_s"]), times(edge["one_p50_s"]), "≤ 6×",
         edge["one_p50_s"] / floor <= 6),
        ("edge sales/s, 8 tills", f"{edge['eight_rate']:.0f}/s", times(1 / edge["eight_rate"]), "≥ 600/s",
         edge["eight_rate"] >= 600),
        (f"edge sale p99, {edge['many_tills']} tills, closed loop", ms(edge["many_p99_s"]), times(edge["many_p99_s"]),
         "< 100 ms", edge["many_p99_s"] < 0.1),
        (f"sale p50, one customer, 0 → {edge['history']:,} past sales",
         f"{ms(edge['fresh_p50_s'])} → {ms(edge['old_p50_s'])} ({flat:+.0%})",
         f"{times(edge['fresh_p50_s'])} → {times(edge['old_p50_s'])}", "within 10 %", flat <= 0.10),
        (f"peak RSS serving {edge['many_tills']} tills", f"{edge['peak_rss_mb']:.0f} MB", "—", "< 100 MB",
         edge["peak_rss_mb"] < 100),
        (f"backlog of {entries:,} entries edge → central (SQLite), end to end",
         f"{backlog['seconds']:.2f} s, {entries / backlog['seconds']:,.0f}/s", times(backlog["seconds"] / entries),
         "≥ 5,000/s, < 7 s", entries / backlog["seconds"] >= 5000 and backlog["seconds"] < 7),
        (f"central ingest alone, SQLite ({central['entries']:,})",
         f"{central['sqlite_s']:.2f} s, {central['entries'] / central['sqlite_s']:,.0f}/s",
         times(central["sqlite_s"] / central["entries"]), "—", ""),
    ]
    if "pg_s" in central:
        found.append((f"central ingest alone, PostgreSQL ({central['entries']:,})",
                      f"{central['pg_s']:.2f} s, {central['entries'] / central['pg_s']:,.0f}/s",
                      times(central["pg_s"] / central["entries"]), "≥ 3,000/s",
                      central["entries"] / central["pg_s"] >= 3000))
    else:
        found.append(("central ingest alone, PostgreSQL", "skipped (no FIDELIS_TEST_PG_URL)", "—", "—", ""))
    return [(a, b, c, d, "" if e == "" else ("met" if e else "NOT met")) for a, b, c, d, e in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("FIDELIS_TEST_PG_URL"), help="PostgreSQL URL to measure too")
    parser.add_argument("--history", default="10000", help="past sales for the flat-cost figure")
    parser.add_argument("--entries", default="35000", help="entries in the backlog and the ingest runs")
    args = parser.parse_args()
    edge = _figures("edge_sale.py", "--history", args.history)
    backlog = _figures("backlog.py", "--entries", args.entries)
    central = _figures("central_ingest.py", "--entries", args.entries, *(["--pg", args.pg] if args.pg else []))
    table = [("figure", "measured", "× floor", "target", "")] + rows(edge, backlog, central)
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    print(f"Fidelis bench: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    for n, row in enumerate(table):
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")


if __name__ == "__main__":
    main()
