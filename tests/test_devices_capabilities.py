"""Importing the printer side: one shared python-escpos cache, safe for parallel starts, and
the host application's logging left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = (
    "import logging, os, devices.printer;"
    "print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR']);"
    "print(len(logging.getLogger().handlers))"
)


def run_probes(count: int, data_dir: Path) -> list[subprocess.CompletedProcess]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(data_dir), "FIDELIS_DATA_DIR": str(data_dir)}
    procs = [subprocess.Popen([sys.executable, "-c", PROBE], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(count)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=30)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_parallel_first_imports_share_one_cache(tmp_path):
    # Without the lock, processes starting together on an empty cache read a half-written
    # pickle and fail with EOFError.
    results = run_probes(4, tmp_path)
    assert [r.returncode for r in results] == [0] * 4, [r.stderr[-300:] for r in results]
    cache = tmp_path / "cache" / "escpos"
    for result in results:
        directory, handlers = result.stdout.split()
        assert directory == str(cache)
        assert handlers == "0"  # python-escpos' logging.basicConfig() was undone
    assert len(list(cache.glob("*.capabilities.pickle"))) == 1
