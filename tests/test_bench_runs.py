"""The benchmarks that reach into central's and the edge's modules still run (`make bench` must never rot).

``bench/central_ingest.py`` drives ``central.ingest`` directly; a change to the bodies it
builds would only show when someone runs ``make bench``. A small run here keeps it honest.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_the_central_ingest_bench_runs_on_a_small_backlog():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "central_ingest.py"), "--entries", "600", "--json"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["entries"] == 600 and figures["sqlite_s"] > 0


def test_the_edge_pull_apply_bench_runs_on_a_few_pages():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "edge_pull_apply.py"), "--pages", "2",
                             "--page-size", "20", "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["customers"] == 5 * 20 and figures["page_p50_s"] > 0  # two measured pages after three warm-ups
