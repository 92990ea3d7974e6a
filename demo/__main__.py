"""``make run``: central and one provisioned demo edge on SQLite, with demo data.

Everything goes through the real CLIs and HTTP APIs, as a technician and a till would.
Idempotent: a second run reuses ``var/demo`` (delete it for a fresh demo).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATA = ROOT / "var" / "demo"
EDGE_DIR = DATA / "edge"
HOST = "127.0.0.1"
CENTRAL_PORT = int(os.environ.get("FIDELIS_CENTRAL_PORT", "8700"))
EDGE_PORT = int(os.environ.get("FIDELIS_EDGE_PORT", "8701"))
CENTRAL_ENV = {
    **os.environ,
    "FIDELIS_DATABASE_URL": f"sqlite:///{DATA / 'central.db'}",
    "FIDELIS_CENTRAL_KEY": str(DATA / "central_key.pem"),
}
ADMIN_EMAIL = "admin@example.com"

CUSTOMERS = [
    {"first_name": "Ana", "last_name": "Popescu", "email": "ana@example.com", "phone": "+40721000111",
     "card_number": "2000000000015"},
    {"first_name": "Łukasz", "last_name": "Nowak", "email": "lukasz@example.com", "phone": "+48600100200",
     "card_number": "2000000000022"},
    {"first_name": "Olena", "last_name": "Shevchenko", "email": "olena@example.com", "card_number": "2000000000039"},
]


def _cli(program: str, *args: str, input: str | None = None, env=None) -> str:
    result = subprocess.run([str(BIN / program), *args], capture_output=True, text=True, input=input,
                            env=env or os.environ, timeout=120)
    if result.returncode != 0:
        sys.exit(f"{program} {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def _secret(name: str, make) -> str:
    """A demo secret kept in ``var/demo/NAME`` (mode 0600) so re-runs can print it again."""
    path = DATA / name
    if not path.exists():
        value = make()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
    return path.read_text().strip()


def _wait(url: str, proc: subprocess.Popen, what: str) -> None:
    for _ in range(400):
        if proc.poll() is not None:
            sys.exit(f"{what} stopped; see the lines above")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    sys.exit(f"{what} did not start")


def central_setup() -> tuple[str, str]:
    """Schema, store, API token, admin user and rules; returns (api token, admin password)."""
    central = lambda *a, **k: _cli("fidelis-central", *a, env=CENTRAL_ENV, **k)  # noqa: E731
    central("init")
    token = _secret("api_token", lambda: central("token", "create", "--name", "demo"))
    password = _secret("admin_password", lambda: secrets.token_urlsafe(12))
    if not (DATA / "central_ready").exists():
        central("store", "create", "--code", "S001", "--name", "Main street")
        central("user", "create", "--email", ADMIN_EMAIL, "--role", "admin", input=password + "\n")
        central("rules", "publish", str(ROOT / "demo" / "rules.json"))
        (DATA / "central_ready").touch()
    return token, password


def edge_setup(central_url: str) -> None:
    if (EDGE_DIR / "edge.db").exists():
        return
    enrol = _cli("fidelis-central", "enroll", "create", "--store", "S001", env=CENTRAL_ENV)
    _cli("fidelis-edge", "provision", "--central", central_url, "--token", enrol, "--data-dir", str(EDGE_DIR))


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True, mode=0o700)
    token, password = central_setup()
    central_url = f"http://{HOST}:{CENTRAL_PORT}"
    processes = [subprocess.Popen([str(BIN / "fidelis-central"), "serve", "--host", HOST, "--port", str(CENTRAL_PORT)],
                                  env=CENTRAL_ENV)]
    try:
        _wait(f"{central_url}/api/v1/health", processes[0], "central")
        edge_setup(central_url)
        till_key = _secret("till_key", lambda: _cli("fidelis-edge", "till", "add", "--name", "demo-till",
                                                    "--data-dir", str(EDGE_DIR)))
        processes.append(subprocess.Popen([str(BIN / "fidelis-edge"), "serve", "--host", HOST, "--port",
                                           str(EDGE_PORT), "--data-dir", str(EDGE_DIR), "--sync-interval", "2"]))
        edge = f"http://{HOST}:{EDGE_PORT}/api/v1"
        _wait(f"{edge}/health", processes[1], "edge")
        for fields in CUSTOMERS:  # 409 on re-runs: they are already there
            requests.post(f"{edge}/customers", json=fields, headers={"Authorization": f"Bearer {till_key}"}, timeout=10)
        print(f"""
Fidelis demo is running (data in {DATA}).

  Central          {central_url}   (JSON API {central_url}/api/v1, sync API {central_url}/sync/v1)
  Central API token {token}
  Head-office UI   {central_url}/   sign in as {ADMIN_EMAIL} / {password}   (role admin)
  Edge till API    {edge}   (store S001)
  Till key         {till_key}

Try a sale (25.00 for Ana's card earns 2 points):

  curl -s -X POST {edge}/sales \\
    -H 'Authorization: Bearer {till_key}' -H 'Content-Type: application/json' \\
    -d '{json.dumps({"card_number": "2000000000015", "lines": [{"sku": "A1", "qty": 2, "unit_price": 1250}],
                     "payments": [{"method": "cash", "amount": 2500}]})}'

and see the brand-wide balance at central a few seconds later:

  curl -s '{central_url}/api/v1/customers?card=2000000000015' -H 'Authorization: Bearer {token}'

Press Ctrl+C to stop.
""", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
