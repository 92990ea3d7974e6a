"""Money and fixed-width text helpers shared by the receipt and the pole display."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.text import center, columns, fit, fold, format_money, wrap


# --- money ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, digits, currency, expected", [
    (1250, 2, None, "12.50"),
    (5, 2, None, "0.05"),
    (0, 2, None, "0.00"),
    (-1250, 2, None, "-12.50"),
    (-5, 2, "EUR", "EUR -0.05"),
    (1250, 0, "HUF", "HUF 1250"),
    (12345, 3, None, "12.345"),
    (123456789012345678, 2, None, "1234567890123456.78"),
])
def test_format_money(amount, digits, currency, expected):
    assert format_money(amount, digits, currency=currency) == expected


@pytest.mark.parametrize("bad", [12.5, True, "12", None])
def test_format_money_refuses_non_ints(bad):
    with pytest.raises(TypeError):
        format_money(bad)


@given(st.integers(min_value=-10**15, max_value=10**15), st.integers(min_value=0, max_value=4))
def test_format_money_round_trips(amount, digits):
    text = format_money(amount, digits)
    assert int(text.replace(".", "")) == amount
    assert digits == 0 or len(text.split(".")[1]) == digits



# --- fixed-width text ----------------------------------------------------------------------------

@pytest.mark.parametrize("left, right, width, expected", [
    ("Socks", "5.00", 20, "Socks           5.00"),
    ("A very long product name", "12.50", 20, "A very long pr 12.50"),
    ("Total", "", 10, "Total     "),
    ("x", "1234567890", 10, "1234567890"),
    ("x", "123456789012", 10, "3456789012"),
])
def test_columns(left, right, width, expected):
    assert columns(left, right, width) == expected


@given(st.text(max_size=50), st.text(max_size=50), st.integers(1, 60))
def test_columns_is_always_exactly_the_width(left, right, width):
    assert len(columns(left, right, width)) == width
    assert len(fit(left, width)) == width and len(center(left, width)) == width


def test_wrap_never_returns_nothing():
    assert wrap("", 10) == [""]
    assert wrap("abcdefghijkl", 5) == ["abcde", "fghij", "kl"]


@pytest.mark.parametrize("text, expected", [
    ("café", "café"),                # encodable: kept
    ("Łódź", "Lódz"),                # near equivalent, then accents stripped
    ("Brașov", "Brasov"),            # comma-below: cedilla form not in cp437, so plain s
    ("5 €", "5 EUR"),
    ("“quoted” – ok…", '"quoted" - ok...'),
    ("Київ", "????"),
])
def test_fold_to_cp437(text, expected):
    def cp437(char):
        try:
            char.encode("cp437")
        except UnicodeEncodeError:
            return False
        return True

    assert fold(text, cp437) == expected
