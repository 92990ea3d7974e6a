"""Peripheral URLs: every form the contract names, and clear errors for the rest."""

from __future__ import annotations

import pytest

from devices.errors import DeviceConfigError
from devices.url import PRINTER_KINDS, SERIAL_KINDS, parse_url


@pytest.mark.parametrize("url, expected", [
    ("escpos+tcp://10.0.0.5:9100", dict(kind="tcp", host="10.0.0.5", port=9100, options={})),
    ("escpos+tcp://printer.local", dict(kind="tcp", host="printer.local", port=9100)),
    ("ESCPOS+TCP://10.0.0.5:9101?timeout=2.5", dict(kind="tcp", port=9101, options={"timeout": 2.5})),
    ("escpos+tcp://[::1]:9100", dict(kind="tcp", host="::1", port=9100)),
    ("serial:///dev/ttyUSB0", dict(kind="serial", path="/dev/ttyUSB0", options={})),
    ("serial:///dev/ttyUSB0?baudrate=19200&bytesize=7&parity=even&stopbits=2&timeout=0.5",
     dict(kind="serial", options={"baudrate": 19200, "bytesize": 7, "parity": "E", "stopbits": 2, "timeout": 0.5})),
    ("serial:///dev/ttyS0?parity=N&stopbits=1.5&xonxoff=1&dsrdtr=off",
     dict(options={"parity": "N", "stopbits": 1.5, "xonxoff": True, "dsrdtr": False})),
    ("usb://04b8:0202", dict(kind="usb", vendor_id=0x04B8, product_id=0x0202)),
    ("usb://0x0416:0x5011?out_ep=0x03&in_ep=81", dict(vendor_id=0x0416, product_id=0x5011,
                                                      options={"out_ep": 3, "in_ep": 0x81})),
    ("file:///dev/usb/lp0", dict(kind="file", path="/dev/usb/lp0")),
    ("dummy:", dict(kind="dummy")),
    ("dummy://", dict(kind="dummy")),
    ("loop://", dict(kind="loop", options={})),
    ("loop://?baudrate=19200", dict(kind="loop", options={"baudrate": 19200})),
])
def test_parse_url(url, expected):
    parsed = parse_url(url)
    for name, value in expected.items():
        assert getattr(parsed, name) == value, name
    assert parsed.url == url


@pytest.mark.parametrize("url, message", [
    ("", "empty"),
    ("lpt://1", "unknown scheme"),
    ("/dev/ttyUSB0", "unknown scheme"),
    ("escpos+tcp://", "missing host"),
    ("escpos+tcp://host:99999", "bad port"),
    ("escpos+tcp://host:9100/x", "unexpected path"),
    ("escpos+tcp://host?timeout=0", "bad value"),
    ("serial://dev/ttyUSB0", "absolute path"),
    ("serial:///dev/ttyUSB0?baud=19200", "unknown option"),
    ("serial:///dev/ttyUSB0?baudrate=fast", "bad value"),
    ("serial:///dev/ttyUSB0?baudrate=-1", "bad value"),
    ("serial:///dev/ttyUSB0?bytesize=9", "bad value"),
    ("serial:///dev/ttyUSB0?parity=X", "bad value"),
    ("serial:///dev/ttyUSB0?stopbits=3", "bad value"),
    ("serial:///dev/ttyUSB0?baudrate=1&baudrate=2", "twice"),
    ("usb://04b8", "usb://VID:PID"),
    ("usb://04b8:xyz1", "hex"),
    ("usb://104b8:0202", "hex"),
    ("file://relative/path", "absolute path"),
    ("dummy:extra", "takes no address"),
    ("dummy:?x=1", "unknown option"),
    ("loop://x", "takes no address"),
])
def test_bad_urls_raise_config_errors(url, message):
    with pytest.raises(DeviceConfigError, match=message):
        parse_url(url)


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_url("nope://")


@pytest.mark.parametrize("url, allowed", [
    ("loop://", PRINTER_KINDS),
    ("escpos+tcp://10.0.0.5", SERIAL_KINDS),
    ("dummy:", SERIAL_KINDS),
])
def test_kind_not_allowed_for_the_device(url, allowed):
    with pytest.raises(DeviceConfigError, match="cannot be used here"):
        parse_url(url, allowed)


def test_serial_args_for_pyserial():
    assert parse_url("serial:///dev/ttyUSB0?baudrate=19200").serial_args(write_timeout=1) == (
        "/dev/ttyUSB0", {"write_timeout": 1, "baudrate": 19200})
    assert parse_url("loop://").serial_args() == ("loop://", {})
    with pytest.raises(DeviceConfigError):
        parse_url("dummy:").serial_args()
