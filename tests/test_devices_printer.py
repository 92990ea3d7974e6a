"""Receipt printer: exact ESC/POS bytes through python-escpos' Dummy, a TCP "printer" on
loopback and a file."""

from __future__ import annotations

import os
import re

import pytest

from conftest_devices import TcpPrinter, free_port, tcp_printer  # noqa: F401  (fixture)
from devices.errors import DeviceConfigError, DeviceUnavailable
from devices.printer import (
    Payment,
    Receipt,
    ReceiptLine,
    kick_drawer,
    open_printer,
    print_card,
    print_receipt,
    print_registration_form,
    printer_status,
)
from devices.printer import test_page as print_test_page
from devices.printer.base import code_page_map

ESC, GS = b"\x1b", b"\x1d"
INITIALISE = ESC + b"@"
CODE_PAGE = ESC + b"t"
DRAWER_KICK_PIN2 = ESC + b"p\x00\x32\x32"   # ESC p m t1 t2, 50 x 2 ms on and off
PARTIAL_CUT = ESC + b"d\x06" + GS + b"V\x01"  # feed 6 lines, then GS V 1
CODE128 = GS + b"kI"                          # GS k 73: CODE128, function B
QR = GS + b"(k"


def make_receipt(**overrides) -> Receipt:
    values = dict(
        brand="Fidelis Shoes", shop=("Main Street 1", "1000 Town"), sale_id="S-42",
        at="2025-03-01 10:00",
        lines=[ReceiptLine("Runner", 2, 1250, 100), ("Socks", 1, 500)],
        total=2900, payments=[Payment("card", 2500), {"method": "points", "amount": 400, "points": 400}],
        points_earned=29, points_redeemed=400, balance_after=1450, tier="Gold",
        card_number="29000000123456", vouchers=["VCH-7K2P"], qr_url="https://fidelis.example/r/S-42",
        footer="Thank you!", currency="EUR",
    )
    values.update(overrides)
    return Receipt(**values)


def printed(receipt: Receipt, **printer_args) -> bytes:
    printer = open_printer("dummy:", **printer_args)
    print_receipt(printer, receipt)
    return printer.output


def active_code_page(output: bytes, position: int) -> int:
    """The ESC t slot in force at ``position`` (the last switch before it)."""
    switches = [m for m in re.finditer(re.escape(CODE_PAGE) + b"(.)", output[:position], re.S)]
    assert switches, "no code page was selected before the text"
    return switches[-1].group(1)[0]


# --- the receipt's frame ---------------------------------------------------------------------

def test_receipt_starts_with_initialise_and_ends_with_cut():
    output = printed(make_receipt())
    assert output.startswith(INITIALISE)
    assert output.endswith(PARTIAL_CUT)


def test_drawer_is_kicked_only_when_asked():
    assert DRAWER_KICK_PIN2 not in printed(make_receipt())
    with_drawer = printed(make_receipt(open_drawer=True))
    assert with_drawer.startswith(INITIALISE + DRAWER_KICK_PIN2)


def test_card_number_prints_as_code128_barcode():
    # 14 digits: code set C, two digits per symbol; length byte counts the "{C" prefix.
    assert CODE128 + bytes([16]) + b"{C29000000123456" in printed(make_receipt())
    # odd length or letters: code set B
    assert CODE128 + bytes([9]) + b"{BAB-1234" in printed(make_receipt(card_number="AB-1234"))


def test_qr_code_is_rendered_by_the_printer():
    url = b"https://fidelis.example/r/S-42"
    output = printed(make_receipt())
    store = QR + (len(url) + 3).to_bytes(2, "little") + b"1P0" + url  # GS ( k: store data
    assert store in output
    assert QR + b"\x03\x001Q0" in output  # GS ( k: print the stored symbol
    assert QR not in printed(make_receipt(qr_url=None))


def test_lines_totals_and_points_are_laid_out_in_42_columns():
    output = printed(make_receipt())
    expected = [
        b"Sale S-42                 2025-03-01 10:00\n",
        b"  2 x 12.50                          24.00\n",
        b"  discount                           -1.00\n",
        b"Socks                                 5.00\n",
        b"TOTAL                            EUR 29.00\n",
        b"card                                 25.00\n",
        b"points (400 pts)                      4.00\n",
        b"Points earned                          +29\n",
        b"Points balance                        1450\n",
    ]
    for line in expected:
        assert line in output
        assert len(line) == 43
    assert b"\nRunner\n" in output  # a line with a quantity gets the name on its own line
    assert b"Thank you!" in output and b"VCH-7K2P" in output


def test_a_tier_discount_prints_under_its_line_and_the_total_is_after_it():
    lines = [ReceiptLine("Runner", 2, 1250, tier_discount=125), {"sku": "Socks", "qty": 1, "unit_price": 500,
                                                                   "discount": 0, "tier_discount": 25}]
    output = printed(make_receipt(lines=lines, total=2350, payments=[Payment("card", 2350)], discount_tier="Silver"))
    expected = [
        b"\nRunner\n",
        b"  2 x 12.50                          23.75\n",
        b"  Silver discount                    -1.25\n",
        b"\nSocks\n",
        b"  1 x 5.00                            4.75\n",
        b"  Silver discount                    -0.25\n",
        b"TOTAL                            EUR 23.50\n",
    ]
    positions = [output.index(line) for line in expected]
    assert positions == sorted(positions)


def test_anonymous_sale_has_no_loyalty_block():
    output = printed(make_receipt(card_number=None, points_earned=0, points_redeemed=0,
                                  balance_after=None, tier=None))
    assert CODE128 not in output and b"Points" not in output


def test_width_can_be_narrower():
    output = printed(make_receipt(width=32))
    assert b"Socks                       5.00\n" in output


def test_sale_lines_as_the_api_sends_them():
    line = {"sku": "A1", "qty": 1, "unit_price": 1250, "discount": 0, "category": "shoes"}
    assert b"A1                                   12.50\n" in printed(make_receipt(lines=[line]))


def test_float_money_is_refused():
    with pytest.raises(TypeError):
        make_receipt(total=29.0)
    with pytest.raises(TypeError):
        make_receipt(lines=[("Socks", 1, 5.0)])


# --- code pages --------------------------------------------------------------------------------

@pytest.mark.parametrize("char, slot, byte", [
    ("é", 0, 0x82),   # CP437
    ("ç", 0, 0x87),   # CP437
    ("ł", 18, 0x88),  # CP852 (slot corrected for the TM-T88III, see CODE_PAGE_FIXES)
    ("ă", 18, 0xC7),  # CP852
    ("є", 17, 0xF3),  # CP866
])
def test_non_ascii_letters_switch_code_page_and_use_its_byte(char, slot, byte):
    output = printed(make_receipt(lines=[(f"<{char}>", 1, 100)]))
    match = re.search(rb"<(?:\x1bt(.))?(.)>", output, re.S)
    assert match, output
    assert match.group(2) == bytes([byte])
    switch = match.group(1)
    in_force = switch[0] if switch else active_code_page(output, match.start())
    assert in_force == slot


def test_mixed_languages_decode_back_under_the_selected_code_pages():
    text = "Café Façade Łódź Brăila Київ Ñandú €"
    output = printed(make_receipt(lines=[(f"[{text}]", 1, 100)], width=80))
    start, end = output.index(b"["), output.index(b"]", output.index(b"["))
    encodings = {int(slot): name for name, slot in code_page_map("TM-T88III").items()}
    decoded, page = [], active_code_page(output, start)
    pieces = re.split(rb"\x1bt(.)", output[start + 1:end], flags=re.S)
    for i, piece in enumerate(pieces):
        if i % 2:
            page = piece[0]
        else:
            decoded.append(piece.decode(encodings[page].lower()))
    assert "".join(decoded) == text


def test_letters_no_code_page_has_get_a_near_equivalent():
    # Romanian comma-below letters exist in no ESC/POS table: cedilla forms (CP852) instead.
    output = printed(make_receipt(lines=[("<ș>", 1, 100)]))
    assert b"<\xad>" in output or re.search(rb"<\x1bt\x12\xad>", output)


def test_tm_t88iii_slot_18_is_latin2():
    assert code_page_map("TM-T88III")["CP852"] == "18"
    assert "CP862" not in code_page_map("TM-T88III")
    assert code_page_map("TM-T88III", {20: "CP1250"})["CP1250"] == "20"
    with pytest.raises(DeviceConfigError):
        code_page_map("TM-T88III", {20: "NOT-A-PAGE"})


# --- transports ----------------------------------------------------------------------------------

def test_receipt_over_tcp_matches_the_dummy_bytes(tcp_printer):
    receipt = make_receipt(open_drawer=True)
    print_receipt(open_printer(tcp_printer.url), receipt)
    assert tcp_printer.done.wait(2)
    assert tcp_printer.jobs == [printed(receipt)]  # one connection, closed after the job


def test_unreachable_tcp_printer_raises_then_recovers():
    port = free_port()
    printer = open_printer(f"escpos+tcp://127.0.0.1:{port}?timeout=1")
    with pytest.raises(DeviceUnavailable):
        print_receipt(printer, make_receipt())
    server = TcpPrinter(port)  # the printer is switched on: the same object works again
    try:
        print_receipt(printer, make_receipt())
        assert server.done.wait(2) and server.jobs[0].startswith(INITIALISE)
    finally:
        server.close()


def test_status_of_unreachable_tcp_printer():
    status = printer_status(open_printer(f"escpos+tcp://127.0.0.1:{free_port()}"))
    assert status["reachable"] is False and status["paper"] == "unknown"
    assert status["error"]


@pytest.mark.parametrize("online, paper, expected", [
    (b"\x12", b"\x12", {"reachable": True, "paper": "ok", "error": None}),
    (b"\x12", b"\x1e", {"reachable": True, "paper": "low", "error": None}),
    (b"\x1a", b"\x72", {"reachable": True, "paper": "out", "error": "printer reports offline (cover open, paper out or error)"}),
    (None, None, {"reachable": False, "paper": "unknown", "error": "printer did not answer the status query"}),
])
def test_status_of_tcp_printer(online, paper, expected):
    server = TcpPrinter(online=online, paper=paper)
    try:
        assert printer_status(open_printer(server.url), timeout=0.3) == expected
    finally:
        server.close()


def test_file_printer_writes_the_job(tmp_path):
    path = tmp_path / "receipt.bin"
    printer = open_printer(f"file://{path}")
    receipt = make_receipt()
    print_receipt(printer, receipt)
    assert path.read_bytes() == printed(receipt)
    assert printer_status(printer) == {"reachable": True, "paper": "unknown", "error": None}
    assert printer_status(open_printer("file:///nonexistent-dir/x"))["reachable"] is False


def test_usb_without_pyusb_fails_clearly():
    try:  # pyusb is optional: without it the error must say what to install
        import usb  # noqa: F401
    except ImportError:
        with pytest.raises(DeviceUnavailable, match="pyusb"):
            open_printer("usb://04b8:0202")
    else:
        assert open_printer("usb://04b8:0202").usb_args == {"idVendor": 0x04B8, "idProduct": 0x0202}


@pytest.mark.parametrize("url", ["loop://", "dummy:x", "escpos+tcp://", "ftp://x"])
def test_open_printer_rejects_bad_urls(url):
    with pytest.raises(DeviceConfigError):
        open_printer(url)


def test_open_printer_rejects_unknown_profile():
    with pytest.raises(DeviceConfigError):
        open_printer("dummy:", profile="No-Such-Printer")


# --- other layouts -------------------------------------------------------------------------------

def test_logo_is_scaled_to_the_paper(tmp_path):
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGBA", (1024, 100), (0, 0, 0, 255)).save(logo)
    output = printed(make_receipt(logo_path=str(logo)))
    # GS v 0, normal density, 64 bytes (512 dots) wide, 50 rows (halved with the width)
    assert GS + b"v0\x00" + (64).to_bytes(2, "little") + (50).to_bytes(2, "little") in output


def test_missing_logo_does_not_stop_the_receipt(tmp_path):
    output = printed(make_receipt(logo_path=str(tmp_path / "missing.png")))
    assert output.startswith(INITIALISE) and output.endswith(PARTIAL_CUT)


def test_kick_drawer_sends_only_the_pulse():
    printer = open_printer("dummy:")
    kick_drawer(printer)
    assert printer.output == DRAWER_KICK_PIN2


def test_print_card():
    printer = open_printer("dummy:")
    print_card(printer, "Ana Pop", "29000000123456", brand="Fidelis")
    assert printer.output.startswith(INITIALISE) and printer.output.endswith(PARTIAL_CUT)
    assert b"Ana Pop" in printer.output and CODE128 + bytes([16]) + b"{C29000000123456" in printer.output


def test_print_registration_form():
    printer = open_printer("dummy:")
    print_registration_form(printer, "Fidelis", ["First name", ("Address", 2)], consent="I agree.")
    output = printer.output
    assert b"First name:\n" in output and b"Address:\n" in output
    assert output.count(b"_" * 42 + b"\n") == 3
    assert b"[ ] I agree.\n" in output and b"Signature:" in output
    assert output.endswith(PARTIAL_CUT)


def test_test_page():
    printer = open_printer("dummy:")
    print_test_page(printer)
    output = printer.output
    assert output.startswith(INITIALISE) and output.endswith(PARTIAL_CUT)
    assert b"123456789012345678901234567890123456789012\n" in output
    assert CODE128 in output and QR in output


def test_capabilities_cache_is_shared():
    directory = os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]
    assert os.path.isdir(directory)
    assert any(name.endswith(".capabilities.pickle") for name in os.listdir(directory))
