"""Fixtures for central's tests: a migrated database on every backend, the app, simulated edges.

Every test that uses ``central`` runs once on SQLite (a temp file) and, when
``FIDELIS_TEST_PG_URL`` is set, once more on PostgreSQL in a schema of its own, created
before and dropped after the test. With the variable set, an unreachable server fails the
test instead of skipping it.

Simulated edges (``central.edge()``) hold a real Ed25519 key, build and sign real change-log
entries (``sync.entry.seal_entry``) and sign every request (``sync.protocol.sign_request``);
requests go through Flask's test client, no sockets.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from central import db, migrations, models
from central.app import create_app
from central.auth import create_token
from central.enrolment import create_token as create_enrolment_token
from central.keys import ensure_key
from central.stores import create_store
from shared.engine import earn, tier_discounts
from shared.rules import parse_rules
from shared.times import format_time
from sync.entry import (
    GENESIS_PREV,
    generate_private_key,
    public_key_raw_b64,
    seal_entry,
)
from sync.hlc import format_hlc
from sync.protocol import sign_request

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO_RULES = json.loads((ROOT / "demo" / "rules.json").read_text())
PG_URL = os.environ.get("FIDELIS_TEST_PG_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_plugin_registered(plugin, manager):
    # conftest.py files outside packages all import as "conftest", and the last one loaded
    # wins sys.modules. Test modules in tests/ do `from conftest import …` meaning
    # tests/conftest.py, so once this file is registered the name goes back to that one.
    if getattr(plugin, "__file__", None) != __file__:
        return
    parent = manager.get_plugin(str(Path(__file__).resolve().parents[1] / "conftest.py"))
    if parent is not None:
        sys.modules["conftest"] = parent


# --- databases ------------------------------------------------------------------------------


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


def _pg_admin():
    import psycopg2

    try:
        connection = psycopg2.connect(PG_URL, connect_timeout=5)
    except psycopg2.Error as exc:
        pytest.fail(f"FIDELIS_TEST_PG_URL is set but PostgreSQL is unreachable: {str(exc).strip()}")
    connection.autocommit = True
    return connection


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A database URL no other test uses: a temp SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        db.close()
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = _pg_admin()
    admin.cursor().execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_schema(PG_URL, schema)
    finally:
        db.close()
        admin.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@pytest.fixture(scope="session")
def key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("central-key") / "central_key.pem"
    ensure_key(path)
    return path


# --- the harness ----------------------------------------------------------------------------


class Clock:
    """The app's clock; tests move it. Starts at the real time so request windows line up."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class SimEdge:
    """An edge as central sees it: a device key, a signed hash-chained log, signed requests."""

    def __init__(self, harness: "Harness", store: str, rules_document: dict | None = None) -> None:
        self.harness = harness
        self.store = store
        self.key = generate_private_key()
        self.device_id = str(uuid.uuid4())
        self.log: list[dict] = []
        self.hashes: list[str] = []
        self.acked = 0
        document = rules_document or DEMO_RULES
        self.rules = parse_rules(document)[0]
        self.append("device.initialised", {"store": store, "public_key": public_key_raw_b64(self.key)})
        self.append("rules.installed", {"version": 0, "effective_from": None, "document": document})

    @property
    def public_key(self) -> str:
        return public_key_raw_b64(self.key)

    def append(self, kind: str, body: dict, at: datetime | None = None) -> dict:
        """Sign the next entry of this device's log (not sent until ``push``)."""
        when = at or self.harness.clock()
        prev = self.hashes[-1] if self.hashes else GENESIS_PREV
        sealed = seal_entry(device=self.device_id, seq=len(self.log) + 1, prev=prev,
                            at=format_time(when), hlc=format_hlc(int(when.timestamp() * 1000), len(self.log) % 1000),
                            kind=kind, id=str(uuid.uuid4()), body=body, private_key=self.key)
        self.log.append(sealed.entry)
        self.hashes.append(sealed.hash)
        return sealed.entry

    def register(self, card: str | None = None, first_name: str = "Ana", tier: str = "Basic") -> str:
        customer_id = str(uuid.uuid4())
        self.append("customer.registered", {
            "customer_id": customer_id, "card_number": card or f"2{uuid.uuid4().int % 10**12:012d}",
            "first_name": first_name, "last_name": "Pop", "email": None, "phone": None, "birth_date": None,
            "tier": tier})
        return customer_id

    def sale_body(self, customer_id: str | None, lines: list[dict] | None = None, *, points_paid: int = 0,
                  reward_points: int = 0, points_earned: int | None = None, rules_version: int = 0,
                  tier: str | None = "Basic", sale_id: str | None = None) -> dict:
        """A ``sale.completed`` body as the edge writes it; points computed under the local rules.

        Lines get the tier's discount unless they give their own ``tier_discount``; a line
        without one (as older edges wrote them) has none.
        """
        lines = lines if lines is not None else [{"sku": "A1", "qty": 2, "unit_price": 1250, "discount": 0}]
        rules = self.rules
        discounts = tier_discounts(sale_lines(lines), rules.tier(tier) if customer_id else None)
        lines = [line if "tier_discount" in line or not discount else {**line, "tier_discount": discount}
                 for line, discount in zip(lines, discounts)]
        total = sum(line["qty"] * line["unit_price"] - line.get("discount", 0) - line.get("tier_discount", 0)
                    for line in lines)
        earning = earn(sale_lines(lines), points_paid * rules.point_value, rules, rules.tier(tier))
        when = self.harness.clock()
        body = {
            "sale_id": sale_id or str(uuid.uuid4()), "customer_id": customer_id, "till_id": None, "lines": lines,
            "payments": [{"method": "cash", "amount": total - points_paid * rules.point_value}]
            + ([{"method": "points", "points": points_paid}] if points_paid else []),
            "total": total, "eligible_amount": earning.eligible_amount, "rules_version": rules_version,
            "tier": tier if customer_id else None, "tier_after": tier if customer_id else None,
            "points_earned": (earning.points if points_earned is None else points_earned) if customer_id else 0,
            "points_paid": points_paid, "reward_points": reward_points,
        }
        if body["points_earned"]:
            body["available_at"] = format_time(when)
            body["expires_at"] = None
        return body

    def sell(self, customer_id: str | None, lines: list[dict] | None = None, **options: Any) -> dict:
        """Append a ``sale.completed`` entry; returns its body."""
        body = self.sale_body(customer_id, lines, **options)
        self.append("sale.completed", body)
        return body

    def give_back(self, sale: dict, points_reversed: int, lines: list[dict] | None = None,
                  eligible_reversed: int | None = None) -> dict:
        """Append a ``sale.returned`` entry (by default: the whole sale)."""
        body = {"return_id": str(uuid.uuid4()), "sale_id": sale["sale_id"], "customer_id": sale["customer_id"],
                "lines": lines or [{"sku": line["sku"], "qty": line["qty"]} for line in sale["lines"]],
                "amount_refunded": sale["total"], "points_reversed": points_reversed, "rules_version": 0,
                "eligible_reversed": sale["eligible_amount"] if eligible_reversed is None else eligible_reversed}
        self.append("sale.returned", body)
        return body

    # --- requests -------------------------------------------------------------------------

    def enroll(self, token: str | None = None, store: str | None = "same"):
        token = token or create_enrolment_token(self.store, self.harness.clock())[0]
        return self.harness.client.post("/sync/v1/enroll", json={
            "token": token, "device_id": self.device_id, "public_key": self.public_key,
            "store": self.store if store == "same" else store})

    def signed_headers(self, method: str, path: str, data: bytes, *, now: datetime | None = None,
                       key=None) -> dict[str, str]:
        return sign_request(key or self.key, self.device_id, method, path, data, now or self.harness.clock())

    def request(self, method: str, path: str, json_body: Any = None, *, headers: dict | None = None,
                now: datetime | None = None, key=None):
        data = b"" if json_body is None else json.dumps(json_body).encode()
        signed = headers if headers is not None else self.signed_headers(method, path, data, now=now, key=key)
        return self.harness.client.open(path, method=method, data=data, headers=signed,
                                        content_type="application/json" if data else None)

    def head(self):
        return self.request("GET", "/sync/v1/head")

    def push(self, entries: list[dict] | None = None):
        """Push ``entries`` (default: everything after the last acknowledged head)."""
        entries = self.log[self.acked:] if entries is None else entries
        response = self.request("POST", "/sync/v1/push", {"entries": entries})
        if response.status_code == 200:
            self.acked = max(self.acked, response.json["head"]["seq"])
        return response

    def pull(self, since: int = 0, limit: int | None = None):
        query = f"?since={since}" + (f"&limit={limit}" if limit is not None else "")
        return self.request("GET", f"/sync/v1/pull{query}")

    def authorize(self, customer_id: str, points: int, sale_id: str):
        body = {"customer_id": customer_id, "points": points, "sale_id": sale_id}
        return self.request("POST", "/sync/v1/authorize", body)

    def release(self, sale_id: str):
        return self.request("DELETE", f"/sync/v1/holds/{sale_id}")


def sale_lines(lines: list[dict]):
    from shared.engine import Line

    return [Line(line["sku"], line["qty"], line["unit_price"], line.get("discount", 0), line.get("category"),
                 bool(line.get("reward", False))) for line in lines]


class Harness:
    """Central on one test database: the app, its test client, its clock, an API token."""

    def __init__(self, url: str, key_file: Path) -> None:
        self.url = url
        self.key_file = key_file
        self.clock = Clock()
        db.connect(url)
        migrations.migrate()
        self.app = create_app({"DATABASE_URL": url, "KEY_FILE": str(key_file), "CLOCK": self.clock, "TESTING": True})
        self.client = self.app.test_client()
        self.token = create_token("tests", self.clock())[1]

    def api(self, method: str, path: str, json_body: Any = None, *, token: str | None = None, **kw):
        headers = {"Authorization": f"Bearer {token or self.token}", **kw.pop("headers", {})}
        return self.client.open(path, method=method, json=json_body, headers=headers, **kw)

    def store(self, code: str = "S001", name: str = "Main street") -> str:
        create_store(code, name, self.clock())
        return code

    def edge(self, store: str = "S001", *, enrolled: bool = True, rules_document: dict | None = None) -> SimEdge:
        """A new simulated edge of ``store`` (the store is created when missing)."""
        if models.Store.get_or_none(models.Store.code == store) is None:
            self.store(store)
        edge = SimEdge(self, store, rules_document)
        if enrolled:
            response = edge.enroll()
            assert response.status_code == 201, response.json
        return edge

    def counts(self) -> dict[str, int]:
        """Rows in every table."""
        return {model._meta.table_name: model.select().count() for model in models.MODELS}

    def exceptions(self, kind: str | None = None) -> list[dict]:
        response = self.api("GET", "/api/v1/exceptions" + (f"?kind={kind}" if kind else ""))
        assert response.status_code == 200, response.json
        return response.json

    def customer(self, customer_id: str) -> dict:
        response = self.api("GET", f"/api/v1/customers/{customer_id}")
        assert response.status_code == 200, response.json
        return response.json

    def publish(self, document: dict | None = None) -> int:
        """Publish a rules version (default: the demo rules, in force now); return its number."""
        response = self.api("POST", "/api/v1/rules", document or DEMO_RULES)
        assert response.status_code in (200, 201), response.json
        return response.json["version"]


@pytest.fixture
def central(database_url, key_file) -> Harness:
    """Central on a fresh, migrated database of each backend."""
    return Harness(database_url, key_file)


@pytest.fixture
def edge(central) -> SimEdge:
    """One enrolled edge of store S001."""
    return central.edge("S001")


@pytest.fixture
def run_central():
    """Run ``fidelis-central`` as a user would, in a subprocess."""
    import subprocess

    def run(*args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "fidelis-central"), *map(str, args)], capture_output=True, text=True,
                              input=input, timeout=60, env={**os.environ, **(env or {})})
    return run


# --- the head-office web UI -------------------------------------------------------------------


@pytest.fixture
def person(central):
    """``person("support")``: a user of that role, signed in through the real sign-in form."""
    from webui import Person

    made: dict[str, Person] = {}

    def make(role: str, email: str | None = None) -> Person:
        key = email or role
        if key not in made:
            made[key] = Person(central, role, email)
        return made[key]
    return make


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, driven by Playwright (never a downloaded browser); one per test worker."""
    from playwright.sync_api import sync_playwright

    from webui import CHROMIUM, CHROMIUM_FLAGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'make system-deps' (Debian's chromium package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def served_central(database_url, tmp_path):
    """A real ``fidelis-central serve`` on loopback, with one user per role (password ``webui.PASSWORD``)."""
    from nodes import CentralNode
    from webui import PASSWORD

    node = CentralNode(tmp_path / "central", database_url)
    for role in ("admin", "marketing", "support", "finance", "auditor"):
        node.cli("user", "create", "--email", f"{role}@example.com", "--role", role, input=PASSWORD + "\n")
    yield node
    node.stop()


@pytest.fixture
def browser(chromium, served_central):
    """A fresh browser context on ``served_central``; the test fails if a page asked another machine."""
    from webui import Browser

    session = Browser(chromium, served_central.url)
    yield session
    off_machine = session.off_machine()
    session.close()
    assert off_machine == [], f"pages made requests off the machine: {off_machine}"
