"""The edge's peripherals end to end: receipts through the API to a TCP "printer" on
loopback, the print queue across printer outages and restarts, the scanner long-poll over
loop:// and socat ptys, the pole display, the people counter and the device commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from conftest import BIN, ROOT, TillClient, run_cli, sale_body
from conftest_devices import RawPty, TcpPrinter, free_port, socat_pair, tcp_printer, wait_for  # noqa: F401
from devices.display import CURSOR_HOME, DISPLAY_CLEAR, DISPLAY_INIT, LINE_2
from devices.printer import Payment, Receipt, ReceiptLine, open_printer, print_receipt
from devices.text import center
from edge import tills
from edge.app import create_app
from edge.models import LogEntry, PrintJob, Sale
from edge.peripherals import (
    PeripheralConfigError,
    Peripherals,
    ScanHub,
    device_report,
    init_peripherals,
    load_settings,
    notify_quote,
    notify_sale,
)
from edge.peripherals.printqueue import INTERRUPTED
from shared.times import format_time

FAST = {"print_retry_initial": 0.05, "print_retry_max": 0.2, "serial_retry_initial": 0.05,
        "serial_retry_max": 0.2, "receipt_wait": 2.0}
DRAWER_KICK = b"\x1bp\x00\x32\x32"
STATUS_QUERIES = b"\x10\x04\x01\x10\x04\x04"
CARD = "2000000000015"


@pytest.fixture
def shop(edge_dir):
    """``shop(config, **app_config)``: an app whose peripherals come from config.json."""
    made: list[Peripherals] = []

    def make(config: dict | None = None, **app_config):
        if config is not None:
            (edge_dir / "config.json").write_text(json.dumps(config))
        app = create_app(edge_dir, {"TESTING": True, "PERIPHERALS": dict(FAST), **app_config})
        peripherals = init_peripherals(app, app.extensions["fidelis_edge"])
        made.append(peripherals)
        return app, peripherals

    yield make
    for peripherals in made:
        peripherals.stop()


def till_for(app, name: str = "till-1") -> TillClient:
    _, key = tills.add(app.extensions["fidelis_edge"], name)
    return TillClient(app.test_client(), key)


def register(till, card: str = CARD) -> dict:
    response = till.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Pop", "card_number": card})
    assert response.status_code == 201, response.json
    return response.json


def sell(till, customer_id=None) -> dict:
    response = till.post("/api/v1/sales", json=sale_body(customer_id))
    assert response.status_code == 201, response.json
    return response.json


def receipts_of(printer: TcpPrinter, sale_id: str) -> list[bytes]:
    """Connections that carried this sale's receipt (status queries are separate connections)."""
    return [job for job in printer.jobs if f"Ref {sale_id}".encode() in job]


# --- receipts ---------------------------------------------------------------------------------

def test_a_sale_receipt_reaches_a_tcp_printer_byte_for_byte(shop, tcp_printer):
    app, _ = shop({"printer": tcp_printer.url, "brand": "Fidelis Shoes", "shop_name": "Main Street 1",
                   "shop_address": ["1000 Town"], "footer": "Thank you!", "qr_url": "https://s.example/r/{sale_id}",
                   "currency": "EUR", "timezone": "Europe/Bucharest"})
    till = till_for(app)
    customer = register(till)
    sale = sell(till, customer["id"])

    response = till.post(f"/api/v1/sales/{sale['id']}/receipt")
    assert response.status_code == 202, response.json
    assert response.json["status"] == "printed" and response.json["kind"] == "receipt"
    assert wait_for(lambda: receipts_of(tcp_printer, sale["id"]), 10)

    at = datetime.fromisoformat(sale["created_at"].replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Bucharest"))
    expected = Receipt(
        brand="Fidelis Shoes", shop=("Main Street 1", "1000 Town"), sale_id=sale["id"][:8],
        at=at.strftime("%Y-%m-%d %H:%M"), lines=[ReceiptLine("A1", 2, 1250)], total=2500,
        payments=[Payment("cash", 2500)], points_earned=2, points_redeemed=0, balance_after=2, tier="Basic",
        card_number=CARD, qr_url=f"https://s.example/r/{sale['id']}", footer=f"Thank you!\nRef {sale['id']}",
        currency="EUR", open_drawer=True)
    reference = open_printer("dummy:")
    print_receipt(reference, expected)
    [received] = receipts_of(tcp_printer, sale["id"])
    assert received == reference.output
    assert received.startswith(b"\x1b@" + DRAWER_KICK)  # the drawer opens first: it is a cash sale
    for text in (b"TOTAL", b"EUR 25.00", b"Points earned", b"+2", b"Points balance", CARD.encode()):
        assert text in received
    assert STATUS_QUERIES in tcp_printer.jobs  # paper was checked before printing

    # A reprint is marked as a copy and leaves the drawer shut.
    again = till.post(f"/api/v1/sales/{sale['id']}/receipt")
    assert again.status_code == 202 and again.json["kind"] == "reprint"
    assert wait_for(lambda: len(receipts_of(tcp_printer, sale["id"])) == 2, 10)
    copy = receipts_of(tcp_printer, sale["id"])[1]
    assert b"*** COPY ***" in copy and DRAWER_KICK not in copy
    job = till.get(f"/api/v1/print-jobs/{again.json['job_id']}").json
    assert job["status"] == "printed" and job["attempts"] == 1 and job["sale_id"] == sale["id"]


def test_printer_down_keeps_the_job_and_prints_it_exactly_once_when_back(shop, edge_dir):
    port = free_port()  # nothing listens yet: the printer is off
    app, peripherals = shop({"printer": f"escpos+tcp://127.0.0.1:{port}"})
    till = till_for(app)
    sale = sell(till)
    sales_before, log_before = Sale.select().count(), LogEntry.select().count()

    response = till.post(f"/api/v1/sales/{sale['id']}/receipt")
    assert response.status_code == 503
    error = response.json["error"]
    assert error["code"] == "printer_unavailable" and "kept" in error["message"]
    assert response.headers["Retry-After"]
    job_id = error["details"]["job_id"]
    job = PrintJob.get_by_id(job_id)
    assert job.status == "queued" and job.attempts >= 1 and "refused" in job.last_error.lower()
    # Pressing "print" again while it is off does not queue a second receipt.
    assert till.post(f"/api/v1/sales/{sale['id']}/receipt").json["error"]["details"]["job_id"] == job_id
    # The sale is untouched by any of it.
    assert till.get(f"/api/v1/sales/{sale['id']}").status_code == 200
    assert (Sale.select().count(), LogEntry.select().count()) == (sales_before, log_before)

    printer = TcpPrinter(port=port)  # switched on, same address
    try:
        assert wait_for(lambda: PrintJob.get_by_id(job_id).status == "printed", 3)
        for _ in range(5):  # more worker cycles change nothing
            peripherals.print_queue.wake()
            time.sleep(0.05)
        assert wait_for(lambda: receipts_of(printer, sale["id"]), 10)
        time.sleep(0.2)
        assert len(receipts_of(printer, sale["id"])) == 1
        assert till.get(f"/api/v1/print-jobs/{job_id}").json["status"] == "printed"

        # A restart does not print it again either.
        peripherals.stop()
        again = Peripherals(app.extensions["fidelis_edge"], peripherals.settings).start()
        try:
            again.print_queue.wake()
            time.sleep(0.3)
        finally:
            again.stop()
        assert len(receipts_of(printer, sale["id"])) == 1
        assert PrintJob.select().count() == 1
    finally:
        printer.close()


def test_a_job_interrupted_between_sending_and_recording_is_never_printed_again(shop, edge_dir, tcp_printer):
    app, peripherals = shop()
    sale = sell(till_for(app))
    PrintJob.create(id="job-1", sale=sale["id"], kind="receipt", status="queued", attempts=1,
                    created_at="2025-01-01T00:00:00.000Z", claimed_at="2025-01-01T00:00:00.100Z")
    peripherals.stop()
    (edge_dir / "config.json").write_text(json.dumps({"printer": tcp_printer.url}))
    restarted = Peripherals(app.extensions["fidelis_edge"], load_settings(edge_dir, use_env=False,
                                                                          overrides=FAST)).start()
    try:
        restarted.print_queue.wake()
        time.sleep(0.3)
    finally:
        restarted.stop()
    job = PrintJob.get_by_id("job-1")
    assert job.status == "failed" and job.last_error == INTERRUPTED
    assert receipts_of(tcp_printer, sale["id"]) == []


def test_a_receipt_printed_late_does_not_open_the_drawer(shop, tcp_printer):
    app, peripherals = shop({"printer": tcp_printer.url})
    sale = sell(till_for(app))  # paid in cash
    asked = datetime.now(timezone.utc) - timedelta(minutes=2)
    PrintJob.create(id="late", sale=sale["id"], kind="receipt", status="queued", attempts=0,
                    created_at=format_time(asked))
    peripherals.print_queue.wake()
    assert wait_for(lambda: receipts_of(tcp_printer, sale["id"]), 10)
    assert DRAWER_KICK not in receipts_of(tcp_printer, sale["id"])[0]
    assert wait_for(lambda: PrintJob.get_by_id("late").status == "printed", 10)


def test_out_of_paper_is_503_and_the_receipt_prints_once_paper_is_back(shop):
    printer = TcpPrinter(paper=b"\x72")  # DLE EOT 4 reply: paper end sensor
    try:
        app, _ = shop({"printer": printer.url})
        till = till_for(app)
        sale = sell(till)
        response = till.post(f"/api/v1/sales/{sale['id']}/receipt")
        assert response.status_code == 503
        assert response.json["error"]["details"]["error"] == "printer is out of paper"
        assert receipts_of(printer, sale["id"]) == []  # nothing was sent
        printer.paper = b"\x12"  # paper loaded
        job_id = response.json["error"]["details"]["job_id"]
        assert wait_for(lambda: PrintJob.get_by_id(job_id).status == "printed", 3)
        assert wait_for(lambda: len(receipts_of(printer, sale["id"])) == 1, 10)
    finally:
        printer.close()


def test_no_printer_configured_is_503_and_keeps_nothing_and_unknown_sales_are_404(shop):
    app, peripherals = shop()
    assert peripherals.print_queue is None and not peripherals.started
    till = till_for(app)
    sale = sell(till)
    response = till.post(f"/api/v1/sales/{sale['id']}/receipt")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "printer_unavailable"
    assert "no printer configured" in response.json["error"]["message"]
    assert PrintJob.select().count() == 0
    missing = till.post("/api/v1/sales/nope/receipt")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "sale_not_found"
    assert app.test_client().post(f"/api/v1/sales/{sale['id']}/receipt").status_code == 401


def test_receipt_idempotency_key_returns_the_same_job(shop, tcp_printer):
    app, _ = shop({"printer": tcp_printer.url})
    till = till_for(app)
    first, second = sell(till), sell(till)
    headers = {"Idempotency-Key": "r-1"}
    one = till.post(f"/api/v1/sales/{first['id']}/receipt", headers=headers)
    two = till.post(f"/api/v1/sales/{first['id']}/receipt", headers=headers)
    assert one.status_code == two.status_code == 202
    assert one.json["job_id"] == two.json["job_id"] and two.headers["Idempotent-Replayed"] == "true"
    conflict = till.post(f"/api/v1/sales/{second['id']}/receipt", headers=headers)
    assert conflict.status_code == 409 and conflict.json["error"]["code"] == "idempotency_conflict"
    assert wait_for(lambda: receipts_of(tcp_printer, first["id"]), 10)
    time.sleep(0.2)  # a second print, were there one, would follow the first at once
    assert len(receipts_of(tcp_printer, first["id"])) == 1


# --- configuration ------------------------------------------------------------------------------

def test_environment_overrides_the_file_and_bad_urls_name_their_variable(edge_dir, monkeypatch):
    (edge_dir / "config.json").write_text(json.dumps({"printer": "dummy:", "scanner": "loop://"}))
    env = {"FIDELIS_PRINTER": "escpos+tcp://10.0.0.5", "FIDELIS_SCANNER": ""}
    settings = load_settings(edge_dir, env)
    assert (settings.printer.host, settings.printer.port) == ("10.0.0.5", 9100)
    assert settings.scanner is None and settings.sources["printer"] == "FIDELIS_PRINTER"
    with pytest.raises(PeripheralConfigError, match=r"^FIDELIS_DISPLAY: .*unknown scheme"):
        load_settings(edge_dir, {"FIDELIS_DISPLAY": "htp://x"})
    with pytest.raises(PeripheralConfigError, match=r"FIDELIS_COUNTER: .*cannot be used here"):
        load_settings(edge_dir, {"FIDELIS_COUNTER": "dummy:"})
    (edge_dir / "config.json").write_text(json.dumps({"printer": "usb://04b8"}))
    with pytest.raises(PeripheralConfigError, match=r'^"printer" in .*config.json: USB URL'):
        load_settings(edge_dir, {})
    (edge_dir / "config.json").write_text(json.dumps({"timezone": "Mars/Olympus"}))
    with pytest.raises(PeripheralConfigError, match="timezone"):
        load_settings(edge_dir, {})

    # The app refuses to start on a bad URL; under TESTING the environment is ignored.
    (edge_dir / "config.json").unlink()
    monkeypatch.setenv("FIDELIS_PRINTER", "escpos+tcp://")
    with pytest.raises(PeripheralConfigError, match="FIDELIS_PRINTER"):
        app = create_app(edge_dir)
        init_peripherals(app, app.extensions["fidelis_edge"])
    monkeypatch.setenv("FIDELIS_PRINTER", "dummy:")
    app = create_app(edge_dir, {"TESTING": True})
    peripherals = init_peripherals(app, app.extensions["fidelis_edge"])
    assert peripherals.settings.configured == [] and not peripherals.started
    assert init_peripherals(app, app.extensions["fidelis_edge"]) is peripherals


# --- scanner ----------------------------------------------------------------------------------------

def test_scanner_over_loop_reaches_every_till_once(shop):
    app, peripherals = shop({"scanner": "loop://"})
    till1 = till_for(app, "till-1")
    till2 = till_for(app, "till-2")
    customer = register(till1)
    assert peripherals.scanner.wait_connected(2)
    peripherals.scanner.port.write(f"{CARD}\r\n".encode())
    for till in (till1, till2):
        response = till.get("/api/v1/scanner/next?timeout=2")
        assert response.status_code == 200
        assert response.json["code"] == CARD and response.json["customer"]["id"] == customer["id"]
        assert response.json["customer"]["points"]["available"] == 0
    assert till1.get("/api/v1/scanner/next?timeout=0.05").status_code == 204

    peripherals.scanner.port.write(b"4006381333931\n")  # an article, not a card
    assert till2.get("/api/v1/scanner/next?timeout=2").json == {"code": "4006381333931", "customer": None}

    # A waiting till is answered as soon as a code is scanned.
    other = TillClient(app.test_client(), till1.key)
    result = {}
    poll = threading.Thread(target=lambda: result.update(r=other.get("/api/v1/scanner/next?timeout=5")))
    started = time.monotonic()
    poll.start()
    # till-1 has not seen the article code yet: it gets it first, then the next one.
    time.sleep(0.1)
    peripherals.scanner.port.write(b"CARD-2\n")
    poll.join(5)
    assert result["r"].json["code"] == "4006381333931"
    assert till1.get("/api/v1/scanner/next?timeout=2").json["code"] == "CARD-2"
    assert time.monotonic() - started < 2

    assert till1.get("/api/v1/scanner/next?timeout=abc").json["error"]["code"] == "bad_timeout"
    assert till1.get("/api/v1/scanner/next?timeout=-1").status_code == 400


def test_scanner_long_poll_without_a_scanner_is_503(shop):
    app, _ = shop()
    response = till_for(app).get("/api/v1/scanner/next?timeout=0")
    assert response.status_code == 503 and response.json["error"]["code"] == "scanner_unavailable"


def test_scanner_through_a_pty_survives_unplug_and_replug(shop, socat_pair):
    app, peripherals = shop({"scanner": f"serial://{socat_pair.a}"})
    till1, till2 = till_for(app, "till-1"), till_for(app, "till-2")
    assert peripherals.scanner.wait_connected(2)
    peer = RawPty(socat_pair.b)
    os.write(peer.fd, b"ABC-1\r\n")
    peer.close()
    assert till1.get("/api/v1/scanner/next?timeout=2").json["code"] == "ABC-1"

    socat_pair.stop()  # cable out
    assert wait_for(lambda: not peripherals.scanner.connected, 10)
    assert till1.get("/api/v1/scanner/next?timeout=0.05").status_code == 204
    socat_pair.start()  # back in, same name
    assert peripherals.scanner.wait_connected(2)
    peer = RawPty(socat_pair.b)
    os.write(peer.fd, b"DEF-2\n")
    peer.close()
    assert till1.get("/api/v1/scanner/next?timeout=2").json["code"] == "DEF-2"
    # till-2 was not polling meanwhile: it still gets both, in order, once.
    assert [till2.get("/api/v1/scanner/next?timeout=2").json["code"] for _ in range(2)] == ["ABC-1", "DEF-2"]
    assert till2.get("/api/v1/scanner/next?timeout=0.05").status_code == 204


def test_scan_hub_drops_old_codes_and_survives_overflow():
    now = [100.0]
    hub = ScanHub(max_age=10, size=3, clock=lambda: now[0])
    hub.publish("old")
    now[0] += 11
    for code in ("a", "b", "c", "d"):
        hub.publish(code)
    assert [hub.next("t", 0) for _ in range(4)] == ["b", "c", "d", None]


# --- display ------------------------------------------------------------------------------------

def screen(line1: str, line2: str) -> bytes:
    return DISPLAY_CLEAR + CURSOR_HOME + line1.encode("cp437") + LINE_2 + line2.encode("cp437")


def test_display_welcomes_then_shows_the_total_and_points_of_a_sale(shop, socat_pair):
    peer = RawPty(socat_pair.b)
    try:
        app, peripherals = shop({"display": f"serial://{socat_pair.a}", "welcome": "Welcome\nto Fidelis"})
        assert peripherals.display.wait_connected(2)
        welcome = DISPLAY_INIT + screen(center("Welcome", 20), center("to Fidelis", 20))
        assert peer.read_exactly(len(welcome)) == welcome

        till = till_for(app)
        customer = register(till)
        sale = sell(till, customer["id"])
        notify_sale(app, sale)  # what the sale endpoint calls once the sale is committed
        expected = screen("Total      EUR 25.00", "+2 pts     Balance 2")
        assert peer.read_exactly(len(expected)) == expected

        notify_quote(app, {"total": 1250})
        quote = screen("Total".ljust(20), "EUR 12.50".rjust(20))
        data = peer.read_exactly(len(expected) + len(quote), timeout=0.5)
        assert data.endswith(quote)  # (a sale endpoint wired to notify_sale may have sent the sale twice)

        notify_sale(peripherals, sale_body() | {"total": 2500})  # anonymous: a thank-you instead of points
        thanks = screen("Total      EUR 25.00", center("Thank you", 20))
        assert peer.read_exactly(len(thanks)) == thanks

        socat_pair.stop()  # unplugged: a sale goes on, nothing raises
        started = time.monotonic()
        notify_sale(app, sale)
        notify_sale(None, sale)
        assert time.monotonic() - started < 1
    finally:
        peer.close()


# --- people counter ----------------------------------------------------------------------------

def traffic_entries() -> list[dict]:
    rows = LogEntry.select().where(LogEntry.kind == "traffic.visits").order_by(LogEntry.seq)
    return [json.loads(row.line)["body"] for row in rows]


def test_counter_lines_become_hourly_traffic_entries(shop):
    now = [datetime(2025, 3, 1, 8, 59, 30, tzinfo=timezone.utc)]  # 10:59 in Bucharest
    app, peripherals = shop({"counter": "loop://", "timezone": "Europe/Bucharest"}, CLOCK=lambda: now[0])
    counter = peripherals.counter
    assert counter.wait_connected(2)
    counter.port.write(b"IN\r\n2\nOUT\nhello\n")
    assert wait_for(lambda: peripherals.traffic.total == 3 and counter.rejected == 1, 10)
    time.sleep(0.1)
    assert traffic_entries() == []  # at most one flush a minute: nothing yet

    now[0] = datetime(2025, 3, 1, 9, 0, 5, tzinfo=timezone.utc)  # the hour changes: flush at once
    counter.port.write(b"IN\n")
    assert wait_for(lambda: len(traffic_entries()) == 2, 10)
    entries = traffic_entries()
    assert entries == [
        {"store": "S001", "day": "2025-03-01", "hour": 10, "visits": 3, "counted_at": "2025-03-01T09:00:05.000Z"},
        {"store": "S001", "day": "2025-03-01", "hour": 11, "visits": 1, "counted_at": "2025-03-01T09:00:05.000Z"},
    ]
    counter.port.write(b"4\n")
    assert wait_for(lambda: peripherals.traffic.total == 8, 10)
    peripherals.stop()  # what was counted since is written on the way out
    assert traffic_entries()[2:] == [
        {"store": "S001", "day": "2025-03-01", "hour": 11, "visits": 4, "counted_at": "2025-03-01T09:00:05.000Z"}]


def test_counter_flushes_on_its_interval(shop):
    app, peripherals = shop({"counter": "loop://"}, PERIPHERALS={**FAST, "traffic_flush_seconds": 0.2})
    assert peripherals.counter.wait_connected(2)
    peripherals.counter.port.write(b"IN\nIN\n")
    assert wait_for(lambda: sum(e["visits"] for e in traffic_entries()) == 2, 10)
    assert all(e["store"] == "S001" and 0 <= e["hour"] <= 23 for e in traffic_entries())


# --- status and the command line ------------------------------------------------------------

def test_device_status_endpoint_and_report(shop, edge_dir, tmp_path):
    out = tmp_path / "printer.bin"
    app, peripherals = shop({"printer": f"file://{out}", "scanner": "loop://",
                             "display": f"serial://{tmp_path}/ttyNOPE"})
    devices = {d["device"]: d for d in till_for(app).get("/api/v1/devices").json["devices"]}
    assert devices["printer"]["configured"] and devices["printer"]["queued"] == 0
    assert devices["counter"] == {"device": "counter", "configured": False, "url": None}
    assert wait_for(lambda: peripherals.display.last_error is not None, 10)

    report = {entry["device"]: entry for entry in device_report(app.extensions["fidelis_edge"])}
    assert report["printer"]["ok"] and report["printer"]["queued"] == 0
    assert report["scanner"]["ok"], report["scanner"]
    assert not report["display"]["ok"] and "no such device" in report["display"]["error"]
    assert report["counter"]["summary"] == "counter  not configured"
    assert all("\n" not in entry["summary"] for entry in report.values())


def _device_cli(*args, env_extra: dict, data_dir) -> subprocess.CompletedProcess:
    """The device commands in a fresh process, through fidelis-edge once it has them."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ESCPOS_CAPABILITIES_PICKLE_DIR", "FIDELIS_DATA_DIR") and not k.startswith("FIDELIS_")}
    env.update(env_extra)
    command = [sys.executable, "-m", "edge.devices_cli", *args, "--data-dir", str(data_dir)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=30)


def test_cli_test_print_on_a_file_printer_caches_escpos_in_the_data_dir(edge_dir, tmp_path):
    out = tmp_path / "lp0"
    result = _device_cli("devices", "test-print", env_extra={"FIDELIS_PRINTER": f"file://{out}"}, data_dir=edge_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"test page sent to file://{out}"
    data = out.read_bytes()
    assert data.startswith(b"\x1b@") and b"Printer test" in data and data.endswith(b"\x1dV\x01")
    assert list((edge_dir / "cache" / "escpos").glob("*.pickle"))


@pytest.mark.parametrize("url, message", [
    ("escpos+tcp://127.0.0.1:{port}", "fidelis-edge: test page not printed on escpos+tcp://127.0.0.1:{port}: "
                                      "printer not reachable"),
    ("lpt://1", "fidelis-edge: FIDELIS_PRINTER: unknown scheme in 'lpt://1'"),
    (None, "fidelis-edge: no printer configured: set FIDELIS_PRINTER"),
], ids=["printer-off", "bad-url", "no-printer"])
def test_cli_test_print_failures_are_one_clear_line(edge_dir, url, message):
    port = free_port()
    env = {"FIDELIS_PRINTER": url.format(port=port)} if url else {}
    result = _device_cli("devices", "test-print", env_extra=env, data_dir=edge_dir)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(message.format(port=port))


def test_cli_devices_status(edge_dir, tmp_path):
    env = {"FIDELIS_PRINTER": f"file://{tmp_path}/lp0", "FIDELIS_SCANNER": "loop://"}
    result = _device_cli("devices", "status", "--json", env_extra=env, data_dir=edge_dir)
    assert result.returncode == 0, result.stderr
    devices = {d["device"]: d for d in json.loads(result.stdout)["devices"]}
    assert devices["printer"]["ok"] and devices["printer"]["queued"] == 0
    assert devices["scanner"]["ok"] and not devices["display"]["configured"]
    env["FIDELIS_DISPLAY"] = f"serial://{tmp_path}/ttyGONE"
    result = _device_cli("devices", "status", env_extra=env, data_dir=edge_dir)
    assert result.returncode == 1 and "not working: display" in result.stderr
    assert "display  serial://" in result.stdout and "NOT reachable" in result.stdout


def test_fidelis_edge_has_the_device_commands_once_wired(edge_dir, tmp_path):
    from edge.cli import _parser

    commands = _parser()._subparsers._group_actions[0].choices
    if "devices" not in commands:
        pytest.skip("edge.cli does not register the device commands yet")
    out = tmp_path / "lp0"
    result = subprocess.run([str(BIN / "fidelis-edge"), "devices", "test-print",
                             "--data-dir", str(edge_dir)], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "FIDELIS_PRINTER": f"file://{out}"})
    assert result.returncode == 0, result.stderr
    assert b"Printer test" in out.read_bytes()
    run_cli("devices", "status", data_dir=edge_dir)
