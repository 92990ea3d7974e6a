"""1,000 shops syncing at once against two central processes on one PostgreSQL.

Run with ``make bench-scale`` (or ``python bench/thousand_edges.py``; ``--edges`` and
``--entries`` to change the size). Each shop is a ``tests/lightedge.py`` edge: its own Ed25519
device key, enrolled at central through the API with a one-time token, a log of real signed,
chained entries (registrations and sales, some spending points). Central runs as two
``fidelis-central serve`` processes on a schema of its own, dropped afterwards; the shops are
spread over both and push from a pool of threads, every shop's log in pushes of ``--batch``.

Reported: errors (any refusal or 5xx; the target is 0), exactly once (rows counted in the
database at the end against the entries sent, before and after every shop pushes its whole log
again), entries/s and pushes/s with the push latency, beside the Ed25519 verify rate measured
in the same run.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import psycopg2  # noqa: E402
import requests  # noqa: E402

from lightedge import LightEdge  # noqa: E402
from sync.client import new_session  # noqa: E402
from sync.entry import verify_entry  # noqa: E402

BIN = Path(sys.executable).parent
RULES = ROOT / "demo" / "rules.json"


def central_processes(url: str, workdir: Path, count: int) -> tuple[dict, list[subprocess.Popen], list[str]]:
    env = {**os.environ, "FIDELIS_DATABASE_URL": url, "FIDELIS_CENTRAL_KEY": str(workdir / "central_key.pem")}

    def cli(*args: str) -> str:
        result = subprocess.run([str(BIN / "fidelis-central"), *args], env=env, capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise SystemExit(f"fidelis-central {' '.join(args)}: {result.stderr}")
        return result.stdout.strip()

    cli("init")
    env["TOKEN"] = cli("token", "create", "--name", "bench")
    cli("rules", "publish", str(RULES))
    procs, urls = [], []
    for n in range(count):
        port = _free_port()
        log = open(workdir / f"central-{n}.log", "ab")
        procs.append(subprocess.Popen([str(BIN / "fidelis-central"), "serve", "--port", str(port), "--threads", "16"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=log))
        urls.append(f"http://127.0.0.1:{port}")
    for url_ in urls:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url_}/api/v1/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"central at {url_} did not start")
            time.sleep(0.2)
    return env, procs, urls


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def enrol(urls: list[str], token: str, count: int, workers: int) -> list[LightEdge]:
    """``count`` stores, each with one shop enrolled through the API, spread over the processes."""
    local = threading.local()

    def one(n: int) -> LightEdge:
        session = getattr(local, "session", None) or new_session(8)
        local.session = session
        api = urls[n % len(urls)] + "/api/v1"
        auth = {"Authorization": f"Bearer {token}"}
        code = f"B{n:04d}"
        session.post(f"{api}/stores", json={"code": code, "name": f"Bench shop {n}"}, headers=auth,
                     timeout=30).raise_for_status()
        made = session.post(f"{api}/enrolments", json={"store": code}, headers=auth, timeout=30)
        made.raise_for_status()
        return LightEdge(urls[n % len(urls)], made.json()["token"], code, session=session, timeout=60)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(count)))


def fill(shop: LightEdge, n: int, entries: int) -> None:
    """Registrations, sales earning points and a few spending them: ``entries`` signed entries."""
    customers = [shop.register(f"27{n:05d}{k:06d}") for k in range(max(1, entries // 10))]
    while len(shop.entries) < entries:
        k = len(shop.entries)
        customer = customers[k % len(customers)]
        if k % 7 == 0 and k > 20:
            shop.sale(customer, 500, paid=1)
        else:
            shop.sale(customer, 2500, earned=2)


def push_everything(shops: list[LightEdge], workers: int, batch: int) -> tuple[float, list[float], list[str]]:
    """Every shop pushes its log from ``acked`` on, ``batch`` entries a push, all at once.

    Returns the seconds it took, each push's latency and the errors.
    """
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(shop: LightEdge) -> None:
        done = shop.acked
        while done < len(shop.entries):
            part = shop.entries[done:done + batch]
            started = time.perf_counter()
            try:
                reply = shop.client.push(part)
            except Exception as exc:  # noqa: BLE001 — every failure is a figure here
                with lock:
                    errors.append(f"{shop.device_id}: {exc}")
                return
            with lock:
                latencies.append(time.perf_counter() - started)
            done += len(part)
        shop.acked = done

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, shops))
    return time.perf_counter() - started, latencies, errors


def counted(url: str, schema: str) -> dict[str, int]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{schema}"')
        found = {}
        for table in ("logentry", "sale", "movement", "device"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            found[table] = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(sum(head_seq), 0) FROM device")
        found["sum of heads"] = cursor.fetchone()[0]
    connection.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=int(os.environ.get("FIDELIS_BENCH_EDGES") or 1000))
    parser.add_argument("--entries", type=int, default=30, help="entries in each shop's log")
    parser.add_argument("--batch", type=int, default=10, help="entries in one push")
    parser.add_argument("--workers", type=int, default=32, help="shops pushing at the same moment")
    parser.add_argument("--pg", default=os.environ.get("FIDELIS_TEST_PG_URL"))
    args = parser.parse_args()
    if not args.pg:
        print("set FIDELIS_TEST_PG_URL", file=sys.stderr)
        return 2
    schema = f"edges_{uuid.uuid4().hex[:10]}"
    url = f"{args.pg}{'&' if '?' in args.pg else '?'}search_path={schema}"
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            env, procs, urls = central_processes(url, Path(tmp), 2)
            started = time.perf_counter()
            shops = enrol(urls, env["TOKEN"], args.edges, args.workers)
            enrolled = time.perf_counter() - started
            for n, shop in enumerate(shops):
                fill(shop, n, args.entries)
            total = sum(len(shop.entries) for shop in shops)
            sample = [(entry, shop.key.public_key()) for shop in shops[:50] for entry in shop.entries[:20]]
            verify = statistics.median(_timed(verify_entry, entry, key) for entry, key in sample)
            print(f"{args.edges} shops enrolled through the API in {enrolled:.1f} s; {total:,} signed entries, "
                  f"{args.batch} per push, {args.workers} shops pushing at once, 2 central processes")
            seconds, latencies, errors = push_everything(shops, args.workers, args.batch)
            after = counted(args.pg, schema)
            again, _, errors_again = push_everything([_rewound(shop) for shop in shops], args.workers, args.batch)
            repeated = counted(args.pg, schema)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)
            with psycopg2.connect(args.pg) as connection, connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            connection.close()
    rate = total / seconds
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0
    print(f"errors: {len(errors)} (again: {len(errors_again)}){'  ' + errors[0] if errors else ''}")
    once = after["logentry"] == total == after["sum of heads"] and repeated == after
    print(f"exactly once: {after['logentry']:,} log rows for {total:,} entries sent, "
          f"heads sum {after['sum of heads']:,}; "
          f"after every shop resent its whole log ({again:.1f} s): {repeated['logentry']:,} rows, "
          f"{repeated['movement']:,} movements (was {after['movement']:,}) — {'yes' if once else 'NO'}")
    print(f"throughput: {rate:,.0f} entries/s, {len(latencies) / seconds:,.0f} pushes/s over {seconds:.1f} s; "
          f"push p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"Ed25519 verify median {verify * 1e6:.0f} µs = {1 / verify:,.0f} entries/s per core; "
          f"ingest at {rate * verify:.2f} of one core's verify rate")
    return 0 if not errors and not errors_again and once else 1


def _timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def _rewound(shop: LightEdge) -> LightEdge:
    shop.acked = 0
    return shop


if __name__ == "__main__":
    sys.exit(main())
