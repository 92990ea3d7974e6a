"""Scanner, pole display and people counter over pyserial ``loop://`` and socat pty pairs,
including pulling the cable out and plugging it back in."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from conftest_devices import RawPty, SocatPair, socat_pair, wait_for  # noqa: F401  (fixture)
from devices.counter import PeopleCounter, bucket_visits, parse_count
from devices.display import CURSOR_HOME, DISPLAY_CLEAR, DISPLAY_INIT, LINE_2, Display, render
from devices.link import LineProtocol
from devices.printer import open_printer, print_card, printer_status
from devices.scanner import Scanner

FAST = {"retry_initial": 0.05, "retry_max": 0.2}  # reconnect quickly in tests
BLANK = b" " * 20


def screen(line1: bytes, line2: bytes) -> bytes:
    """What the display receives for one screen."""
    return DISPLAY_CLEAR + CURSOR_HOME + line1 + LINE_2 + line2


def peer(path: str) -> serial.Serial:
    """The test's end of a socat pair, opened with pyserial."""
    return serial.Serial(path, baudrate=9600, timeout=1, write_timeout=1)


# --- scanner -------------------------------------------------------------------------------------

def test_scanner_over_loop_accepts_cr_lf_and_crlf():
    seen = []
    with Scanner("loop://", on_code=seen.append, **FAST) as scanner:
        assert scanner.wait_connected(2)
        # loop:// hands back what is written to the same port object
        scanner.port.write(b"4006381333931\r")
        scanner.port.write(b"29000000123456\n12")
        scanner.port.write(b"34\r\n\r\nCARD-9\r\n")
        codes = [scanner.next_code(1) for _ in range(4)]
    assert codes == ["4006381333931", "29000000123456", "1234", "CARD-9"]
    assert seen == codes
    assert scanner.next_code(0.01) is None


def test_scanner_survives_unplug_and_replug(socat_pair):
    scanner = Scanner(f"serial://{socat_pair.a}", **FAST).start()
    try:
        assert scanner.wait_connected(2)
        with peer(socat_pair.b) as port:
            port.write(b"ABC-1\r\n")
            assert scanner.next_code(2) == "ABC-1"

        socat_pair.stop()  # cable out
        assert wait_for(lambda: not scanner.connected, 10)
        assert scanner.last_error
        assert scanner.next_code(0.05) is None

        socat_pair.start()  # cable back in, same device name
        assert scanner.wait_connected(2)
        with peer(socat_pair.b) as port:
            port.write(b"DEF-2\n")
            assert scanner.next_code(2) == "DEF-2"
    finally:
        scanner.stop()
    assert not scanner.connected


def test_scanner_started_before_it_is_plugged_in(tmp_path):
    pair = SocatPair(tmp_path)
    scanner = Scanner(f"serial://{pair.a}", **FAST).start()
    try:
        assert wait_for(lambda: scanner.last_error is not None, 10)
        assert not scanner.connected and "open failed" in scanner.last_error
        pair.start()
        assert scanner.wait_connected(2)
        with peer(pair.b) as port:
            port.write(b"LATE\r")
            assert scanner.next_code(2) == "LATE"
    finally:
        scanner.stop()
        pair.stop()


def test_scanner_callback_errors_do_not_stop_reading():
    def explode(code):
        raise RuntimeError("till bug")

    with Scanner("loop://", on_code=explode, **FAST) as scanner:
        assert scanner.wait_connected(2)
        scanner.port.write(b"ONE\nTWO\n")
        assert [scanner.next_code(1), scanner.next_code(1)] == ["ONE", "TWO"]
        assert scanner.connected


codes = st.lists(st.text(st.characters(codec="ascii", exclude_characters="\r\n"), min_size=1)
                 .map(str.strip).filter(bool), max_size=8)


@given(codes, st.lists(st.sampled_from([b"\r", b"\n", b"\r\n"]), min_size=8, max_size=8), st.data())
def test_line_protocol_is_indifferent_to_terminators_and_chunking(lines, ends, data):
    stream = b"".join(line.encode() + end for line, end in zip(lines, ends))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    received = []
    protocol = LineProtocol(received.append, lambda exc: None)
    for start, stop in zip([0, *cuts], [*cuts, len(stream)]):
        protocol.data_received(stream[start:stop])
    assert received == lines


# --- display -------------------------------------------------------------------------------------

def test_display_bytes_at_the_other_end(socat_pair):
    with peer(socat_pair.b) as port, Display(f"serial://{socat_pair.a}", **FAST) as display:
        assert display.wait_connected(2)
        # on connect: reset, then the current (blank) screen
        assert port.read(len(DISPLAY_INIT) + 46) == DISPLAY_INIT + screen(BLANK, BLANK)

        assert display.welcome("Welcome\nto Fidelis")
        assert port.read(46) == screen(b"      Welcome       ", b"     to Fidelis     ")

        assert display.show_total("Total", 1250, "EUR")
        assert port.read(46) == screen(b"Total               ", b"           EUR 12.50")

        assert display.show_points(29, 1450)
        assert port.read(46) == screen(b"Points earned    +29", b"Balance         1450")

        # cp437 has é and ó; ł, ź and € get near equivalents; too long is cut
        assert display.show("Łódź café €5", "A very long second line here")
        assert port.read(46) == screen(b"L\xa2dz caf\x82 EUR5      ", b"A very long second l")


def test_display_reconnects_and_restores_the_screen(socat_pair):
    display = Display(f"serial://{socat_pair.a}", **FAST).start()
    try:
        assert display.wait_connected(2)
        display.show_total("Total", 990, "EUR")

        socat_pair.stop()
        # the failure surfaces on the next write: False, never an exception
        assert wait_for(lambda: display.show_total("Total", 1990, "EUR") is False, 10)
        assert not display.connected and display.last_error

        socat_pair.start()
        far_end = RawPty(socat_pair.b)
        try:
            assert display.wait_connected(2)
            restored = far_end.read_exactly(len(DISPLAY_INIT) + 46)
        finally:
            far_end.close()
        assert restored == DISPLAY_INIT + screen(b"Total               ", b"           EUR 19.90")
    finally:
        display.stop()


def test_display_over_loop():
    with Display("loop://", **FAST) as display:
        assert display.wait_connected(2)
        display.port.read(len(DISPLAY_INIT) + 46)  # the connect-time reset and blank screen
        display.welcome("Hi")
        assert display.port.read(46) == render(" " * 9 + "Hi" + " " * 9, "")


@given(st.text(max_size=60), st.text(max_size=60))
def test_display_screens_are_always_two_lines_of_twenty(line1, line2):
    data = render(line1, line2)
    assert len(data) == 46
    assert data.startswith(DISPLAY_CLEAR + CURSOR_HOME) and data[22:26] == LINE_2


def test_display_that_is_missing_never_raises(tmp_path):
    display = Display(f"serial://{tmp_path}/no-such-tty", **FAST).start()
    try:
        assert display.welcome("Hello") is False
        assert display.show_total("Total", 100, "EUR") is False
        assert display.show_total("Total", 1.5, "EUR") is False  # a float is refused, not raised
        assert wait_for(lambda: display.last_error is not None, 10)
        assert display.screen[0] == "Total"  # kept for when the display comes back
    finally:
        display.stop()


# --- serial receipt printer ------------------------------------------------------------------

def test_serial_printer_over_a_pty(socat_pair):
    expected = open_printer("dummy:")
    print_card(expected, "Ana", "29000000123456")
    with peer(socat_pair.b) as port:
        printer = open_printer(f"serial://{socat_pair.a}?baudrate=19200&timeout=0.2")
        print_card(printer, "Ana", "29000000123456")
        assert port.read(len(expected.output)) == expected.output
        # nobody answers DLE EOT at this end: not reachable, and quickly
        assert printer_status(printer, timeout=0.1) == {
            "reachable": False, "paper": "unknown", "error": "printer did not answer the status query"}


# --- people counter ------------------------------------------------------------------------------

@pytest.mark.parametrize("line, visits", [
    ("IN", 1), ("in", 1), (" IN ", 1), ("1", 1), ("OUT", 0), ("0", 0), ("12", 12),
    ("-1", None), ("IN OUT", None), ("", None), ("٣", None),
])
def test_parse_count(line, visits):
    assert parse_count(line) == visits


def test_counter_over_loop_reports_visits():
    at = datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc)
    events = []
    with PeopleCounter("loop://", on_visits=lambda n, when: events.append((when, n)),
                       clock=lambda: at, **FAST) as counter:
        assert counter.wait_connected(2)
        counter.port.write(b"IN\r\nOUT\nIN\r3\r\nnoise\n0\n")
        assert wait_for(lambda: len(events) == 3, 10)
        assert wait_for(lambda: counter.rejected == 1, 10)
    assert events == [(at, 1), (at, 1), (at, 3)]
    assert counter.total == 5


def test_counter_survives_unplug_and_replug(socat_pair):
    counts = []
    counter = PeopleCounter(f"serial://{socat_pair.a}", on_visits=lambda n, at: counts.append(n), **FAST)
    counter.start()
    try:
        assert counter.wait_connected(2)
        with peer(socat_pair.b) as port:
            port.write(b"IN\r\n2\r\n")
            assert wait_for(lambda: counts == [1, 2], 10)
        socat_pair.stop()
        assert wait_for(lambda: not counter.connected, 10)
        socat_pair.start()
        assert counter.wait_connected(2)
        with peer(socat_pair.b) as port:
            port.write(b"IN\n")
            assert wait_for(lambda: counts == [1, 2, 1], 10)
    finally:
        counter.stop()


def test_bucket_visits_by_day_and_hour():
    t = datetime(2025, 3, 1, 9, 5, tzinfo=timezone.utc)
    events = [(t, 1), (t + timedelta(minutes=50), 2), (t + timedelta(hours=1), 1), (t + timedelta(days=1), 4)]
    assert bucket_visits(events) == {
        (date(2025, 3, 1), 9): 3,
        (date(2025, 3, 1), 10): 1,
        (date(2025, 3, 2), 9): 4,
    }
    shop_zone = timezone(timedelta(hours=2))
    assert bucket_visits([(datetime(2025, 3, 1, 23, 10, tzinfo=timezone.utc), 5)], tz=shop_zone) == {
        (date(2025, 3, 2), 1): 5,
    }
    assert bucket_visits([]) == {}
